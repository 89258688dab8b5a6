"""Ogg codec: Vorbis/Opus comment-header labels, re-pagination, renumbering, page CRCs."""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, CodecHarness, decoded_frames, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs import _vorbis, ogg
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
)
from aiglabel.model import Severity

if TYPE_CHECKING:
    from aiglabel.codecs.base import FoundLabel

OGG = CodecHarness("ogg")
FIXTURES = sorted((MEDIA / "ogg").glob("*.og*")) + sorted((MEDIA / "ogg").glob("*.opus"))
CARRIER = "ogg:comment:AIGC"


def fixture(name: str) -> bytes:
    return (MEDIA / "ogg" / name).read_bytes()


# --- an independent strict parser and writer -------------------------------------------------


def crc_bitwise(data: bytes) -> int:
    """RFC 3533 CRC, one bit at a time (not the codec's table)."""
    reg = 0
    for byte in data:
        for bit in range(7, -1, -1):
            top = (reg >> 31) ^ ((byte >> bit) & 1)
            reg = (reg << 1) & 0xFFFFFFFF
            if top:
                reg ^= 0x04C11DB7
    return reg


@dataclass
class P:
    """A parsed page."""

    offset: int
    flags: int
    granule: int
    serial: int
    seq: int
    lacing: bytes
    body: bytes
    raw: bytes


def pages(data: bytes, *, strict: bool = True) -> list[P]:
    """Every page; with ``strict`` the file must be pages only, every CRC right."""
    out, pos = [], 0
    while pos + 27 <= len(data) and data[pos : pos + 4] == b"OggS":
        assert data[pos + 4] == 0
        flags = data[pos + 5]
        granule, serial, seq, crc = struct.unpack_from("<qIII", data, pos + 6)
        n = data[pos + 26]
        lacing = data[pos + 27 : pos + 27 + n]
        start = pos + 27 + n
        body = data[start : start + sum(lacing)]
        raw = data[pos : start + len(body)]
        if strict:
            zeroed = raw[:22] + bytes(4) + raw[26:]
            assert crc_bitwise(zeroed) == crc, f"CRC of page at byte {pos}"
        out.append(P(pos, flags, granule, serial, seq, lacing, body, raw))
        pos = start + len(body)
    if strict:
        assert pos == len(data)
    return out


def packets(ps: list[P]) -> list[bytes]:
    """All packets of a single-stream file; checks the continuation flags."""
    out: list[bytes] = []
    part = b""
    for page in ps:
        assert bool(page.flags & 1) == bool(part), page.offset
        pos = 0
        for v in page.lacing:
            part += page.body[pos : pos + v]
            pos += v
            if v < 255:
                out.append(part)
                part = b""
    return out


def check_stream(data: bytes) -> list[P]:
    """A well-formed single logical stream: CRCs, sequence 0..n-1, BOS first, EOS last."""
    ps = pages(data)
    assert [p.seq for p in ps] == list(range(len(ps)))
    assert len({p.serial for p in ps}) == 1
    assert ps[0].flags & 2
    assert all(not p.flags & 2 for p in ps[1:])
    assert ps[-1].flags & 4
    return ps


def page_bytes(flags: int, granule: int, serial: int, seq: int, lacing: bytes,
               body: bytes) -> bytes:
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, seq, 0,
                         len(lacing)) + lacing
    crc = crc_bitwise(header + body)
    return header[:22] + struct.pack("<I", crc) + header[26:] + body


def lay_out(data: bytes, comment: bytes, per_page: int, serial: int | None = None) -> bytes:
    """``data`` (Opus) with its comment packet replaced and laid out ``per_page`` lacing
    values a page; later pages renumbered."""
    ps = pages(data)
    serial = ps[0].serial if serial is None else serial
    lacing = b"\xff" * (len(comment) // 255) + bytes([len(comment) % 255])
    out = [page_bytes(2, 0, serial, 0, ps[0].lacing, ps[0].body)]
    pos, seq, continued = 0, 1, False
    for start in range(0, len(lacing), per_page):
        lv = lacing[start : start + per_page]
        body = comment[pos : pos + sum(lv)]
        pos += len(body)
        granule = 0 if any(v < 255 for v in lv) else -1
        out.append(page_bytes(1 if continued else 0, granule, serial, seq, lv, body))
        continued, seq = lv[-1] == 255, seq + 1
    for page in ps[2:]:
        out.append(page_bytes(page.flags, page.granule, serial, seq, page.lacing, page.body))
        seq += 1
    return b"".join(out)


def vc(vendor: bytes, entries: list[bytes]) -> bytes:
    out = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(entries))
    return out + b"".join(struct.pack("<I", len(e)) + e for e in entries)


