"""MP4 / MOV / M4A codec: key-table label, offset fixing, padding, fragments, interop.

Inputs are the committed fixtures (``fixtures/media/make_mp4.py``), clips muxed at test time
by PyAV and the imageio-ffmpeg binary, and small synthetic movies built here box by box
(not decodable, but exact about offsets, sizes and nesting).
"""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
from tests.conftest import MEDIA, REAL, CodecHarness, decoded_av_frames, record

import aiglabel
from aiglabel._io import Limits, Source, emit
from aiglabel.codecs.base import Confidence
from aiglabel.codecs.mp4 import Mp4Codec
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
)
from aiglabel.registry import default_registry

if TYPE_CHECKING:
    from pathlib import Path

FOLDER = MEDIA / "mp4"
NAMES = sorted(p.name for p in FOLDER.iterdir())
H = CodecHarness("mp4")
CODEC = Mp4Codec()
RECORD = record("mp4-test")
OTHER = record("another-produce-id-that-is-quite-a-bit-longer")
PRIMARY = "mp4:mdta:AIGC"
GIB = 1 << 30
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"meta", b"edts", b"dinf",
              b"mvex", b"moof", b"traf", b"mfra", b"ilst"}
SAMPLE_TABLES = {b"stsd", b"stts", b"stsc", b"stsz", b"stss", b"ctts", b"sgpd", b"sbgp"}


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), MEDIA / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _load("make_mp4.py")
OLD_JSON: str = MAKE.OLD_LABEL_JSON


def fx(name: str) -> bytes:
    return (FOLDER / name).read_bytes()


def write(data: bytes, rec: Any = RECORD) -> bytes:
    return H.write(data, rec)


def labels(data: bytes) -> list[Any]:
    return H.labels(data)


# --- an independent box reader for the assertions ---------------------------------------------


def children(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int, int]]:
    """``(type, offset, size, header size)`` of sibling boxes."""
    out, pos = [], start
    while pos + 8 <= end:
        size, btype = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8 : pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if btype == b"uuid":
            header += 16
        out.append((btype, pos, size, header))
        pos += size
    return out


def find(data: bytes, path: str) -> list[tuple[int, bytes]]:
    """``(offset, payload)`` of every box at ``path`` (``moov/trak/mdia/minf/stbl/stco``)."""
    want = [p.encode("latin-1") for p in path.split("/")]
    found: list[tuple[int, bytes]] = []

    def walk(start: int, end: int, depth: int) -> None:
        for btype, off, size, header in children(data, start, end):
            if btype != want[depth] and want[depth] != b"*":
                continue
            if depth == len(want) - 1:
                found.append((off, data[off + header : off + size]))
            elif btype in CONTAINERS or want[depth] == b"*":
                first = off + header
                if btype == b"meta" and data[first + 4 : first + 8] not in (b"hdlr", b"keys"):
                    first += 4  # ISO FullBox meta
                walk(first, off + size, depth + 1)

    walk(0, len(data), 0)
    return found


def top(data: bytes) -> list[bytes]:
    return [t for t, _, _, _ in children(data, 0, len(data))]


def chunk_offsets(data: bytes) -> list[list[int]]:
    out = []
    for kind, width in (("stco", 4), ("co64", 8)):
        for _, payload in find(data, f"moov/trak/mdia/minf/stbl/{kind}"):
            count = struct.unpack(">I", payload[4:8])[0]
            out.append([int.from_bytes(payload[8 + i * width : 8 + (i + 1) * width], "big")
                        for i in range(count)])
    return out


def mdat_payloads(data: bytes) -> list[bytes]:
    return [data[o + h : o + s] for t, o, s, h in children(data, 0, len(data)) if t == b"mdat"]


def mdat_offset(data: bytes) -> int:
    return next(o + h for t, o, s, h in children(data, 0, len(data)) if t == b"mdat")


def sample_tables(data: bytes) -> list[bytes]:
    return [p for t in sorted(SAMPLE_TABLES)
            for _, p in find(data, f"moov/trak/mdia/minf/stbl/{t.decode()}")]


def keys_of(payload: bytes) -> list[bytes]:
    """Key names of a keys box payload."""
    count, pos, names = struct.unpack(">I", payload[4:8])[0], 8, []
    for _ in range(count):
        size = struct.unpack(">I", payload[pos : pos + 4])[0]
        names.append(payload[pos + 8 : pos + size])
        pos += size
    return names


def ffmpeg_tags(data: bytes) -> dict[str, str]:
    import av

    with av.open(io.BytesIO(data)) as container:
        return dict(container.metadata)


# --- synthetic movies ---------------------------------------------------------------------------


def box(btype: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), btype) + payload


