"""FLAC codec: VORBIS_COMMENT labels, padding that absorbs growth, byte-identical blocks."""

from __future__ import annotations

import io
import json
import struct
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, CodecHarness, decoded_frames, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs.base import Confidence
from aiglabel.errors import AiglabelError, CorruptFileError, LimitExceededError
from aiglabel.model import Severity

if TYPE_CHECKING:
    from aiglabel.codecs.base import FoundLabel

FLAC = CodecHarness("flac")
FIXTURES = sorted((MEDIA / "flac").glob("*.flac"))
CARRIER = "flac:vorbis:AIGC"
OLD_PRODUCE_ID = "old-0001"
STREAMINFO, PADDING, APPLICATION, SEEKTABLE, VORBIS_COMMENT, PICTURE = 0, 1, 2, 3, 4, 6


def fixture(name: str) -> bytes:
    return (MEDIA / "flac" / name).read_bytes()


# --- an independent strict parser --------------------------------------------------------------


def blocks(data: bytes) -> tuple[list[tuple[int, bool, bytes]], int]:
    """(type, last flag, payload) of every metadata block, and the audio offset."""
    pos = 0
    while data[pos : pos + 3] == b"ID3":
        size = 0
        for b in data[pos + 6 : pos + 10]:
            size = (size << 7) | b
        pos += 10 + size
    assert data[pos : pos + 4] == b"fLaC"
    pos += 4
    out: list[tuple[int, bool, bytes]] = []
    while True:
        header = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        out.append((header & 0x7F, bool(header & 0x80), data[pos + 4 : pos + 4 + length]))
        assert pos + 4 + length <= len(data)
        pos += 4 + length
        if header & 0x80:
            break
    assert [last for _, last, _ in out] == [False] * (len(out) - 1) + [True]
    assert out[0][0] == STREAMINFO
    assert data[pos : pos + 2] in (b"\xff\xf8", b"\xff\xf9")  # a frame sync code follows
    return out, pos


def comments(payload: bytes) -> tuple[bytes, list[bytes]]:
    """Vendor and entries of a VORBIS_COMMENT payload (u32le lengths)."""
    n = struct.unpack_from("<I", payload, 0)[0]
    vendor = payload[4 : 4 + n]
    pos = 4 + n
    count = struct.unpack_from("<I", payload, pos)[0]
    pos += 4
    entries = []
    for _ in range(count):
        size = struct.unpack_from("<I", payload, pos)[0]
        entries.append(payload[pos + 4 : pos + 4 + size])
        pos += 4 + size
    assert pos == len(payload)
    return vendor, entries


def vc_block(vendor: bytes, entries: list[bytes]) -> bytes:
    out = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(entries))
    return out + b"".join(struct.pack("<I", len(e)) + e for e in entries)


def assemble(original: bytes, new_blocks: list[tuple[int, bytes]]) -> bytes:
    """``original``'s STREAMINFO and frames with other metadata blocks."""
    parsed, audio = blocks(original)
    every = [(STREAMINFO, parsed[0][2]), *new_blocks]
    out = bytearray(b"fLaC")
    for i, (btype, payload) in enumerate(every):
        out.append(btype | (0x80 if i == len(every) - 1 else 0))
        out += len(payload).to_bytes(3, "big") + payload
    return bytes(out) + original[audio:]


def labels(data: bytes) -> list[FoundLabel]:
    return FLAC.labels(data)