def labels(data: bytes) -> list[FoundLabel]:
    return OGG.labels(data)


# --- the CRC ----------------------------------------------------------------------------------


def test_crc_matches_a_bitwise_implementation() -> None:
    rng = random.Random(3533)
    for n in (0, 1, 4, 27, 255, 4000):
        blob = rng.randbytes(n)
        assert ogg.crc32(blob) == crc_bitwise(blob)
        head = rng.randbytes(30)
        assert ogg.crc32(blob, ogg.crc32(head)) == crc_bitwise(head + blob)  # continued


def test_renumbered_crc_equals_a_recomputed_one() -> None:
    rng = random.Random(7845)
    for size in (0, 1, 300, 65024):
        lacing = b"\xff" * (size // 255) + bytes([size % 255])
        body = rng.randbytes(size)
        old = page_bytes(0, 960, 0xABCDEF01, 5, lacing, body)
        for new_seq in (6, 4, 0, 0xFFFFFFFF, 123456789):
            want = page_bytes(0, 960, 0xABCDEF01, new_seq, lacing, body)
            page = ogg.Page(0, old[: 27 + len(lacing)])
            assert page.renumbered(new_seq) == want[: 27 + len(lacing)]


# --- round trips over every fixture ------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_write_keeps_every_packet_but_the_comment(path: Path) -> None:
    data = path.read_bytes()
    rec = record("ogg-1")
    out = OGG.write(data, rec)
    before, after = check_stream(data), check_stream(out)
    old_packets, new_packets = packets(before), packets(after)
    assert len(new_packets) == len(old_packets)
    assert new_packets[0] == old_packets[0]
    assert new_packets[2:] == old_packets[2:]  # setup and audio packets byte-identical
    old_c, new_c = new_packets[1], old_packets[1]
    magic = 8 if old_c.startswith(b"OpusTags") else 7
    assert old_c[:magic] == new_c[:magic]
    old_block = _vorbis.parse(old_packets[1], magic)
    new_block = _vorbis.parse(new_packets[1], magic)
    assert new_block.vendor == old_block.vendor
    keep = [e.raw for e in old_block.entries if not e.is_label]
    assert [e.raw for e in new_block.entries if not e.is_label] == keep
    assert [e.raw for e in new_block.entries if e.is_label] == [b"AIGC=" + rec.to_json().encode()]
    # audio pages: same granules, flags and lacing; only sequence numbers may move
    audio_before = [p for p in before if p.granule > 0]
    audio_after = [p for p in after if p.granule > 0]
    assert [(p.granule, p.flags, p.lacing, p.body) for p in audio_after] == [
        (p.granule, p.flags, p.lacing, p.body) for p in audio_before]
    (found,) = labels(out)
    assert (found.carrier, found.form, found.record) == (CARRIER, "bare", rec)
    assert decoded_frames(out) == decoded_frames(data)


def test_big_comment_gets_a_second_page_and_every_later_page_is_renumbered() -> None:
    data = fixture("big-comment.ogg")
    before = check_stream(data)
    assert len(before[1].lacing) == 255  # the comment fills page 1
    out = OGG.write(data, record("big"))
    after = check_stream(out)
    assert len(after) == len(before) + 1
    assert after[1].granule == -1  # no packet ends on page 1 ...
    assert after[2].flags & 1  # ... it continues on page 2
    assert [p.body for p in after[3:]] == [p.body for p in before[2:]]
    assert [p.seq for p in after[3:]] == [p.seq + 1 for p in before[2:]]
    # idempotent: a second write keeps the new layout
    assert OGG.write(out, record("big")) == out


def test_page_count_is_kept_when_the_packets_fit() -> None:
    data = fixture("old-label.opus")
    before = check_stream(data)
    out = OGG.write(data, record("fits"))
    after = check_stream(out)
    assert len(after) == len(before)
    assert [p.raw for p in after[3:]] == [p.raw for p in before[3:]]  # audio pages untouched
    assert [len(p.lacing) for p in after[1:3]] == [2, 2]  # balanced over the two pages


@pytest.mark.parametrize("name", ["tags.opus", "tags.ogg"])
def test_zero_padding_absorbs_the_label(name: str) -> None:
    data = fixture(name)
    for rec in (record("x"), record("long-produce-id-0123456789")):
        out = OGG.write(data, rec)
        assert len(out) == len(data)
        assert [p.offset for p in pages(out)] == [p.offset for p in pages(data)]
        comment = packets(pages(out))[1]
        assert comment.endswith(b"\x00" * 20)  # padding left


def test_vorbis_setup_sharing_the_comment_page_is_repacked() -> None:
    data = fixture("plain.ogg")
    before = check_stream(data)
    assert before[1].body.startswith(b"\x03vorbis")
    assert b"\x05vorbis" in before[1].body  # ffmpeg packs comment and setup together
    out = OGG.write(data, record("shared"))
    after = check_stream(out)
    assert len(after) == len(before)
    assert packets(after)[2] == packets(before)[2]


def test_fewer_pages_when_the_comment_shrinks_below_the_page_count() -> None:
    base = fixture("plain.opus")
    junk = b"AIGC=" + b"x" * 3000  # an unparseable old label spread over 12 one-value pages
    data = lay_out(base, b"OpusTags" + vc(b"v", [junk]), per_page=1)
    before = check_stream(data)
    assert [lb.record for lb in labels(data)] == [None]
    out = OGG.write(data, record("shrink"))
    after = check_stream(out)
    assert len(after) < len(before)
    assert [p.body for p in after if p.granule > 0] == [p.body for p in before if p.granule > 0]
    assert aiglabel.essence_digest(out) == aiglabel.essence_digest(data)


def test_case_insensitive_field_names() -> None:
    for name, spelt in (("old-label.ogg", "'aigc'"), ("old-label.opus", "'Aigc'")):
        (found,) = labels(fixture(name))
        assert found.carrier == CARRIER
        assert found.record is not None
        assert found.record.produce_id == "old-0001"
        notes = [f for f in found.findings if f.code == "G6.field-case"]
        assert [(f.severity, spelt in f.message) for f in notes] == [(Severity.INFO, True)]


def test_duplicates_are_reported_and_the_write_leaves_one() -> None:
    entries = [b"TITLE=t", b"AIGC=" + record("one").to_json().encode(), b"X=y",
               b"aigc=" + record("two").to_json().encode()]
    data = lay_out(fixture("plain.opus"), b"OpusTags" + vc(b"v", entries), per_page=255)
    assert [lb.record for lb in labels(data)] == [record("one"), record("two")]
    codes = {f.code for f in aiglabel.inspect(data).findings}
    assert {"G4.multiple-labels", "G4.conflicting-labels"} <= codes
    result = aiglabel.label_stream(io.BytesIO(data), io.BytesIO(), record("three"))
    assert result.removed == (CARRIER,)
    out = OGG.write(data, record("three"))
    block = _vorbis.parse(packets(check_stream(out))[1], 8)
    assert [e.raw[:5] for e in block.entries] == [b"TITLE", b"AIGC=", b"X=y"]


def test_metadata_lists_vendor_and_comments() -> None:
    items = OGG.codec().metadata(Source.from_bytes(fixture("tags.opus")))
    assert [(i.carrier, i.key, i.value) for i in items] == [
        ("ogg:comment", "vendor", "aiglabel fixtures"),
        ("ogg:comment", "TITLE", "Fixture 标题"),
        ("ogg:comment", "ARTIST", "aiglabel"),
        ("ogg:comment", "ENCODER", "make_vorbis.py"),
    ]
    assert OGG.codec().metadata(Source.from_bytes(fixture("plain.ogg"))) == []


def test_essence_ignores_page_headers_and_comment() -> None:
    data = fixture("tags.ogg")
    digest = OGG.essence(data)
    flipped = bytearray(data)
    last = pages(data)[-1]
    flipped[last.offset + len(last.raw) - len(last.body) + 5] ^= 1  # audio payload
    assert OGG.essence(bytes(flipped)) != digest
    setup = pages(data)[2]
    flipped = bytearray(data)
    flipped[setup.offset + 27 + len(setup.lacing) + 50] ^= 1  # Vorbis setup header
    assert OGG.essence(bytes(flipped)) != digest


# --- several logical streams ------------------------------------------------------------------


def test_chained_file_reads_the_first_link_and_refuses_to_write() -> None:
    first = fixture("old-label.opus")
    second = lay_out(fixture("plain.opus"), b"OpusTags" + vc(b"", [b"AIGC=x"]), 255,
                     serial=0x5EC0)
    data = first + second
    assert [lb.record is not None for lb in labels(data)] == [True]
    with pytest.raises(CarrierUnsupportedError, match="chained or multiplexed"):
        OGG.write(data, record("chain"))


def test_multiplexed_file_reads_every_comment_header_and_refuses_to_write() -> None:
    a, b = pages(fixture("old-label.opus")), pages(fixture("tags.opus"))
    other = 0x0B0B
    b_comment = b"OpusTags" + vc(b"w", [b"AIGC=" + record("b").to_json().encode()])

    def again(p: P, serial: int, seq: int) -> bytes:
        return page_bytes(p.flags, p.granule, serial, seq, p.lacing, p.body)

    lacing = b"\xff" * (len(b_comment) // 255) + bytes([len(b_comment) % 255])
    parts = [a[0].raw, again(b[0], other, 0), a[1].raw,
             page_bytes(0, 0, other, 1, lacing, b_comment), a[2].raw]
    parts += [again(p, other, i + 2) for i, p in enumerate(b[2:])] + [p.raw for p in a[3:]]
    data = b"".join(parts)
    found = labels(data)
    assert [lb.record.produce_id if lb.record else None for lb in found] == ["old-0001", "b"]
    report = aiglabel.inspect(data)
    assert any("multiplexed" in f.message for f in report.findings)
    with pytest.raises(CarrierUnsupportedError, match="multiplexed"):
        OGG.write(data, record("mux"))
    assert OGG.essence(data).startswith("sha256:")


def test_ogg_flac_comment_header_is_read_not_written() -> None:
    info = bytes(34)
    ident = b"\x7fFLAC\x01\x00\x00\x01fLaC" + b"\x00\x00\x00\x22" + info
    comment = b"\x84" + b"\x00\x00\x00" + vc(b"v", [b"AIGC=" + record("f").to_json().encode()])
    comment = comment[:1] + (len(comment) - 4).to_bytes(3, "big") + comment[4:]
    lac = b"\xff" * (len(comment) // 255) + bytes([len(comment) % 255])
    data = (page_bytes(2, 0, 7, 0, bytes([len(ident)]), ident)
            + page_bytes(4, 0, 7, 1, lac, comment))
    assert [lb.record for lb in labels(data)] == [record("f")]
    with pytest.raises(CarrierUnsupportedError, match="flac stream"):
        OGG.write(data, record("x"))


# --- hostile input ----------------------------------------------------------------------------


def test_header_only_reads() -> None:
    data = fixture("tags.ogg") + bytes(4 << 20)
    src = Source.from_bytes(data, "big.ogg")
    OGG.codec().read_labels(src)
    OGG.codec().metadata(src)
    assert src.bytes_read <= 64 * 1024


def test_trailing_bytes_and_a_cut_last_page_are_kept() -> None:
    data = fixture("big-comment.ogg")
    out = OGG.write(data + b"trailing junk", record("junk"))
    assert out.endswith(b"trailing junk")
    cut = data[:-100]
    out = OGG.write(cut, record("cut"))
    ps = pages(out, strict=False)
    assert [p.seq for p in ps] == list(range(len(ps)))
    assert out[-100:] == cut[-100:]


def test_bad_crc_in_the_comment_header_is_an_error_finding() -> None:
    data = bytearray(fixture("old-label.ogg"))
    comment = pages(bytes(data))[1]
    data[comment.offset + 22] ^= 0xFF  # the CRC field itself; the label stays intact
    (found,) = labels(bytes(data))
    assert any(f.code == "G5.carrier" and f.severity is Severity.ERROR for f in found.findings)
    assert aiglabel.inspect(bytes(data)).status == "noncompliant"


def test_missing_framing_bit_is_reported_and_not_written() -> None:
    ps = pages(fixture("plain.ogg"))
    comment = packets(ps)[1]
    assert comment.endswith(b"\x01")
    setup = packets(ps)[2]
    new = comment[:-1] + b"\x00"
    lacing = b"".join(b"\xff" * (len(p) // 255) + bytes([len(p) % 255]) for p in (new, setup))
    rebuilt = (ps[0].raw + page_bytes(0, 0, ps[0].serial, 1, lacing, new + setup)
               + b"".join(p.raw for p in ps[2:]))
    assert labels(rebuilt) == []
    assert any("framing bit" in f.message for f in aiglabel.inspect(rebuilt).findings)
    with pytest.raises(CorruptFileError, match="framing bit"):
        OGG.write(rebuilt, record("x"))


def _damaged() -> list[tuple[str, bytes, type[AiglabelError]]]:
    data = fixture("tags.opus")
    ps = pages(data)
    huge_vendor = bytearray(data)
    at = ps[1].offset + 27 + len(ps[1].lacing) + 8
    huge_vendor[at : at + 4] = b"\xff\xff\xff\x7f"
    no_bos = bytearray(data)
    no_bos[5] = 0
    no_bos[22:26] = struct.pack("<I", crc_bitwise(bytes(no_bos[:22]) + bytes(4)
                                                  + bytes(no_bos[26 : ps[1].offset])))
    return [
        ("cut-in-headers", data[: ps[1].offset + 40], CorruptFileError),
        ("cut-after-id", data[: ps[1].offset], CorruptFileError),
        ("huge-vendor", bytes(huge_vendor), CorruptFileError),
        ("no-bos", bytes(no_bos), CorruptFileError),
        ("garbage-page", data[: ps[1].offset] + b"OggX" + data[ps[1].offset + 4 :],
         CorruptFileError),
        ("continued-comment", data[: ps[1].offset + 5] + b"\x01" + data[ps[1].offset + 6 :],
         CorruptFileError),
    ]


@pytest.mark.parametrize(("name", "data", "error"), _damaged(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_damaged_files_raise_clean_errors(name: str, data: bytes,
                                          error: type[AiglabelError]) -> None:
    with pytest.raises(error):
        OGG.labels(data)
    with pytest.raises(error):
        OGG.write(data, record("x"))
    with pytest.raises(AiglabelError):
        aiglabel.label_bytes(data, record("x"))
    OGG.codec().metadata(Source.from_bytes(data))  # never raises


def test_audio_sharing_the_last_header_page_is_refused() -> None:
    ps = pages(fixture("plain.opus"))
    comment, first_audio = packets(ps)[1], ps[2]
    lacing = bytes([len(comment)]) + first_audio.lacing
    page = page_bytes(0, first_audio.granule, ps[0].serial, 1, lacing, comment + first_audio.body)
    data = ps[0].raw + page + b"".join(
        page_bytes(p.flags, p.granule, p.serial, p.seq - 1, p.lacing, p.body) for p in ps[3:])
    assert labels(data) == []
    with pytest.raises(CarrierUnsupportedError, match="shares a page"):
        OGG.write(data, record("x"))


def test_limits() -> None:
    data = fixture("big-comment.ogg")
    src = Source.from_bytes(data)
    src.limits = Limits(max_metadata=10_000)
    with pytest.raises(LimitExceededError):
        OGG.codec().read_labels(src)
    src = Source.from_bytes(fixture("old-label.opus"))
    src.limits = Limits(max_items=2)
    with pytest.raises(LimitExceededError, match="pages"):
        OGG.codec().read_labels(src)


# --- interop: mutagen and ffmpeg (PyAV) -------------------------------------------------------


def _mutagen_class(name: str) -> type:
    if name.endswith(".opus"):
        return pytest.importorskip("mutagen.oggopus").OggOpus  # type: ignore[no-any-return]
    return pytest.importorskip("mutagen.oggvorbis").OggVorbis  # type: ignore[no-any-return]


@pytest.mark.interop
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_mutagen_reads_our_label_and_keeps_seeing_the_rest(path: Path, tmp_path: Path) -> None:
    cls = _mutagen_class(path.name)
    rec = record("mutagen")
    dst = tmp_path / path.name
    aiglabel.label(path, dst, rec)
    before, after = cls(path), cls(dst)
    assert after["aigc"] == [rec.to_json()]

    def others(f: object) -> list[tuple[str, str]]:
        return [(k, v) for k, v in getattr(f, "tags", []) if k.upper() != "AIGC"]

    assert others(after) == others(before)
    assert after.tags.vendor == before.tags.vendor
    assert after.info.length == before.info.length


@pytest.mark.interop
@pytest.mark.parametrize("name", ["plain.ogg", "plain.opus", "big-comment.ogg"])
def test_we_read_labels_mutagen_wrote(name: str, tmp_path: Path) -> None:
    cls = _mutagen_class(name)
    rec = record("by-mutagen")
    dst = tmp_path / name
    dst.write_bytes(fixture(name))
    f = cls(dst)
    f["aigc"] = rec.to_json()
    f["TITLE"] = "mutagen title"
    f.save()  # mutagen adds its zero padding and lays pages out its own way
    check_stream(dst.read_bytes())
    report = aiglabel.inspect(dst)
    assert [lb.record for lb in report.labels] == [rec]
    out = aiglabel.label_bytes(dst.read_bytes(), record("after-mutagen"))
    check_stream(out)
    assert [lb.record for lb in aiglabel.read_labels(out)] == [record("after-mutagen")]
    assert cls(io.BytesIO(out))["TITLE"] == ["mutagen title"]
    assert decoded_frames(out) == decoded_frames(fixture(name))


@pytest.mark.interop
@pytest.mark.parametrize("name", ["tags.ogg", "big-comment.ogg", "old-label.opus"])
def test_ffmpeg_shows_the_tag_in_stream_metadata_and_logs_no_error(name: str) -> None:
    av = pytest.importorskip("av")
    rec = record("ffmpeg")
    out = OGG.write(fixture(name), rec)
    av.logging.set_level(av.logging.INFO)
    try:
        with av.logging.Capture() as logs, av.open(io.BytesIO(out)) as container:
            stream = container.streams.audio[0]
            assert stream.metadata["AIGC"] == rec.to_json()
            frames = sum(1 for _ in container.decode(stream))
    finally:
        av.logging.set_level(None)
    assert frames > 0
    assert [m for level, _, m in logs if level <= av.logging.WARNING] == []


@pytest.mark.interop
def test_exiftool_reads_our_label_and_sees_nothing_else_change(exiftool: str,
                                                             tmp_path: Path) -> None:
    copies = {}
    for path in FIXTURES:
        copies[path] = tmp_path / path.name
        aiglabel.label(path, copies[path], record(f"et-{path.stem}"))
    args = [exiftool, "-j", "-G1", "-a", "-n", "-Vorbis:all", "-Opus:all"]

    def run(files: list[Path]) -> dict[str, dict[str, object]]:
        proc = subprocess.run([*args, *map(str, files)], capture_output=True, text=True,
                              check=True, timeout=120)
        return {Path(str(r["SourceFile"])).name: r for r in json.loads(proc.stdout)}

    before, after = run(FIXTURES), run(list(copies.values()))
    for path in FIXTURES:
        old, new = before[path.name], after[path.name]
        assert new["Vorbis:Aigc"] == record(f"et-{path.stem}").to_json()
        changed = {k for k in old.keys() | new.keys()
                   if k != "SourceFile" and old.get(k) != new.get(k)}
        assert changed == {"Vorbis:Aigc"}, path.name