def full(btype: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return box(btype, bytes([version]) + flags.to_bytes(3, "big") + payload)


def stco(values: list[int], kind: bytes = b"stco") -> bytes:
    width = 8 if kind == b"co64" else 4
    return full(kind, struct.pack(">I", len(values))
                + b"".join(v.to_bytes(width, "big") for v in values))


def trak(*tables: bytes) -> bytes:
    return box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", b"".join(tables)))))


def movie(moov_body: bytes, *, moov_first: bool = True, payload: bytes = b"\x17" * 64,
          after_moov: bytes = b"") -> bytes:
    """ftyp, moov, [after_moov], mdat (moov first) or ftyp, mdat, moov; ``moov_body`` may
    use the placeholder ``{D}`` chunk offset of the first mdat byte via ``stco_at``."""
    ftyp = box(b"ftyp", b"isom" + bytes(4) + b"isomiso2mp41")
    mdat = box(b"mdat", payload)
    if moov_first:
        moov = box(b"moov", moov_body)
        return ftyp + moov + after_moov + mdat
    return ftyp + mdat + box(b"moov", moov_body)


def simple_movie(values: list[int] | None = None, kind: bytes = b"stco", **kw: Any) -> bytes:
    """A moov-first movie whose chunk offsets point at its mdat payload."""
    probe = movie(box(b"mvhd", bytes(100)) + trak(stco([0] * len(values or [0]), kind)), **kw)
    start = mdat_offset(probe)
    offs = values if values is not None else [start]
    return movie(box(b"mvhd", bytes(100)) + trak(stco(offs, kind)), **kw)


# --- round trips over every committed fixture ---------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_fixture_round_trip(name: str) -> None:
    data = fx(name)
    out = write(data)
    found = labels(out)
    assert [(f.carrier, f.record, f.form) for f in found] == [(PRIMARY, RECORD, "bare")]
    assert write(out) == out
    assert mdat_payloads(out) == mdat_payloads(data)
    assert sample_tables(out) == sample_tables(data)
    assert H.essence(out) == H.essence(data)
    assert decoded_av_frames(out) == decoded_av_frames(data)
    # Offsets: every chunk offset moved by how far the media data moved.
    shift = mdat_offset(out) - mdat_offset(data)
    assert chunk_offsets(out) == [[v + shift for v in t] for t in chunk_offsets(data)]
    assert ffmpeg_tags(out)["AIGC"] == RECORD.to_json()


@pytest.mark.parametrize("name", NAMES)
def test_fixture_replace_with_other_record(name: str) -> None:
    once = write(fx(name), OTHER)
    again = write(once)
    assert [f.record for f in labels(again)] == [RECORD]
    assert decoded_av_frames(again) == decoded_av_frames(fx(name))


def test_moov_last_rewrites_only_moov() -> None:
    data = fx("plain.mp4")
    moov_at = data.index(b"moov") - 4
    out = write(data)
    assert out[:moov_at] == data[:moov_at]  # ftyp, free, mdat byte for byte
    assert top(out) == top(data)
    assert chunk_offsets(out) == chunk_offsets(data)
    (_, udta), = find(out, "moov/udta")
    assert [t for t, *_ in children(udta, 0, len(udta))] == [b"meta", b"meta"]  # mdir, mdta
    (_, keys), = find(out, "moov/udta/meta/keys")
    assert keys_of(keys) == [b"AIGC"]
    (_, item), = find(out, "moov/udta/meta/ilst/\x00\x00\x00\x01")
    assert item == box(b"data", struct.pack(">II", 1, 0) + RECORD.to_json().encode())


def test_faststart_shifts_chunk_offsets_and_leaves_padding() -> None:
    data = fx("faststart.mp4")
    out = write(data)
    growth = len(out) - len(data)
    # The 8-byte free box after moov cannot take the label: it is replaced by one of at
    # least 1 KiB, sized so that the media moves by a multiple of 4 KiB.
    assert growth % 4096 == 0
    assert top(out) == [b"ftyp", b"moov", b"free", b"mdat"]
    assert children(out, 0, len(out))[2][2] >= 1024
    assert mdat_offset(out) == mdat_offset(data) + growth
    assert chunk_offsets(out) == [[v + growth for v in t] for t in chunk_offsets(data)]
    # That padding lets the next in-place update patch only the changed bytes.
    assert Mp4Codec().plan_patch(Source.from_bytes(out), OTHER) is not None


def test_free_box_after_moov_absorbs_the_label() -> None:
    data = fx("free-padding.mp4")
    out = write(data)
    assert len(out) == len(data)
    assert mdat_offset(out) == mdat_offset(data)
    assert chunk_offsets(out) == chunk_offsets(data)
    old_free, new_free = (children(d, 0, len(d))[2] for d in (data, out))
    old_moov, new_moov = (children(d, 0, len(d))[1] for d in (data, out))
    assert old_free[2] - new_free[2] == new_moov[2] - old_moov[2] > 0


def test_free_box_inside_moov_absorbs_the_label() -> None:
    data = fx("apple-keys.mov")  # moov first, moov/free of 512 bytes, moov/meta key table
    out = write(data)
    assert len(out) == len(data)
    assert mdat_offset(out) == mdat_offset(data)
    (_, free_before), = find(data, "moov/free")
    (_, free_after), = find(out, "moov/free")
    assert len(free_before) - len(free_after) > 0
    # The label joined Apple's key table in moov/meta: no second table (ffmpeg reads one).
    assert find(out, "moov/udta/meta") == []
    (_, keys), = find(out, "moov/meta/keys")
    assert keys_of(keys) == [b"com.apple.quicktime.make", b"com.apple.quicktime.model",
                             b"com.apple.quicktime.software", b"AIGC"]
    old_items = [p for _, p in find(data, "moov/meta/ilst/*")]
    new_items = [p for _, p in find(out, "moov/meta/ilst/*")]
    assert new_items[:3] == old_items
    tags = ffmpeg_tags(out)
    assert tags["AIGC"] == RECORD.to_json()
    assert tags["com.apple.quicktime.model"] == "FixturePhone"


def test_shrinking_label_grows_the_free_box() -> None:
    data = fx("old-label.mp4")  # ffmpeg-written AIGC (key 2) after a title key
    out = write(data)  # the new label is shorter than the old one
    assert len(out) == len(data)
    assert mdat_offset(out) == mdat_offset(data)
    (_, keys_in), = find(data, "moov/udta/meta/keys")
    (_, keys_out), = find(out, "moov/udta/meta/keys")
    assert keys_in == keys_out
    assert keys_of(keys_out) == [b"title", b"AIGC"]
    assert find(out, "moov/udta/meta/ilst/\x00\x00\x00\x01") == find(
        data, "moov/udta/meta/ilst/\x00\x00\x00\x01")
    assert ffmpeg_tags(out) | {"AIGC": ""} == ffmpeg_tags(data) | {"AIGC": ""}


@pytest.mark.parametrize(("base", "layout"), [
    (fx("faststart.mp4"), [b"ftyp", b"moov", b"free", b"mdat"]),  # the free box grows
    (simple_movie(), [b"ftyp", b"moov", b"free", b"mdat"]),  # a new free box
], ids=["free-grows", "new-free"])
def test_shrinking_moov_keeps_media_in_place(base: bytes, layout: list[bytes]) -> None:
    data = write(base, OTHER)
    out = write(data, RECORD)  # shorter ProduceID: moov shrinks by far more than 8 bytes
    assert len(out) == len(data)
    assert mdat_offset(out) == mdat_offset(data)
    assert top(out) == layout
    assert chunk_offsets(out) == chunk_offsets(data)


def test_small_shrink_is_taken_by_the_padding_a_growth_left() -> None:
    base = simple_movie()
    long = write(base, record("abcd"))
    assert top(long) == [b"ftyp", b"moov", b"free", b"mdat"]
    assert (mdat_offset(long) - mdat_offset(base)) % 4096 == 0
    out = write(long, record("abc"))  # 2 bytes shorter (ProduceID and PropagateID)
    assert len(out) == len(long)
    assert mdat_offset(out) == mdat_offset(long)
    assert chunk_offsets(out) == [[mdat_offset(out)]]


def test_co64_offsets_are_shifted() -> None:
    data = fx("co64.mp4")
    assert find(data, "moov/trak/mdia/minf/stbl/stco") == []
    out = write(data)
    growth = len(out) - len(data)
    assert chunk_offsets(out) == [[v + growth for v in t] for t in chunk_offsets(data)]
    assert len(find(out, "moov/trak/mdia/minf/stbl/co64")) == 2


def test_stco_overflow_becomes_co64() -> None:
    data = simple_movie([0, 0xFFFFFF00])
    start = mdat_offset(data)
    data = simple_movie([start, 0xFFFFFF00])
    src = Source.from_bytes(data)
    plan = CODEC.plan_write(src, RECORD)
    out = io.BytesIO()
    emit(plan, src, out)
    result = out.getvalue()
    growth = len(result) - len(data)
    assert find(result, "moov/trak/mdia/minf/stbl/stco") == []
    # The co64 conversion itself grew moov by 4 bytes per entry: the offsets include that.
    assert chunk_offsets(result) == [[start + growth, 0xFFFFFF00 + growth]]
    assert write(result) == result


def test_saio_offsets_shift_and_version0_overflow_is_refused() -> None:
    probe = movie(box(b"mvhd", bytes(100)) + trak(stco([0]), full(b"saio", bytes(8))))
    start = mdat_offset(probe)
    saio = full(b"saio", struct.pack(">II", 1, start + 4))
    data = movie(box(b"mvhd", bytes(100)) + trak(stco([start]), saio))
    out = write(data)
    growth = len(out) - len(data)
    (_, payload), = find(out, "moov/trak/mdia/minf/stbl/saio")
    assert struct.unpack(">II", payload[4:12]) == (1, start + 4 + growth)
    big = full(b"saio", struct.pack(">II", 1, 0xFFFFFFF0))
    data = movie(box(b"mvhd", bytes(100)) + trak(stco([start]), big))
    with pytest.raises(CarrierUnsupportedError, match="saio"):
        write(data)
    short = movie(box(b"mvhd", bytes(100)) + trak(stco([start]), full(b"saio", bytes(4), flags=1)))
    with pytest.raises(CorruptFileError, match="saio box .* truncated"):
        write(short)


@pytest.mark.parametrize(
    ("extra_moov", "after"),
    [(full(b"meta", full(b"hdlr", bytes(4) + b"pict" + bytes(13)) + full(b"iloc", bytes(4))),
      b""),
     (b"", full(b"meta", full(b"hdlr", bytes(4) + b"pict" + bytes(13))))],
    ids=["iloc-in-moov", "file-level-meta"],
)
def test_unknown_absolute_offsets_refuse_to_move(extra_moov: bytes, after: bytes) -> None:
    data = movie(box(b"mvhd", bytes(100)) + trak(stco([0])) + extra_moov, after_moov=after)
    with pytest.raises(CarrierUnsupportedError, match="cannot move media data"):
        write(data)
    # moov last: nothing moves, so the same boxes are fine.
    data = movie(box(b"mvhd", bytes(100)) + trak(stco([0])) + extra_moov, moov_first=False)
    assert [f.record for f in labels(write(data))] == [RECORD]


def test_fragmented_base_offsets_and_tfra_are_shifted() -> None:
    data = fx("fragmented.mp4")
    out = write(data)
    growth = len(out) - len(data)
    assert growth > 0

    def bases(d: bytes) -> list[int]:
        return [int.from_bytes(p[8:16], "big") for _, p in find(d, "moof/traf/tfhd")
                if int.from_bytes(p[1:4], "big") & 1]

    def tfra(d: bytes) -> list[int]:
        out = []
        for _, p in find(d, "mfra/tfra"):
            width = 8 if p[0] == 1 else 4
            rest = sum(((struct.unpack(">I", p[8:12])[0] >> s) & 3) + 1 for s in (4, 2, 0))
            pos = 16
            for _ in range(struct.unpack(">I", p[12:16])[0]):
                out.append(int.from_bytes(p[pos + width : pos + 2 * width], "big"))
                pos += 2 * width + rest
        return out

    assert bases(data)
    assert bases(out) == [b + growth for b in bases(data)]
    assert tfra(data)
    assert tfra(out) == [m + growth for m in tfra(data)]
    moofs = {o for t, o, _, _ in children(out, 0, len(out)) if t == b"moof"}
    assert set(tfra(out)) <= moofs
    assert decoded_av_frames(out) == decoded_av_frames(data)


def test_fragments_relative_to_moof_need_no_patch() -> None:
    data = MAKE.encode(options={"movflags": "frag_keyframe+empty_moov+default_base_moof"})
    out = write(data)
    assert decoded_av_frames(out) == decoded_av_frames(data)
    assert ffmpeg_tags(out)["AIGC"] == RECORD.to_json()


def test_sidx_before_moov_is_refused() -> None:
    data = simple_movie()
    sidx = full(b"sidx", bytes(24))
    at = data.index(b"moov") - 4
    bad = data[:at] + sidx + data[at:]
    with pytest.raises(CarrierUnsupportedError, match="sidx"):
        write(bad)


def test_largesize_and_open_ended_mdat() -> None:
    data = fx("largesize.mp4")
    out = write(data)
    at = out.index(b"mdat") - 4
    assert struct.unpack(">I", out[at : at + 4])[0] == 1  # 16-byte header kept
    # moov first, mdat with size 0 ("to the end of the file") last.
    open_ended = simple_movie()
    at = open_ended.index(b"mdat") - 4
    open_ended = open_ended[:at] + bytes(4) + open_ended[at + 4 :]
    out = write(open_ended)
    assert out[out.index(b"mdat") - 4 : out.index(b"mdat")] == bytes(4)
    assert chunk_offsets(out) == [[mdat_offset(out)]]


def test_new_udta_when_moov_has_none() -> None:
    data = movie(box(b"mvhd", bytes(100)) + trak(stco([0])), moov_first=False)
    out = write(data)
    assert top(out) == top(data)
    (_, keys), = find(out, "moov/udta/meta/keys")
    assert keys_of(keys) == [b"AIGC"]


# --- key tables: merge, renumber, duplicates ---------------------------------------------------


def test_merge_keeps_other_keys_byte_identical() -> None:
    data = fx("other-meta.mp4")
    out = write(data)
    (_, keys_in), = find(data, "moov/udta/meta/keys")
    (_, keys_out), = find(out, "moov/udta/meta/keys")
    assert keys_of(keys_out) == [*keys_of(keys_in), b"AIGC"]
    assert keys_out[8 : len(keys_in)] == keys_in[8:]  # old entries verbatim
    items_in = find(data, "moov/udta/meta/ilst/*")
    items_out = find(out, "moov/udta/meta/ilst/*")
    assert [p for _, p in items_out[:-1]] == [p for _, p in items_in]
    tags = ffmpeg_tags(out)
    assert tags["com.apple.quicktime.software"] == "FixtureCam 1.0"
    assert tags["title"] == "other meta"
    assert tags["AIGC"] == RECORD.to_json()


def _keyed_meta(keys: list[tuple[bytes, bytes]], *, extra_items: bytes = b"") -> bytes:
    hdlr = full(b"hdlr", bytes(4) + b"mdta" + bytes(13))
    entries = b"".join(struct.pack(">I", 8 + len(k)) + b"mdta" + k for k, _ in keys)
    keys_box = full(b"keys", struct.pack(">I", len(keys)) + entries)
    items = b"".join(box(struct.pack(">I", i), box(b"data", struct.pack(">II", 1, 0) + v))
                     for i, (_, v) in enumerate(keys, 1))
    return full(b"meta", hdlr + keys_box + box(b"ilst", items + extra_items))


def test_duplicate_keys_are_removed_and_items_renumbered() -> None:
    old = OLD_JSON.encode()
    meta = _keyed_meta([(b"title", b"T"), (b"AIGC", old), (b"comment", b"C"), (b"AIGC", old),
                        (b"software", b"S")])
    data = MAKE.add_to_moov(fx("plain.mp4"), meta, into_udta=True)
    found = labels(data)
    assert [f.carrier for f in found] == [PRIMARY, PRIMARY]
    report = aiglabel.inspect(data)
    assert "G4.multiple-labels" in [f.code for f in report.findings]
    src = Source.from_bytes(data)
    plan = CODEC.plan_write(src, RECORD)
    assert plan.removed == [PRIMARY]
    out = io.BytesIO()
    emit(plan, src, out)
    result = out.getvalue()
    assert [f.record for f in labels(result)] == [RECORD]
    metas = find(result, "moov/udta/meta/keys")
    assert keys_of(metas[-1][1]) == [b"title", b"AIGC", b"comment", b"software"]
    tags = ffmpeg_tags(result)
    assert (tags["title"], tags["comment"], tags["software"]) == ("T", "C", "S")
    assert tags["AIGC"] == RECORD.to_json()


def test_orphan_item_is_not_adopted_by_the_new_key() -> None:
    orphan = box(struct.pack(">I", 2), box(b"data", struct.pack(">II", 1, 0) + OLD_JSON.encode()))
    meta = _keyed_meta([(b"title", b"T")], extra_items=orphan)
    data = MAKE.add_to_moov(fx("plain.mp4"), meta, into_udta=True)
    assert labels(data) == []  # index 2 has no key: not a label
    out = write(data)
    assert [f.record for f in labels(out)] == [RECORD]


def test_labels_everywhere_are_found_and_removed() -> None:
    """Keyed table, keyless AIGC item, freeform item, XMP uuid in moov, udta/XMP_: one label."""
    old = OLD_JSON.encode()
    mdir = full(b"meta", full(b"hdlr", bytes(4) + b"mdir" + bytes(13)) + box(b"ilst", (
        box(b"AIGC", box(b"data", struct.pack(">II", 1, 0) + old))
        + box(b"----", full(b"mean", b"com.apple.iTunes") + full(b"name", b"AIGC")
              + box(b"data", struct.pack(">II", 1, 0) + old))
        + box(b"\xa9nam", box(b"data", struct.pack(">II", 1, 0) + b"kept")))))
    xmp = MAKE.xmp_packet(OLD_JSON)
    data = fx("plain.mp4")
    data = MAKE.add_to_moov(data, mdir + box(b"XMP_", xmp), into_udta=True)
    data = MAKE.add_to_moov(data, box(b"uuid", MAKE.XMP_UUID + xmp))
    data = MAKE.add_to_moov(data, _keyed_meta([(b"AIGC", old)]), into_udta=True)
    found = labels(data)
    assert sorted(f.carrier for f in found) == sorted(
        [PRIMARY, "mp4:ilst:AIGC", "mp4:ilst:----:AIGC", "mp4:udta:XMP_", "mp4:uuid:xmp"])
    assert all(f.record is not None for f in found)
    out = write(data)
    assert [(f.carrier, f.record) for f in labels(out)] == [(PRIMARY, RECORD)]
    kept = list(CODEC.metadata(Source.from_bytes(out)))
    assert ("mp4:ilst", "©nam", "kept") in [(m.carrier, m.key, m.value) for m in kept]
    packets = [m.value for m in kept if m.key == "xmp"]
    assert len(packets) == 2
    assert all("mp4 fixture 标题" in p and "<TC260:AIGC>" not in p for p in packets)
    assert decoded_av_frames(out) == decoded_av_frames(fx("plain.mp4"))


def test_top_level_xmp_is_stripped_in_place() -> None:
    data = fx("xmp-uuid.mp4")
    (at, packet), = find(data, "uuid")
    out = write(data)
    (at_out, packet_out), = find(out, "uuid")
    assert (at_out, len(packet_out)) == (at, len(packet))  # same place, same size
    text = packet_out.decode()
    assert "<TC260:AIGC>" not in text
    assert "<TC260:AIGC>" in packet.decode()
    assert "mp4 fixture 标题" in text
    assert text.rstrip().endswith('<?xpacket end="w"?>')
    assert mdat_offset(out) == mdat_offset(data)


def test_keyless_and_keyed_moov_meta_variants() -> None:
    keyed = labels(fx("doubao-keys.mov"))
    assert [(f.carrier, f.record.produce_id) for f in keyed] == [(PRIMARY, "old-0001")]
    assert "G3.carrier" in [f.code for f in keyed[0].findings]  # QuickTime placement: INFO
    out = write(fx("doubao-keys.mov"))
    assert find(out, "moov/udta/meta/keys") == []  # rewritten in Apple's table
    (_, keys), = find(out, "moov/meta/keys")
    assert keys_of(keys) == [b"com.apple.quicktime.software", b"AIGC"]
    keyless = labels(fx("doubao.mov"))
    assert [f.carrier for f in keyless] == ["mp4:ilst:AIGC"]
    out = write(fx("doubao.mov"))
    assert [p for _, p in find(out, "moov/meta/ilst/*")] == []


def test_real_apple_mov_keeps_one_key_table(tmp_path: Path) -> None:
    sample = REAL / "c.mov"
    if not sample.exists():
        pytest.skip(f"shared real-world sample missing: {sample}")
    out = write(sample.read_bytes())
    assert find(out, "moov/udta/meta/keys") == []
    tags = ffmpeg_tags(out)
    assert tags["AIGC"] == RECORD.to_json()
    assert tags["com.apple.quicktime.make"] == "Apple"
    moov_at = next(o for t, o, _, _ in children(out, 0, len(out)) if t == b"moov")
    assert out[:moov_at] == sample.read_bytes()[:moov_at]  # moov is last: only it changes


# --- identification -----------------------------------------------------------------------------


def _ftyp(major: bytes, *compat: bytes) -> bytes:
    return box(b"ftyp", major + bytes(4) + b"".join(compat)) + box(b"free")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), Confidence.STRONG),
        (_ftyp(b"qt  ", b"qt  "), Confidence.STRONG),
        (_ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), Confidence.STRONG),
        (_ftyp(b"3gp5", b"3gp5"), Confidence.STRONG),
        (_ftyp(b"dash", b"iso6"), Confidence.STRONG),
        (_ftyp(b"zzzz", b"yyyy"), Confidence.WEAK),
        (_ftyp(b"heic", b"mif1", b"heic"), Confidence.NO),
        (_ftyp(b"mp42", b"mp42", b"isom", b"mif1"), Confidence.NO),  # a HEIF brand: heif's
        (_ftyp(b"avif", b"avif", b"mif1", b"miaf"), Confidence.NO),
        (_ftyp(b"crx ", b"isom"), Confidence.NO),
        (box(b"moov"), Confidence.WEAK),
        (box(b"wide") + box(b"mdat"), Confidence.WEAK),
        (bytes(64), Confidence.NO),
        (b"RIFF\x00\x00\x00\x00WEBP", Confidence.NO),
    ],
)
def test_sniff(head: bytes, expected: Confidence) -> None:
    assert Mp4Codec.sniff(head) is expected