# --- round trips over every fixture -----------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_write_keeps_every_other_block_and_comment(path: Path) -> None:
    data = path.read_bytes()
    rec = record("flac-1")
    out = FLAC.write(data, rec)
    before, audio_before = blocks(data)
    after, audio_after = blocks(out)
    assert data[audio_before:] == out[audio_after:]  # frames byte-identical
    assert after[0][2] == before[0][2]  # STREAMINFO
    keep = (SEEKTABLE, APPLICATION, PICTURE)
    assert [b for b in after if b[0] in keep] == [b for b in before if b[0] in keep]
    old_vc = [comments(p) for t, _, p in before if t == VORBIS_COMMENT]
    (new_vc,) = [comments(p) for t, _, p in after if t == VORBIS_COMMENT]
    assert [e for e in new_vc[1] if e.upper().startswith(b"AIGC=")] == [
        b"AIGC=" + rec.to_json().encode()]
    if old_vc:
        assert new_vc[0] == old_vc[0][0]  # vendor kept
        others = [e for e in old_vc[0][1] if not e.upper().startswith(b"AIGC=")]
        assert [e for e in new_vc[1] if not e.upper().startswith(b"AIGC=")] == others
    else:
        assert new_vc[0] == b"aiglabel"
        assert [t for t, _, _ in after][:2] == [STREAMINFO, VORBIS_COMMENT]
    (found,) = labels(out)
    assert (found.carrier, found.form, found.record) == (CARRIER, "bare", rec)
    assert decoded_frames(out) == decoded_frames(data)


@pytest.mark.parametrize(
    "name", ["plain.flac", "tags-picture.flac", "old-label.flac", "no-comment.flac"])
def test_padding_absorbs_the_change_so_the_frames_stay_put(name: str) -> None:
    data = fixture(name)
    _, audio = blocks(data)
    for rec in (record("short"), record("long-produce-id-0123456789")):
        out = FLAC.write(data, rec)
        assert len(out) == len(data)
        assert blocks(out)[1] == audio
        padding = [p for t, _, p in blocks(out)[0] if t == PADDING]
        assert padding
        assert padding[0] == bytes(len(padding[0]))


def test_without_padding_the_frames_move_and_nothing_is_invented() -> None:
    data = fixture("no-padding.flac")
    rec = record("moved")
    out = FLAC.write(data, rec)
    entry = b"AIGC=" + rec.to_json().encode()
    assert len(out) == len(data) + 4 + len(entry)
    assert [t for t, _, _ in blocks(out)[0]] == [STREAMINFO, VORBIS_COMMENT]


def test_padding_too_small_is_left_alone() -> None:
    base = fixture("plain.flac")
    data = assemble(base, [(VORBIS_COMMENT, vc_block(b"v", [])), (PADDING, bytes(10))])
    out = FLAC.write(data, record("x"))
    parsed, _ = blocks(out)
    assert [(t, len(p)) for t, _, p in parsed if t == PADDING] == [(PADDING, 10)]


def test_padding_of_exactly_the_growth_is_dropped() -> None:
    base = fixture("plain.flac")
    rec = record("exact")
    growth = 4 + len(b"AIGC=" + rec.to_json().encode())
    data = assemble(base, [(VORBIS_COMMENT, vc_block(b"v", [])), (PADDING, bytes(growth - 4))])
    out = FLAC.write(data, rec)
    assert len(out) == len(data)
    assert [t for t, _, _ in blocks(out)[0]] == [STREAMINFO, VORBIS_COMMENT]


def test_streaminfo_only_moves_the_last_block_flag() -> None:
    data = fixture("streaminfo-only.flac")
    out = FLAC.write(data, record("flag"))
    parsed, _ = blocks(out)
    assert [(t, last) for t, last, _ in parsed] == [(STREAMINFO, False), (VORBIS_COMMENT, True)]
    assert out[4] == STREAMINFO  # flag cleared, type kept
    assert out[5:42] == data[5:42]  # STREAMINFO length and payload unchanged


def test_old_label_is_replaced_where_it_stood_in_upper_case() -> None:
    data = fixture("old-label.flac")
    (old,) = labels(data)
    assert old.carrier == CARRIER
    assert old.record is not None
    assert old.record.produce_id == OLD_PRODUCE_ID
    case = [f for f in old.findings if f.code == "G6.field-case"]
    assert [(f.severity, "'aigc'" in f.message) for f in case] == [(Severity.INFO, True)]
    out = FLAC.write(data, record("new"))
    (vc,) = [comments(p) for t, _, p in blocks(out)[0] if t == VORBIS_COMMENT]
    assert vc[1][1].startswith(b"AIGC={")  # second entry, as the old one
    assert vc[1][0].startswith(b"TITLE=")
    assert vc[1][2] == b"ARTIST=aiglabel"


