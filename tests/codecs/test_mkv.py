"""Matroska / WebM codec: lossless Tags writes, SeekHead and Void handling, hostile input."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import zlib
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, CodecHarness, decoded_av_frames, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs import _ebml
from aiglabel.errors import AiglabelError, CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from pathlib import Path

av = pytest.importorskip("av")

H = CodecHarness("mkv")
REC = record("mkv-1")
FIXTURES = sorted((MEDIA / "mkv").iterdir())
SEGMENT, SEEKHEAD, SEEK, SEEK_ID, SEEK_POS = 0x18538067, 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
INFO, TRACKS, CLUSTER, CUES, TAGS, TAG = (0x1549A966, 0x1654AE6B, 0x1F43B675, 0x1C53BB6B,
                                          0x1254C367, 0x7373)
SIMPLE_TAG, TAG_NAME, TAG_STRING, VOID, CRC32 = 0x67C8, 0x45A3, 0x4487, 0xEC, 0xBF
MASTERS = {SEEKHEAD, SEEK, INFO, TRACKS, CUES, TAGS, TAG, SIMPLE_TAG, 0x63C0, 0xBB, 0xB7}


# --- an independent, strict EBML reader ------------------------------------------------------


def vint(data: bytes, pos: int, *, marker: bool) -> tuple[int, int]:
    length = 9 - data[pos].bit_length()
    value = int.from_bytes(data[pos : pos + length], "big")
    return (value if marker else value & ((1 << (7 * length)) - 1)), length


class El:
    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.id, n = vint(data, pos, marker=True)
        size, m = vint(data, pos + n, marker=False)
        self.offset, self.data_offset = pos, pos + n + m
        self.unknown = size == (1 << (7 * m)) - 1
        self.end = end if self.unknown else self.data_offset + size
        assert self.end <= end, f"element {self.id:#x} at {pos} overruns its parent"
        self.raw = data[pos : self.end]
        self.payload = data[self.data_offset : self.end]


def children(data: bytes, start: int, end: int) -> list[El]:
    out, pos = [], start
    while pos < end:
        el = El(data, pos, end)
        out.append(el)
        pos = el.end
    return out


def segment(data: bytes) -> tuple[El, list[El]]:
    """The Segment and its top-level elements; checks the Segment size is exact."""
    head = El(data, 0, len(data))
    seg = El(data, head.end, len(data))
    assert seg.id == SEGMENT
    assert seg.end == len(data)
    if seg.unknown:  # unknown-size Clusters are not produced by these tests
        return seg, children(data, seg.data_offset, len(data))
    return seg, children(data, seg.data_offset, seg.end)


def check_crcs(el: El, data: bytes) -> None:
    kids = children(data, el.data_offset, el.end)
    if kids and kids[0].id == CRC32:
        assert struct.pack("<I", zlib.crc32(data[kids[0].end : el.end])) == kids[0].payload
    for k in kids:
        if k.id in MASTERS:
            check_crcs(k, data)


def seek_entries(data: bytes, head: El) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for seek in children(data, head.data_offset, head.end):
        if seek.id != SEEK:
            continue
        fields = {f.id: f.payload for f in children(data, seek.data_offset, seek.end)}
        target = int.from_bytes(fields[SEEK_ID], "big")
        out.setdefault(target, []).append(int.from_bytes(fields[SEEK_POS], "big"))
    return out


def check_file(data: bytes) -> None:
    """Sizes exact, CRC-32s valid, SeekHead and Cues positions land on the right elements."""
    seg, top = segment(data)
    at = {el.offset - seg.data_offset: el for el in top}
    for el in top:
        if el.id in MASTERS:
            check_crcs(el, data)
        if el.id == SEEKHEAD:
            for target, positions in seek_entries(data, el).items():
                for pos in positions:
                    assert at[pos].id == target, (hex(target), pos)
        if el.id == CUES:
            for point in children(data, el.data_offset, el.end):
                if point.id != 0xBB:  # CuePoint
                    continue
                for tp in children(data, point.data_offset, point.end):
                    if tp.id != 0xB7:
                        continue
                    fields = {f.id: f.payload for f in children(data, tp.data_offset, tp.end)}
                    assert at[int.from_bytes(fields[0xF1], "big")].id == CLUSTER


def simple_tags(data: bytes) -> list[bytes]:
    """Raw bytes of every SimpleTag, in file order."""
    _, top = segment(data)
    out = []
    for tags in (el for el in top if el.id == TAGS):
        for tag in children(data, tags.data_offset, tags.end):
            if tag.id == TAG:
                out += [s.raw for s in children(data, tag.data_offset, tag.end)
                        if s.id == SIMPLE_TAG]
    return out


def positioned(data: bytes, ids: set[int]) -> list[tuple[int, bytes]]:
    """(position relative to the Segment data, bytes) of the top-level elements in ``ids``."""
    seg, top = segment(data)
    return [(el.offset - seg.data_offset, el.raw) for el in top if el.id in ids]


def is_label(raw: bytes) -> bool:
    return b"\x45\xa3\x84AIGC" in raw


# --- _ebml building blocks ---------------------------------------------------------------------


@pytest.mark.parametrize(("size", "width", "encoded"), [
    (0, None, b"\x80"), (126, None, b"\xfe"), (127, None, b"\x40\x7f"),  # 0xFF = unknown
    (5, 2, b"\x40\x05"), (16382, None, b"\x7f\xfe"), (16383, None, b"\x20\x3f\xff"),
])
def test_size_vints(size: int, width: int | None, encoded: bytes) -> None:
    assert _ebml.encode_size(size, width) == encoded
    el = _ebml.decode_header(b"\xec" + encoded, 0)
    assert (el.size, el.unknown, el.size_width) == (size, False, len(encoded))


def test_unknown_sizes_and_bad_vints() -> None:
    assert _ebml.decode_header(b"\x1f\x43\xb6\x75\xff", 0).unknown
    assert _ebml.decode_header(b"\x1f\x43\xb6\x75\x01\xff\xff\xff\xff\xff\xff\xff", 0).unknown
    for bad in (b"\x00\x81", b"\x08\x00\x00\x00\x00\x81", b"\xec\x00", b"\xec"):
        with pytest.raises(CorruptFileError):
            _ebml.decode_header(bad, 0)
    with pytest.raises(LimitExceededError):
        _ebml.encode_size(1 << 56)


@pytest.mark.parametrize("room", [13, 14, 15, 140, 500])
def test_fill_lays_out_exactly(room: int) -> None:
    parts = [(TAGS, b"x" * 8)]
    laid = _ebml.fill(parts, room)
    assert laid is not None
    assert len(laid) == room
    kids = children(laid, 0, room)
    assert kids[0].payload == b"x" * 8
    assert [k.id for k in kids[1:]] in ([], [VOID])
    assert _ebml.fill(parts, 12) is None  # 4-byte id + 1-byte size + 8
    assert _ebml.fill([], 1) is None


# --- round trips on every fixture -------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_write_is_lossless_and_structurally_valid(path: Path) -> None:
    data = path.read_bytes()
    out = H.write(data, REC)
    check_file(data)
    check_file(out)
    assert [lb.record for lb in H.labels(out)] == [REC]
    # Nothing between the Segment start and the end of the Clusters moves (rules §C.7).
    assert positioned(out, {INFO, TRACKS, CLUSTER, CUES}) == positioned(
        data, {INFO, TRACKS, CLUSTER, CUES})
    # Every other SimpleTag survives byte for byte, in order.
    assert [s for s in simple_tags(out) if not is_label(s)] == [
        s for s in simple_tags(data) if not is_label(s)]
    assert decoded_av_frames(out) == decoded_av_frames(data)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_ffmpeg_reads_our_label_and_seeks(path: Path) -> None:
    out = H.write(path.read_bytes(), REC)
    with av.open(io.BytesIO(out)) as container:
        assert container.metadata["AIGC"] == REC.to_json()
        stream = container.streams.video[0]
        container.seek(int(1.5 / stream.time_base), stream=stream)
        frame = next(container.decode(stream))
        assert frame.time is not None
        assert frame.time <= 1.5


def test_seekhead_tags_entry_points_at_the_new_tags() -> None:
    data = (MEDIA / "mkv" / "plain.mkv").read_bytes()
    out = H.write(data, REC)
    seg, top = segment(out)
    (head,) = [el for el in top if el.id == SEEKHEAD]
    (pos,) = seek_entries(out, head)[TAGS]
    tags = next(el for el in top if el.offset - seg.data_offset == pos)
    assert tags.id == TAGS
    assert tags.offset > max(el.offset for el in top if el.id == CLUSTER)  # appended
    assert any(is_label(s) for s in simple_tags(out))
    # The old Tags became a Void of the same size, the SeekHead kept its room.
    assert [el.id for el in top[: top.index(tags)]].count(TAGS) == 0
    assert len(out) - len(data) == len(tags.raw)


def test_label_goes_into_padding_before_the_clusters_when_it_fits() -> None:
    data = (MEDIA / "mkv" / "cues-front.mkv").read_bytes()
    out = H.write(data, REC)
    assert len(out) == len(data)
    _, top = segment(out)
    ids = [el.id for el in top]
    assert ids.index(TAGS) < ids.index(CLUSTER)
    assert H.write(out, REC) == out
    assert H.write(out, record("mkv-2")) != out
    assert len(H.write(out, record("mkv-2"))) == len(data)


def test_live_file_keeps_its_unknown_size_and_gains_a_seekhead_entry() -> None:
    data = (MEDIA / "mkv" / "live.mkv").read_bytes()
    out = H.write(data, REC)
    seg, top = segment(out)
    assert seg.unknown
    (head,) = [el for el in top if el.id == SEEKHEAD]
    assert top[-1].id == TAGS
    assert seek_entries(out, head)[TAGS] == [top[-1].offset - seg.data_offset]


def test_track_level_label_is_read_and_moved_to_a_global_tag() -> None:
    data = (MEDIA / "mkv" / "track-label.mkv").read_bytes()
    (found,) = H.labels(data)
    assert any("track" in f.message for f in found.findings)
    out = H.write(data, REC)
    (new,) = H.labels(out)
    assert not any("track" in f.message for f in new.findings)
    with av.open(io.BytesIO(out)) as container:
        assert container.metadata["AIGC"] == REC.to_json()
        assert "AIGC" not in container.streams.video[0].metadata


def test_duplicates_are_reported_and_collapsed() -> None:
    # The track-level label plus a global one: two labels (GB 6.1 c).
    one = H.write((MEDIA / "mkv" / "track-label.mkv").read_bytes(), REC)
    tag = _ebml.element(TAG, _ebml.element(0x63C0, b"")
                        + _ebml.element(SIMPLE_TAG, _ebml.element(TAG_NAME, b"aigc")
                                        + _ebml.element(TAG_STRING, REC.to_json().encode())))
    two = _append_top(one, _ebml.element(TAGS, tag))
    inspection = aiglabel.inspect(two)
    assert len(inspection.labels) == 2
    assert {lb.carrier for lb in inspection.labels} == {"mkv:SimpleTag:AIGC",
                                                        "mkv:SimpleTag:aigc"}
    assert "G4.multiple-labels" in {f.code for f in inspection.findings}
    out = H.write(two, record("mkv-3"))
    assert [lb.record for lb in H.labels(out)] == [record("mkv-3")]
    check_file(out)


def _append_top(data: bytes, element: bytes) -> bytes:
    """Append a top-level element to a known-size Segment (8-byte size field)."""
    seg, _ = segment(data)
    size_at = seg.offset + 4
    assert data[size_at] == 0x01
    size = int.from_bytes(data[size_at + 1 : size_at + 8], "big") + len(element)
    return data[:size_at] + b"\x01" + size.to_bytes(7, "big") + data[size_at + 8 :] + element


def test_seekhead_without_room_is_left_consistent() -> None:
    """No Void after the SeekHead and no Tags entry: the label is appended, the SeekHead is
    not touched (and never points at a Void)."""
    data = bytearray((MEDIA / "mkv" / "plain.mkv").read_bytes())
    seg, top = segment(bytes(data))
    head, void = top[0], top[1]
    assert (head.id, void.id) == (SEEKHEAD, VOID)
    # Replace the Tags Seek entry inside the SeekHead by a Void, fix its CRC.
    kids = children(bytes(data), head.data_offset, head.end)
    tags_seek = next(k for k in kids if k.id == SEEK and children(
        bytes(data), k.data_offset, k.end)[0].payload == _ebml.encode_id(TAGS))
    data[tags_seek.offset : tags_seek.end] = _ebml.void(len(tags_seek.raw))
    crc = kids[0]
    data[crc.data_offset : crc.end] = struct.pack("<I", zlib.crc32(data[crc.end : head.end]))
    # Turn the Void after it into an unknown element (id 0x10101010) of the same length.
    assert data[void.offset] == VOID
    data[void.offset : void.data_offset] = b"\x10\x10\x10\x10" + _ebml.encode_size(
        void.end - void.data_offset, 5)
    check_file(bytes(data))
    out = H.write(bytes(data), REC)
    check_file(out)
    _, new_top = segment(out)
    assert new_top[0].raw == bytes(data[head.offset : head.end])
    assert TAGS not in seek_entries(out, new_top[0])
    assert new_top[-1].id == TAGS
    assert [lb.record for lb in H.labels(out)] == [REC]
    findings = aiglabel.inspect(out).findings
    assert any("not in the SeekHead" in f.message for f in findings)


def test_unknown_size_clusters_are_crossed_by_their_block_headers() -> None:
    data = bytearray((MEDIA / "mkv" / "live.mkv").read_bytes())
    seg, top = segment(bytes(data))
    clusters = [el for el in top if el.id == CLUSTER]
    for el in clusters:  # 2-byte size fields become "unknown" (0x7FFF): nothing moves
        assert el.data_offset - el.offset == 6
        data[el.offset + 4 : el.offset + 6] = b"\x7f\xff"
    src = Source.from_bytes(bytes(data))
    from aiglabel.codecs.mkv import read_layout

    layout = read_layout(src)
    assert [(c.offset, c.end, c.unknown) for c in layout.children if c.id == CLUSTER] == [
        (c.offset, c.end, True) for c in clusters]
    out = H.write(bytes(data), REC)
    assert [lb.record for lb in H.labels(out)] == [REC]
    info = top[2]
    assert info.id == INFO
    assert out[info.offset : len(data)] == data[info.offset :]  # the Tags is appended
    assert decoded_av_frames(out) == decoded_av_frames(bytes(data))
    with av.open(io.BytesIO(out)) as container:
        assert container.metadata["AIGC"] == REC.to_json()


def _tiny(segment_payload: bytes, width: int = 1) -> bytes:
    head = _ebml.element(_ebml.EBML, _ebml.element(0x4282, b"matroska"))
    return head + _ebml.element(SEGMENT, segment_payload, width)


def test_segment_size_field_widens_when_needed() -> None:
    info = _ebml.element(INFO, _ebml.element(0x2AD7B1, b"\x0f\x42\x40"))
    data = _tiny(info, 1)
    out = H.write(data, REC)
    seg, top = segment(out)
    assert out[seg.offset + 4] & 0xC0 == 0x40  # now a 2-byte size
    assert [el.id for el in top] == [INFO, TAGS]
    assert [lb.record for lb in H.labels(out)] == [REC]


def test_webm_keeps_its_doctype_and_other_metadata() -> None:
    data = (MEDIA / "mkv" / "old-label.webm").read_bytes()
    out = H.write(data, REC)
    assert out[: out.index(b"\x18\x53\x80\x67")] == data[: data.index(b"\x18\x53\x80\x67")]
    assert aiglabel.detect_format(out, name="x.webm") == "mkv"
    assert H.codec().metadata(Source.from_bytes(out)) == []  # the label is not metadata


def test_metadata_lists_other_tags_not_the_label() -> None:
    data = (MEDIA / "mkv" / "tags.mkv").read_bytes()
    items = {(m.carrier, m.key): m.value for m in H.codec().metadata(Source.from_bytes(data))}
    assert items[("mkv:Info", "Title")] == "fixture clip"
    assert items[("mkv:SimpleTag", "ARTIST")] == "aiglabel fixtures"
    assert ("mkv:SimpleTag", "DURATION") not in items  # track statistics
    old = (MEDIA / "mkv" / "old-label.mkv").read_bytes()
    assert all(m.key != "AIGC" for m in H.codec().metadata(Source.from_bytes(old)))


# --- crash-safe in-place patches (every crash point: tests/test_patch.py) -------------------


def _tags_el(data: bytes) -> El:
    _, top = segment(data)
    (tags,) = [el for el in top if el.id == TAGS]
    return tags


def test_copy_write_leaves_padding_after_the_label_without_a_tags_crc() -> None:
    out = H.write((MEDIA / "mkv" / "plain.mkv").read_bytes(), REC)
    kids = children(out, _tags_el(out).data_offset, _tags_el(out).end)
    assert CRC32 not in [k.id for k in kids]
    labelled = next(i for i, k in enumerate(kids) if k.id == TAG and is_label(k.raw))
    assert kids[labelled + 1].id == _ebml.VOID
    assert len(kids[labelled + 1].raw) == 1024
    assert H.write(out, REC) == out  # idempotent with the padding


@pytest.mark.parametrize("name", ["plain.mkv", "padded-label.mkv", "tags.mkv"])
def test_repeated_in_place_patches_keep_tags_in_place(name: str, tmp_path: Path) -> None:
    """A copy-mode write (or the fixture) leaves a Void after the labelled Tag; then each
    in-place update writes a few hundred bytes, the Tags element keeps offset and size, the
    SeekHead stays valid and FFmpeg reads the new label."""
    original = (MEDIA / "mkv" / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(original if name == "padded-label.mkv" else H.write(original, REC))
    start = path.read_bytes()
    tags = (_tags_el(start).offset, len(_tags_el(start).raw))
    others = [s for s in simple_tags(start) if not is_label(s)]
    for n in range(3):
        rec = record(f"mkv-patch-{n}")
        result = aiglabel.label(path, None, rec, in_place=True)
        assert result.patched, n
        assert result.bytes_written < 2048
        data = path.read_bytes()
        check_file(data)
        assert len(data) == len(start)
        assert (_tags_el(data).offset, len(_tags_el(data).raw)) == tags
        assert [s for s in simple_tags(data) if not is_label(s)] == others
        assert [lb.record for lb in aiglabel.read_labels(path)] == [rec]
        assert aiglabel.inspect(path).status == "compliant"
        with av.open(io.BytesIO(data)) as container:
            assert container.metadata["AIGC"] == rec.to_json()
    assert decoded_av_frames(path.read_bytes()) == decoded_av_frames(original)


def test_a_void_in_unlabelled_tags_becomes_a_new_global_tag() -> None:
    from aiglabel._patch import simulate

    data = (MEDIA / "mkv" / "padded-label.mkv").read_bytes()
    kids = children(data, _tags_el(data).data_offset, _tags_el(data).end)
    label_tag = next(k for k in kids if k.id == TAG and is_label(k.raw))
    # The labelled Tag voided in place: [track Tags][Void][Void 1 KiB], no label left.
    data = (data[: label_tag.offset] + _ebml.void(len(label_tag.raw))
            + data[label_tag.end :])
    assert H.labels(data) == []
    plan = H.codec().plan_patch(Source.from_bytes(data), REC)
    assert plan is not None
    assert len(plan.switch[1]) <= 10
    for k in range(len(plan.steps) + 1):
        state = simulate(data, plan, k)
        check_file(state)
        assert [lb.record for lb in H.labels(state)] == ([REC] if k > len(plan.prepare) else [])
    with av.open(io.BytesIO(simulate(data, plan))) as container:
        assert container.metadata["AIGC"] == REC.to_json()


def test_patch_refused_where_it_cannot_be_crash_safe() -> None:
    ffmpeg_made = (MEDIA / "mkv" / "old-label.mkv").read_bytes()  # Tags has a CRC-32, no Void
    assert H.codec().plan_patch(Source.from_bytes(ffmpeg_made), REC) is None
    assert H.codec().plan_patch(Source.from_bytes(
        (MEDIA / "mkv" / "live.mkv").read_bytes()), REC) is None  # no Tags at all


# --- header-only reading ----------------------------------------------------------------------


def test_reading_a_sparse_gigabyte_file_reads_headers_only(tmp_path: Path) -> None:
    small = H.write((MEDIA / "mkv" / "live.mkv").read_bytes(), REC)
    seg, top = segment(small)
    tags = top[-1]
    assert tags.id == TAGS
    cluster = _ebml.encode_id(CLUSTER) + _ebml.encode_size(1 << 30, 8)
    path = tmp_path / "big.mkv"
    with open(path, "wb") as f:
        f.write(small[: tags.offset] + cluster)
        f.seek(1 << 30, 1)
        f.write(tags.raw)
    with open(path, "rb") as f:
        src = Source(f, name=str(path))
        assert [lb.record for lb in H.codec().read_labels(src)] == [REC]
        assert src.size > 1 << 30
        assert src.bytes_read < 64 * 1024, src.bytes_read


# --- hostile input ----------------------------------------------------------------------------


def _bad(data: bytes, limits: Limits | None = None) -> AiglabelError:
    src = Source(io.BytesIO(data), name="bad.mkv", limits=limits or Limits())
    with pytest.raises(AiglabelError) as info:
        H.codec().read_labels(src)
    return info.value


@pytest.mark.parametrize("cut", [3, 10, 50, 300, 1000])
def test_truncated_files_raise_corrupt(cut: int) -> None:
    data = (MEDIA / "mkv" / "plain.mkv").read_bytes()
    assert isinstance(_bad(data[:cut]), CorruptFileError)


def test_huge_sizes_and_bad_ids_raise_corrupt() -> None:
    huge_tags = _tiny(_ebml.encode_id(TAGS) + _ebml.encode_size(1 << 40, 8) + b"\0" * 16, 8)
    assert "runs past" in str(_bad(huge_tags))
    bad_id = _tiny(b"\x00\x81\x00", 1)
    assert isinstance(_bad(bad_id), CorruptFileError)
    unknown_tags = _tiny(_ebml.encode_id(TAGS) + b"\xff" + _ebml.element(TAG, b""), 8)
    assert "unknown size" in str(_bad(unknown_tags))
    wrong_doctype = (_ebml.element(_ebml.EBML, _ebml.element(0x4282, b"notmkv"))
                     + _ebml.element(SEGMENT, b""))
    with pytest.raises(aiglabel.UnsupportedFormatError):
        aiglabel.read_labels(wrong_doctype)


def test_element_count_and_depth_limits() -> None:
    voids = b"".join(_ebml.void(2) for _ in range(50))
    err = _bad(_tiny(voids, 8), Limits(max_items=20))
    assert isinstance(err, LimitExceededError)
    # SimpleTags nested 40 deep: metadata() stops at max_depth instead of recursing on.
    inner = _ebml.element(TAG_NAME, b"X") + _ebml.element(TAG_STRING, b"v")
    for _ in range(40):
        inner = _ebml.element(SIMPLE_TAG, _ebml.element(TAG_NAME, b"N")
                              + _ebml.element(TAG_STRING, b"v") + inner)
    tags = _ebml.element(TAGS, _ebml.element(TAG, _ebml.element(0x63C0, b"") + inner))
    data = _tiny(tags, 8)
    src = Source(io.BytesIO(data), limits=Limits(max_depth=8))
    items = H.codec().metadata(src)
    assert 0 < len(items) <= 9
    assert H.labels(data) == []


def test_garbage_after_the_magic_is_an_error_not_a_crash() -> None:
    for tail in (b"", b"\xff" * 40, bytes(range(256)), b"\x80" * 3):
        with pytest.raises(AiglabelError):
            aiglabel.label_bytes(b"\x1a\x45\xdf\xa3" + tail, REC)


# --- interop ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain.mkv", "plain.webm", "tags.mkv"])
def test_we_read_labels_ffmpeg_wrote(name: str, tmp_path: Path) -> None:
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    dst = tmp_path / name
    proc = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(MEDIA / "mkv" / name), "-metadata",
         f"AIGC={REC.to_json()}", "-c", "copy", str(dst)],
        capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    inspection = aiglabel.inspect(dst)
    assert [lb.record for lb in inspection.labels] == [REC]
    assert inspection.status == "compliant"


def test_exiftool_reads_the_tag(exiftool: str, tmp_path: Path) -> None:
    """ExifTool reads Matroska up to the first Cluster (newer versions also follow a SeekHead
    entry for a Tags element after it; 12.57 does not), and everything with -ee: a label in
    padding before the Clusters is seen at once, an appended one at least with -ee."""
    front = tmp_path / "front.mkv"
    front.write_bytes(H.write((MEDIA / "mkv" / "cues-front.mkv").read_bytes(), REC))
    end = tmp_path / "end.mkv"
    end.write_bytes(H.write((MEDIA / "mkv" / "plain.mkv").read_bytes(), REC))

    def read(*args: str) -> list[dict[str, object]]:
        out = subprocess.run([exiftool, "-j", "-G1", "-Matroska:all", *args],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        rows: list[dict[str, object]] = json.loads(out)
        return rows

    first, last = read(str(front), str(end))
    assert first["Matroska:Aigc"] == REC.to_json()
    assert last.get("Matroska:Aigc") in (None, REC.to_json())  # version-dependent
    (last,) = read("-ee", str(end))
    assert last["Matroska:Aigc"] == REC.to_json()