def test_heif_and_mp4_do_not_steal_each_other() -> None:
    heif = default_registry.get("heif")
    for p in sorted((MEDIA / "heif").iterdir()):
        assert Mp4Codec.sniff(p.read_bytes()) is Confidence.NO
        assert aiglabel.detect_format(p) == "heif"
    for name in NAMES:
        assert heif.sniff(fx(name)) is Confidence.NO


def test_no_ftyp_needs_a_moov() -> None:
    assert aiglabel.detect_format(fx("no-ftyp.mov")) == "mp4"
    no_moov = box(b"free", bytes(8)) + box(b"mdat", bytes(32))
    with pytest.raises(aiglabel.UnsupportedFormatError):
        aiglabel.detect_format(no_moov)


# --- header-only reading ------------------------------------------------------------------------


def _sparse(path: Path, head: bytes, payload: int, tail: bytes = b"") -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(len(head) + payload)
        f.seek(len(head) + payload)
        f.write(tail)
    return path


@pytest.mark.parametrize("layout", ["moov-first", "moov-last", "largesize", "open-ended"])
def test_gigabyte_mdat_is_never_read(layout: str, tmp_path: Path) -> None:
    labelled = write(fx("faststart.mp4"))
    moov_at = labelled.index(b"moov") - 4
    moov = labelled[moov_at : moov_at + struct.unpack(">I", labelled[moov_at : moov_at + 4])[0]]
    ftyp = labelled[:moov_at]
    if layout == "moov-first":
        path = _sparse(tmp_path / "a.mp4", ftyp + moov + struct.pack(">I4s", GIB + 8, b"mdat"),
                       GIB)
    elif layout == "moov-last":
        path = _sparse(tmp_path / "a.mp4", ftyp + struct.pack(">I4s", GIB + 8, b"mdat"), GIB, moov)
    elif layout == "largesize":
        head = ftyp + struct.pack(">I4sQ", 1, b"mdat", GIB + 16)
        path = _sparse(tmp_path / "a.mp4", head, GIB, moov)
    else:
        path = _sparse(tmp_path / "a.mp4", ftyp + moov + struct.pack(">I4s", 0, b"mdat"), GIB)
    with open(path, "rb") as f:
        src = Source(f, name=str(path))
        assert [lb.record for lb in CODEC.read_labels(src)] == [RECORD]
        CODEC.metadata(src)
        assert src.size > GIB
        assert src.bytes_read < 16 << 10, src.bytes_read
    assert [lb.record for lb in aiglabel.read_labels(path)] == [RECORD]