def test_duplicates_are_reported_and_the_write_leaves_one() -> None:
    base = fixture("plain.flac")
    first = b"AIGC=" + record("one").to_json().encode()
    second = b"aigc=" + record("two").to_json().encode()
    data = assemble(base, [
        (VORBIS_COMMENT, vc_block(b"v", [b"A=1", first, second])),
        (VORBIS_COMMENT, vc_block(b"w", [b"B=2", first])),
        (PADDING, bytes(100)),
    ])
    assert [lb.record for lb in labels(data)] == [record("one"), record("two"), record("one")]
    report = aiglabel.inspect(data)
    codes = {f.code for f in report.findings}
    assert {"G4.multiple-labels", "G4.conflicting-labels"} <= codes
    assert any("2 VORBIS_COMMENT blocks" in f.message for f in report.findings)
    result = aiglabel.label_stream(io.BytesIO(data), io.BytesIO(), record("three"))
    assert result.removed == (CARRIER, CARRIER)
    out = FLAC.write(data, record("three"))
    assert [lb.record for lb in labels(out)] == [record("three")]
    vcs = [comments(p) for t, _, p in blocks(out)[0] if t == VORBIS_COMMENT]
    assert vcs[0][1][0] == b"A=1"
    assert vcs[1] == (b"w", [b"B=2"])
    assert len(out) == len(data)


def test_metadata_lists_vendor_and_comments() -> None:
    items = FLAC.codec().metadata(Source.from_bytes(fixture("tags-picture.flac")))
    assert [(i.carrier, i.key, i.value) for i in items] == [
        ("flac:vorbis", "vendor", "aiglabel fixtures"),
        ("flac:vorbis", "TITLE", "Fixture 标题"),
        ("flac:vorbis", "ARTIST", "aiglabel"),
        ("flac:vorbis", "ENCODER", "make_vorbis.py"),
    ]
    assert FLAC.codec().metadata(Source.from_bytes(fixture("plain.flac"))) == []


def test_essence_covers_streaminfo_and_frames_only() -> None:
    data = fixture("tags-picture.flac")
    parsed, audio = blocks(data)
    digest = FLAC.essence(data)
    retagged = assemble(data, [(VORBIS_COMMENT, vc_block(b"x", [b"A=b"])), (PADDING, b"")])
    assert FLAC.essence(retagged) == digest
    frame_flip = bytearray(data)
    frame_flip[audio + 40] ^= 1
    assert FLAC.essence(bytes(frame_flip)) != digest
    md5_flip = bytearray(data)
    md5_flip[8 + 20] ^= 1  # inside STREAMINFO (its MD5 starts at payload byte 18)
    assert FLAC.essence(bytes(md5_flip)) != digest


# --- identification, ID3 prefix ---------------------------------------------------------------