# --- damaged and hostile input ------------------------------------------------------------------


def _damaged() -> list[bytes]:
    data = write(fx("faststart.mp4"))
    cases = [data[:n] for n in (0, 7, 8, 12, 40, 200, len(data) // 2, len(data) - 1)]
    moov_at = data.index(b"moov") - 4
    for size in (0, 3, 7, 0xFFFFFFFF, 1):
        bad = bytearray(data)
        bad[moov_at : moov_at + 4] = struct.pack(">I", size)
        cases.append(bytes(bad))
    keys_at = data.index(b"keys") - 4
    for pos, value in ((keys_at + 12, 0xFF), (keys_at + 16, 0xFF), (keys_at + 3, 0x40)):
        bad = bytearray(data)
        bad[pos] = value  # key count, entry size, keys box size
        cases.append(bytes(bad))
    stco_at = data.index(b"stco") - 4
    bad = bytearray(data)
    bad[stco_at + 12 : stco_at + 16] = b"\xff\xff\xff\xff"  # entry count past the box
    cases.append(bytes(bad))
    cases.append(box(b"ftyp", b"isom" + bytes(8)) + box(b"mdat", bytes(16)))  # no moov
    cases.append(box(b"ftyp", b"isom" + bytes(8)) + box(b"moov") + box(b"moov"))
    return cases


@pytest.mark.parametrize("data", _damaged())
def test_damaged_input_raises_only_aiglabel_errors(data: bytes) -> None:
    messages = []
    for op in (CODEC.read_labels, CODEC.essence_digest, CODEC.metadata,
               lambda s: CODEC.plan_write(s, RECORD)):
        try:
            op(Source.from_bytes(data, "bad.mp4"))
        except AiglabelError as exc:
            messages.append(str(exc))
    assert all("\n" not in m for m in messages)


def test_damaged_input_examples() -> None:
    data = write(fx("faststart.mp4"))
    with pytest.raises(CorruptFileError, match="truncated|outside"):
        CODEC.read_labels(Source.from_bytes(data[:-10]))
    with pytest.raises(CorruptFileError, match="no moov"):
        CODEC.read_labels(Source.from_bytes(box(b"ftyp", b"isom" + bytes(8))))
    with pytest.raises(CorruptFileError, match="2 moov"):
        CODEC.plan_write(Source.from_bytes(box(b"ftyp", b"isom" + bytes(8)) + box(b"moov") * 2),
                         RECORD)
    moov_at = data.index(b"moov") - 4
    tiny = bytearray(data)
    tiny[moov_at : moov_at + 4] = struct.pack(">I", 4)
    with pytest.raises(CorruptFileError, match="size 4"):
        CODEC.read_labels(Source.from_bytes(bytes(tiny)))


def test_limits_depth_items_and_size() -> None:
    nested = box(b"free")
    for _ in range(40):
        nested = box(b"udta", nested)
    data = MAKE.add_to_moov(fx("plain.mp4"), nested)
    assert labels(data) == []  # reading never descends into nested udta boxes
    with pytest.raises(LimitExceededError, match="deeper"):
        write(data)
    shallow = Source(io.BytesIO(write(fx("plain.mp4"))), limits=Limits(max_depth=2))
    with pytest.raises(LimitExceededError, match="deeper"):
        CODEC.read_labels(shallow)
    few = Source(io.BytesIO(fx("plain.mp4")), limits=Limits(max_items=10))
    with pytest.raises(LimitExceededError, match="boxes"):
        CODEC.plan_write(few, RECORD)
    small = Source(io.BytesIO(fx("plain.mp4")), limits=Limits(max_metadata=1000))
    with pytest.raises(LimitExceededError, match="moov box"):
        CODEC.plan_write(small, RECORD)
    big_keys = Source(io.BytesIO(write(fx("other-meta.mp4"))), limits=Limits(max_metadata=40))
    with pytest.raises(LimitExceededError, match="keys box"):
        CODEC.read_labels(big_keys)


def test_bit_flips_in_moov_raise_only_aiglabel_errors() -> None:
    data = write(fx("other-meta.mp4"))
    moov_at = data.index(b"moov") - 4
    for pos in range(moov_at, len(data), 7):
        bad = bytearray(data)
        bad[pos] ^= 0x5A
        src = Source.from_bytes(bytes(bad))
        try:
            CODEC.read_labels(src)
            emit(CODEC.plan_write(src, RECORD), src, io.BytesIO())
        except AiglabelError:
            pass


# --- metadata for the verifier ------------------------------------------------------------------


def test_metadata_items() -> None:
    def items(name: str) -> list[tuple[str, str, str]]:
        return [(m.carrier, m.key, m.value) for m in CODEC.metadata(Source.from_bytes(fx(name)))]

    assert items("plain.mp4") == []
    assert items("itunes-meta.mp4") == [("mp4:ilst", "©nam", "itunes meta"),
                                        ("mp4:ilst", "©too", "FixtureTool 2.1"),
                                        ("mp4:ilst", "©cmt", "mdir item list")]
    assert ("mp4:mdta", "com.apple.quicktime.software", "FixtureCam 1.0") in items(
        "other-meta.mp4")
    assert items("quicktime.mov") == [("mp4:udta", "©nam", "quicktime")]
    assert items("itunes.m4a")[1] == ("mp4:ilst", "----:com.apple.iTunes:AIGC", OLD_JSON)
    assert [(c, k) for c, k, _ in items("xmp-uuid.mp4")] == [("mp4:uuid:xmp", "xmp")]
    # The budget bounds the text exposed (and the keys table read): never an exception.
    for budget in (12, 60, 400):
        cut = Source(io.BytesIO(fx("other-meta.mp4")), limits=Limits(max_metadata=budget))
        assert sum(len(m.value) for m in CODEC.metadata(cut)) <= budget


# --- interop: ffmpeg (PyAV and the imageio-ffmpeg binary), exiftool, mutagen ---------------------


@pytest.mark.interop
@pytest.mark.parametrize(("fmt", "video"), [("mp4", True), ("mov", True), ("ipod", False)])
def test_we_read_what_ffmpeg_writes(fmt: str, video: bool) -> None:
    data = MAKE.encode(fmt, video=video, options={"movflags": "use_metadata_tags"},
                       metadata={"AIGC": RECORD.to_json()})
    assert [(f.carrier, f.record) for f in labels(data)] == [(PRIMARY, RECORD)]
    # Without use_metadata_tags ffmpeg drops the tag silently (rules §C.2).
    dropped = MAKE.encode(fmt, video=video, metadata={"AIGC": RECORD.to_json()})
    assert labels(dropped) == []


def _ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        pytest.skip("IMAGEIO-FFMPEG NOT INSTALLED: interop oracle missing (test extra)")
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.mark.interop
@pytest.mark.parametrize("name", ["plain.mp4", "quicktime.mov", "itunes.m4a"])
def test_guide_ffmpeg_command_interop(name: str, tmp_path: Path) -> None:
    exe = _ffmpeg_exe()
    src = tmp_path / name
    src.write_bytes(fx(name))
    dst = tmp_path / f"out{src.suffix}"
    # TC260-PG-20257A §6.1.1: ffmpeg -i in -metadata AIGC=<json> -movflags use_metadata_tags
    subprocess.run([exe, "-v", "error", "-i", str(src), "-metadata", f"AIGC={OLD_JSON}",
                    "-movflags", "use_metadata_tags", "-c", "copy", str(dst)], check=True)
    assert [f.carrier for f in aiglabel.read_labels(dst)] == [PRIMARY]
    assert aiglabel.read_labels(dst)[0].raw == OLD_JSON
    # And the other way: ffmpeg remuxes our label and keeps it.
    ours = tmp_path / f"ours{src.suffix}"
    ours.write_bytes(write(fx(name)))
    again = tmp_path / f"again{src.suffix}"
    subprocess.run([exe, "-v", "error", "-i", str(ours), "-movflags", "use_metadata_tags",
                    "-c", "copy", str(again)], check=True)
    assert [f.record for f in aiglabel.read_labels(again)] == [RECORD]


@pytest.mark.interop
@pytest.mark.parametrize("name", ["plain.mp4", "other-meta.mp4", "quicktime.mov", "itunes.m4a",
                                  "apple-keys.mov", "fragmented.mp4"])
def test_exiftool_reads_our_key(name: str, exiftool: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(write(fx(name)))
    result = subprocess.run([exiftool, "-j", "-G1", "-a", str(path)], capture_output=True,
                            text=True, check=True)
    (tags,) = json.loads(result.stdout)
    assert json.loads(tags["Keys:AIGC"]) == RECORD.to_dict()
    assert not any(k.endswith(":Warning") for k in tags), tags


@pytest.mark.interop
def test_mutagen_view() -> None:
    mutagen_mp4 = pytest.importorskip("mutagen.mp4", reason="MUTAGEN NOT INSTALLED (test extra)")
    before = mutagen_mp4.MP4(io.BytesIO(fx("itunes.m4a")))
    assert before.tags["----:com.apple.iTunes:AIGC"] == [OLD_JSON.encode()]
    after = mutagen_mp4.MP4(io.BytesIO(write(fx("itunes.m4a"))))
    # mutagen reads only the first udta meta (the iTunes list): the freeform label is gone and
    # the mdta key table that now holds the label is not shown; other items stay.
    assert dict(after.tags) == {"©nam": ["itunes freeform"]}
    alone = mutagen_mp4.MP4(io.BytesIO(write(fx("quicktime.mov"))))
    # With our meta the only one in udta, mutagen lists the item under its raw key index.
    assert alone.tags["\x00\x00\x00\x01"] == [RECORD.to_json()]


def test_in_place_patch_through_free_box_twice(tmp_path: Path) -> None:
    """moov + free: an in-place update writes only the new udta and a few headers, the mdat
    never moves and ffmpeg reads the label. Each patch needs room for the whole new udta (the
    old one stays readable until the switch), so this 544-byte free box takes one patch; the
    propagator update then falls back to the temporary-file rewrite, still correct."""
    import av

    path = tmp_path / "padded.mp4"
    original = (MEDIA / "mp4" / "free-padding.mp4").read_bytes()
    path.write_bytes(original)
    first = record("first")
    result = aiglabel.label(path, None, first, in_place=True)
    assert result.patched
    assert result.bytes_written < 4096
    assert len(path.read_bytes()) == len(original)
    update = record("first", propagator="001191110108MA01ABCD842PLAT", propagate_id="p-2")
    again = aiglabel.label(path, None, update, in_place=True)
    assert not again.patched
    assert [lb.record for lb in aiglabel.read_labels(path)] == [update]
    with av.open(str(path)) as container:
        assert container.metadata["AIGC"] == update.to_json()
    assert decoded_av_frames(path.read_bytes()) == decoded_av_frames(original)
    assert aiglabel.essence_digest(path) == aiglabel.essence_digest(MEDIA / "mp4" /
                                                                      "free-padding.mp4")


def test_in_place_patch_with_moov_last_appends_room_once(tmp_path: Path) -> None:
    """moov last (ffmpeg's default): the first in-place update appends a free box of the new
    udta plus 1 KiB, pulls it into moov and switches to the new udta; the next updates patch
    inside that room without growing the file (two of this size); when it is used up, the
    next update appends room again. The media never moves."""
    path = tmp_path / "last.mp4"
    original = fx("plain.mp4")
    path.write_bytes(original)
    sizes, patched = [], []
    for n in range(4):
        rec = record(f"last-{n}", propagator="001191110108MA01ABCD842PLAT",
                     propagate_id=f"p-{n}")
        if n == 3:  # room used up: append again, swallowing the inner free box
            _check_crash_points(path.read_bytes(), rec)
        result = aiglabel.label(path, None, rec, in_place=True)
        patched.append(result.patched)
        data = path.read_bytes()
        sizes.append(len(data))
        assert top(data)[-1] == b"moov"
        assert mdat_offset(data) == mdat_offset(original)
        assert chunk_offsets(data) == chunk_offsets(original)
        assert [lb.record for lb in aiglabel.read_labels(path)] == [rec]
        assert ffmpeg_tags(data)["AIGC"] == rec.to_json()
    assert all(patched)
    assert sizes[0] - len(original) < 2048
    assert sizes[1:3] == sizes[:1] * 2  # the first update's room serves the next two
    assert 0 < sizes[3] - sizes[2] < 2048
    assert decoded_av_frames(path.read_bytes()) == decoded_av_frames(original)


def _check_crash_points(data: bytes, rec: Any) -> None:
    """Every prefix of the patch's writes: one label (old or new), the same decoded frames."""
    from aiglabel._patch import simulate

    plan = Mp4Codec().plan_patch(Source.from_bytes(data), rec)
    assert plan is not None
    assert plan.append is not None
    before = [lb.record for lb in labels(data)]
    frames = decoded_av_frames(data)
    for k in range(len(plan.steps) + 1):
        state = simulate(data, plan, k)
        assert [lb.record for lb in labels(state)] == (before if k <= plan.switch_step
                                                        else [rec]), k
        assert decoded_av_frames(state) == frames