def id3v2(payload_size: int) -> bytes:
    size = bytes((payload_size >> s) & 0x7F for s in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + size + bytes(payload_size)


def test_sniff() -> None:
    sniff = FLAC.codec().sniff
    data = fixture("plain.flac")
    assert sniff(data) is Confidence.STRONG
    assert sniff(id3v2(100) + data) is Confidence.STRONG
    assert sniff(id3v2(100) + b"\xff\xfb\x90\x00" + bytes(100)) is Confidence.NO
    assert sniff(id3v2(200_000)[:65536]) is Confidence.WEAK  # confirm() looks behind the tag
    assert sniff(b"OggS" + bytes(60)) is Confidence.NO
    big = id3v2(100_000) + data
    assert FLAC.codec().confirm(Source.from_bytes(big)) is Confidence.STRONG
    assert FLAC.codec().confirm(Source.from_bytes(id3v2(100_000) + bytes(50))) is Confidence.NO


@pytest.mark.parametrize("tag_size", [64, 100_000])
def test_id3_prefix_is_skipped_and_kept(tag_size: int) -> None:
    tag = id3v2(tag_size)
    data = tag + fixture("old-label.flac")
    assert aiglabel.detect_format(data) == "flac"
    assert aiglabel.detect_format(data, name="x.mp3") == "flac"
    (old,) = aiglabel.read_labels(data)
    assert old.carrier == CARRIER
    out = aiglabel.label_bytes(data, record("id3"))
    assert out.startswith(tag)
    assert [lb.record for lb in aiglabel.read_labels(out)] == [record("id3")]
    assert aiglabel.essence_digest(out) == aiglabel.essence_digest(data)
    report = aiglabel.inspect(data)
    assert any("ID3v2 tag before fLaC" in f.message for f in report.findings)


# --- hostile input ----------------------------------------------------------------------------


def test_header_only_reads() -> None:
    data = fixture("tags-picture.flac") + bytes(4 << 20)  # 4 MiB more "frames"
    src = Source.from_bytes(data, "big.flac")
    FLAC.codec().read_labels(src)
    FLAC.codec().metadata(src)
    assert src.bytes_read <= 64 * 1024


def _damaged() -> list[tuple[str, bytes, type[AiglabelError]]]:
    data = fixture("tags-picture.flac")
    parsed, audio = blocks(data)
    vc_at = 4 + sum(4 + len(p) for _, _, p in parsed[:2])  # STREAMINFO, SEEKTABLE, then VC
    assert data[vc_at] & 0x7F == VORBIS_COMMENT
    huge_vendor = bytearray(data)
    huge_vendor[vc_at + 4 : vc_at + 8] = b"\xff\xff\xff\x7f"
    huge_count = bytearray(data)
    vendor_len = struct.unpack_from("<I", data, vc_at + 4)[0]
    struct.pack_into("<I", huge_count, vc_at + 8 + vendor_len, 0xFFFFFF)
    huge_block = bytearray(data)
    huge_block[vc_at + 1 : vc_at + 4] = b"\xff\xff\xff"
    bad_type = bytearray(data)
    bad_type[vc_at] = 0x7F
    no_streaminfo = b"fLaC" + data[42:]
    return [
        ("truncated-in-blocks", data[: vc_at + 20], CorruptFileError),
        ("truncated-header", data[:6], CorruptFileError),
        ("huge-vendor", bytes(huge_vendor), CorruptFileError),
        ("huge-count", bytes(huge_count), CorruptFileError),
        ("huge-block", bytes(huge_block), CorruptFileError),
        ("type-127", bytes(bad_type), CorruptFileError),
        ("no-streaminfo", no_streaminfo, CorruptFileError),
        ("garbage", b"fLaC" + bytes(range(256)) * 4, CorruptFileError),
    ]


@pytest.mark.parametrize(("name", "data", "error"), _damaged(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_damaged_files_raise_clean_errors(name: str, data: bytes,
                                          error: type[AiglabelError]) -> None:
    with pytest.raises(error):
        FLAC.labels(data)
    with pytest.raises(error):
        FLAC.write(data, record("x"))
    with pytest.raises(AiglabelError):
        aiglabel.label_bytes(data, record("x"))
    FLAC.codec().metadata(Source.from_bytes(data))  # never raises


def test_limits() -> None:
    data = fixture("tags-picture.flac")
    src = Source.from_bytes(data)
    src.limits = Limits(max_items=3)
    with pytest.raises(LimitExceededError, match="metadata blocks"):
        FLAC.codec().read_labels(src)
    src = Source.from_bytes(data)
    src.limits = Limits(max_metadata=50)
    with pytest.raises(LimitExceededError, match="VORBIS_COMMENT"):
        FLAC.codec().read_labels(src)
    many = assemble(data, [(VORBIS_COMMENT, vc_block(b"", [b"A=1"] * 20))])
    src = Source.from_bytes(many)
    src.limits = Limits(max_items=10)
    with pytest.raises(LimitExceededError, match="comments"):
        FLAC.codec().read_labels(src)


def test_entry_without_separator_is_kept_and_reported() -> None:
    data = assemble(fixture("plain.flac"), [(VORBIS_COMMENT, vc_block(b"v", [b"NOSEP"]))])
    out = FLAC.write(data, record("sep"))
    (vc,) = [comments(p) for t, _, p in blocks(out)[0] if t == VORBIS_COMMENT]
    assert vc[1][0] == b"NOSEP"
    assert any("without '='" in f.message for f in aiglabel.inspect(data).findings)


# --- interop: mutagen and ffmpeg (PyAV) -------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_mutagen_reads_our_label_and_keeps_seeing_the_rest(path: Path, tmp_path: Path) -> None:
    mutagen_flac = pytest.importorskip("mutagen.flac")
    rec = record("mutagen")
    dst = tmp_path / path.name
    aiglabel.label(path, dst, rec)
    before, after = mutagen_flac.FLAC(path), mutagen_flac.FLAC(dst)
    assert after["aigc"] == [rec.to_json()]
    assert after["AIGC"] == [rec.to_json()]

    def others(f: object) -> list[tuple[str, str]]:
        tags = getattr(f, "tags", None) or []
        return [(k, v) for k, v in tags if k.upper() != "AIGC"]

    assert others(after) == others(before)
    assert [p.data for p in after.pictures] == [p.data for p in before.pictures]
    assert after.info.md5_signature == before.info.md5_signature
    assert after.info.total_samples == before.info.total_samples


@pytest.mark.interop
def test_we_read_labels_mutagen_wrote(tmp_path: Path) -> None:
    mutagen_flac = pytest.importorskip("mutagen.flac")
    rec = record("by-mutagen")
    for name, key in (("plain.flac", "AIGC"), ("streaminfo-only.flac", "aigc")):
        dst = tmp_path / name
        dst.write_bytes(fixture(name))
        f = mutagen_flac.FLAC(dst)
        if f.tags is None:
            f.add_tags()
        f[key] = rec.to_json()
        f["TITLE"] = "mutagen title"
        f.save()
        report = aiglabel.inspect(dst)
        assert [lb.record for lb in report.labels] == [rec]
        assert report.status == "compliant"
        out = aiglabel.label_bytes(dst.read_bytes(), record("after-mutagen"))
        assert [lb.record for lb in aiglabel.read_labels(out)] == [record("after-mutagen")]
        assert mutagen_flac.FLAC(io.BytesIO(out))["TITLE"] == ["mutagen title"]


@pytest.mark.interop
def test_ffmpeg_shows_the_tag_in_container_metadata() -> None:
    av = pytest.importorskip("av")
    rec = record("ffmpeg")
    out = FLAC.write(fixture("tags-picture.flac"), rec)
    with av.open(io.BytesIO(out)) as container:
        assert container.metadata["AIGC"] == rec.to_json()
        assert container.metadata["TITLE"] == "Fixture 标题"


@pytest.mark.interop
def test_exiftool_reads_our_label_and_sees_nothing_else_change(exiftool: str,
                                                             tmp_path: Path) -> None:
    copies = {}
    for path in FIXTURES:
        copies[path] = tmp_path / path.name
        aiglabel.label(path, copies[path], record(f"et-{path.stem}"))
    args = [exiftool, "-j", "-G1", "-a", "-n", "-Vorbis:all", "-FLAC:all"]

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
        created = {"Vorbis:Vendor"} if "Vorbis:Vendor" not in old else set()
        assert changed == {"Vorbis:Aigc"} | created, path.name


def test_in_place_patch_twice_and_mutagen_reads_it(tmp_path: Path) -> None:
    """Padding absorbs repeated in-place updates: only changed bytes are written each time."""
    import mutagen.flac

    import aiglabel
    from aiglabel.gb45438 import AIGCRecord

    path = tmp_path / "p.flac"
    original = (MEDIA / "flac" / "plain.flac").read_bytes()
    path.write_bytes(original)
    first = AIGCRecord.for_producer("001191110102MACQD9K64010000", "first")
    result = aiglabel.label(path, None, first, in_place=True)
    assert result.patched
    assert result.bytes_written < 1024
    assert len(path.read_bytes()) == len(original)
    update = AIGCRecord.for_producer("001191110102MACQD9K64010000", "first",
                                     propagator="001191110108MA01ABCD842PLAT",
                                     propagate_id="p-2")
    again = aiglabel.label(path, None, update, in_place=True)
    assert [lb.record for lb in aiglabel.read_labels(path)] == [update]
    assert mutagen.flac.FLAC(path)["AIGC"] == [update.to_json()]
    assert again.patched or len(path.read_bytes()) > len(original)
