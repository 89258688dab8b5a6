"""AVI codec: LIST INFO AIGC entry, JUNK padding, indexes never move, hostile input."""

from __future__ import annotations

import io
import struct
import subprocess
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, CodecHarness, decoded_av_frames, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs import _riff
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
)

if TYPE_CHECKING:
    from pathlib import Path

av = pytest.importorskip("av")

H = CodecHarness("avi")
REC = record("avi-1")
FIXTURES = sorted((MEDIA / "avi").iterdir())


# --- an independent, strict RIFF reader ------------------------------------------------------


def chunks(data: bytes, start: int, end: int) -> list[tuple[int, bytes, bytes, bytes]]:
    """(offset, FourCC, list type or b"", payload) in [start, end); every odd chunk padded."""
    out, pos = [], start
    while pos < end:
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        payload = data[pos + 8 : pos + 8 + size]
        assert len(payload) == size
        kind = payload[:4] if fourcc in (b"LIST", b"RIFF") else b""
        out.append((pos, fourcc, kind, payload))
        pos += 8 + size + (size & 1)
    assert pos == end, (pos, end)
    return out


def top(data: bytes) -> list[tuple[int, bytes, bytes, bytes]]:
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"AVI "
    end = 8 + struct.unpack("<I", data[4:8])[0]
    assert end <= len(data)
    return chunks(data, 12, end)


def info_entries(data: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    for off, _, kind, payload in top(data):
        if kind == b"INFO":
            out += [(c[1], c[3]) for c in chunks(data, off + 12, off + 8 + len(payload))]
    return out


def check_idx1(data: bytes) -> None:
    """Every idx1 entry points at a chunk with its id (movi-relative or absolute offsets)."""
    layout = top(data)
    (movi,) = [c for c in layout if c[2] == b"movi"]
    (idx1,) = [c for c in layout if c[1] == b"idx1"]
    payload = idx1[3]
    for k in range(0, len(payload), 16):
        ckid, _, offset, size = struct.unpack("<4sIII", payload[k : k + 16])
        for base in (movi[0] + 8, 0):  # relative to the 'movi' FourCC, or absolute
            at = base + offset
            if data[at : at + 4] == ckid and struct.unpack("<I", data[at + 4 : at + 8])[0] == size:
                break
        else:
            msg = f"idx1 entry {k // 16} ({ckid!r} at {offset}) points nowhere"
            raise AssertionError(msg)


def fixed(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, bytes) of hdrl, movi and idx1: these never move."""
    return [(off, data[off : off + 8 + len(p)]) for off, f, kind, p in top(data)
            if kind in (b"hdrl", b"movi") or f == b"idx1"]


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_write_is_lossless_and_moves_nothing(path: Path) -> None:
    data = path.read_bytes()
    out = H.write(data, REC)
    assert fixed(out) == fixed(data)
    check_idx1(out)
    entries = info_entries(out)
    assert [v for k, v in entries if k == b"AIGC"] == [REC.to_json().encode() + b"\0"]
    assert [e for e in entries if e[0] != b"AIGC"] == [
        e for e in info_entries(data) if e[0] != b"AIGC"]
    assert decoded_av_frames(out) == decoded_av_frames(data)
    with av.open(io.BytesIO(out)) as container:
        assert container.metadata["AIGC"] == REC.to_json()
        stream = container.streams.video[0]
        container.seek(int(1.5 / stream.time_base), stream=stream)
        assert next(container.decode(stream)).time is not None


def test_junk_before_movi_takes_the_label_without_growing_the_file() -> None:
    data = (MEDIA / "avi" / "plain.avi").read_bytes()
    out = H.write(data, REC)
    assert len(out) == len(data)
    kinds = [(f, kind) for _, f, kind, _ in top(out)]
    assert kinds.index((b"LIST", b"INFO")) < kinds.index((b"LIST", b"movi"))
    assert H.write(out, REC) == out
    assert len(H.write(out, record("avi-2"))) == len(data)


def test_without_room_the_list_is_appended_after_idx1() -> None:
    data = (MEDIA / "avi" / "no-junk.avi").read_bytes()
    out = H.write(data, REC)
    assert out[8 : len(data)] == data[8:]
    layout = top(out)
    assert [(f, kind) for _, f, kind, _ in layout][-2:] == [(b"idx1", b""), (b"LIST", b"INFO")]
    assert H.write(out, REC) == out


def test_tight_room_pads_the_value_with_nuls() -> None:
    """A gap of 2-6 bytes cannot hold a JUNK header: the value gets extra NULs instead."""
    data = (MEDIA / "avi" / "old-label.avi").read_bytes()

    def chunk_total(value: bytes) -> int:
        return 8 + (len(value) + 1) // 2 * 2

    old = chunk_total(next(v for k, v in info_entries(data) if k == b"AIGC"))
    junk = 8 + next(len(p) for _, f, _, p in top(data) if f == b"JUNK")
    # A ProduceID whose label leaves exactly 4 bytes of the JUNK chunk free.
    long_rec = next(r for r in (record("avi-" + "x" * n) for n in range(2000))
                    if chunk_total(r.to_json().encode() + b"\0") == old + junk - 4)
    out = H.write(data, long_rec)
    assert len(out) == len(data)
    value = next(v for k, v in info_entries(out) if k == b"AIGC")
    assert value.rstrip(b"\0") == long_rec.to_json().encode()
    assert len(value) - len(value.rstrip(b"\0")) > 1
    assert [lb.record for lb in H.labels(out)] == [long_rec]
    assert H.write(out, long_rec) == out


def test_absolute_idx1_and_opendml_offsets_stay_valid() -> None:
    data = bytearray((MEDIA / "avi" / "plain.avi").read_bytes())
    layout = top(bytes(data))
    movi = next(c for c in layout if c[2] == b"movi")
    idx1 = next(c for c in layout if c[1] == b"idx1")
    for k in range(idx1[0] + 8, idx1[0] + 8 + len(idx1[3]), 16):  # make idx1 absolute
        (rel,) = struct.unpack("<I", data[k + 8 : k + 12])
        data[k + 8 : k + 12] = struct.pack("<I", rel + movi[0] + 8)
    # Turn the first strl's indx placeholder into an OpenDML super index whose one entry
    # holds an absolute qwOffset (here: of the idx1 chunk).
    junk_at = bytes(data).index(b"JUNK", 100)
    data[junk_at : junk_at + 4] = b"indx"
    entry = junk_at + 8 + 24
    data[junk_at + 12 : junk_at + 16] = struct.pack("<I", 1)  # nEntriesInUse
    data[entry : entry + 16] = struct.pack("<QII", idx1[0], 8 + len(idx1[3]), 16)
    check_idx1(bytes(data))
    out = H.write(bytes(data), REC)
    check_idx1(out)
    qw = struct.unpack("<Q", out[entry : entry + 8])[0]
    assert out[qw : qw + 4] == b"idx1"
    assert decoded_av_frames(out) == decoded_av_frames(bytes(data))


def test_avix_forms_are_kept_and_block_appending() -> None:
    avix = _riff.make_chunk(b"RIFF", b"AVIX" + _riff.make_chunk(b"LIST", b"movi"))
    plain = (MEDIA / "avi" / "plain.avi").read_bytes() + avix
    out = H.write(plain, REC)
    assert out.endswith(avix)
    assert len(out) == len(plain)
    tight = (MEDIA / "avi" / "no-junk.avi").read_bytes() + avix
    with pytest.raises(CarrierUnsupportedError, match="AVIX"):
        H.write(tight, REC)
    assert H.essence(out) == H.essence(plain)


def test_duplicates_in_hdrl_info_are_reported_and_removed() -> None:
    data = (MEDIA / "avi" / "old-label.avi").read_bytes()
    layout = top(data)
    hdrl = layout[0]
    nested = _riff.make_chunk(b"LIST", b"INFO" + _riff.make_chunk(b"AIGC", b"{}\0")
                              + _riff.make_chunk(b"ISFT", b"x\0"))
    payload = hdrl[3] + nested
    new_hdrl = _riff.make_chunk(b"LIST", payload)
    body = data[12 : hdrl[0]] + new_hdrl + data[hdrl[0] + 8 + len(hdrl[3]) :]
    two = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"AVI " + body
    inspection = aiglabel.inspect(two)
    assert len(inspection.labels) == 2
    assert "G4.multiple-labels" in {f.code for f in inspection.findings}
    out = H.write(two, REC)
    assert [lb.record for lb in H.labels(out)] == [REC]
    assert len(out) == len(two)
    assert b"ISFT" in out[hdrl[0] : hdrl[0] + len(new_hdrl)]
    assert b"{}" not in out[hdrl[0] : hdrl[0] + len(new_hdrl)]


def test_metadata_lists_info_entries() -> None:
    data = (MEDIA / "avi" / "info.avi").read_bytes()
    items = {m.key: m.value for m in H.codec().metadata(Source.from_bytes(data))}
    assert items["INAM"] == "fixture clip"
    assert items["IART"] == "aiglabel fixtures"


def test_reading_a_sparse_gigabyte_file_reads_headers_only(tmp_path: Path) -> None:
    small = H.write((MEDIA / "avi" / "plain.avi").read_bytes(), REC)
    layout = top(small)
    movi = next(c for c in layout if c[2] == b"movi")
    head = small[: movi[0]]
    size = 1 << 30
    path = tmp_path / "big.avi"
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(head) - 8 + 12 + size) + head[8:])
        f.write(b"LIST" + struct.pack("<I", size + 4) + b"movi")
        f.truncate(len(head) + 12 + size)
    with open(path, "rb") as f:
        src = Source(f, name=str(path))
        assert [lb.record for lb in H.codec().read_labels(src)] == [REC]
        assert src.bytes_read < 64 * 1024, src.bytes_read


# --- hostile input ----------------------------------------------------------------------------


def _read(data: bytes, limits: Limits | None = None) -> AiglabelError:
    src = Source(io.BytesIO(data), name="bad.avi", limits=limits or Limits())
    with pytest.raises(AiglabelError) as info:
        H.codec().read_labels(src)
    return info.value


@pytest.mark.parametrize("cut", [12, 20, 100, 9000])
def test_truncated_files_raise_corrupt(cut: int) -> None:
    data = (MEDIA / "avi" / "old-label.avi").read_bytes()
    assert isinstance(_read(data[:cut]), CorruptFileError)


def test_huge_sizes_deep_lists_and_many_chunks() -> None:
    def riff(body: bytes) -> bytes:
        return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"AVI " + body

    assert isinstance(_read(riff(b"LIST" + struct.pack("<I", 1 << 31) + b"INFO")),
                      CorruptFileError)
    inner = _riff.make_chunk(b"AIGC", b"{}\0")
    for _ in range(3):
        inner = _riff.make_chunk(b"LIST", b"INFO" + inner)
    assert H.labels(riff(inner)) == []  # INFO lists inside INFO are not label carriers
    many = riff(b"".join(_riff.make_chunk(b"JUNK", b"") for _ in range(50)))
    assert isinstance(_read(many, Limits(max_items=20)), LimitExceededError)
    assert isinstance(_read(riff(b"LI")), CorruptFileError)


def test_garbage_is_an_error_not_a_crash() -> None:
    for tail in (b"", b"\xff" * 40, bytes(range(256))):
        with pytest.raises(AiglabelError):
            aiglabel.label_bytes(b"RIFF\x10\x00\x00\x00AVI " + tail, REC)


# --- crash-safe in-place patches (every crash point: tests/test_patch.py) -------------------


@pytest.mark.parametrize("name", ["plain.avi", "info.avi", "old-label.avi"])
def test_repeated_in_place_patches_use_the_junk_before_movi(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    original = (MEDIA / "avi" / name).read_bytes()
    path.write_bytes(original)
    kept = [e for e in info_entries(original) if e[0] != b"AIGC"]
    patched = []
    for n in range(3):
        rec = record(f"avi-patch-{n}")
        result = aiglabel.label(path, None, rec, in_place=True)
        patched.append(result.patched)
        data = path.read_bytes()
        assert len(data) == len(original)
        assert fixed(data) == fixed(original)
        check_idx1(data)
        entries = info_entries(data)
        assert [v for k, v in entries if k == b"AIGC"] == [rec.to_json().encode() + b"\0"]
        assert [e for e in entries if e[0] != b"AIGC"] == kept
        with av.open(io.BytesIO(data)) as container:
            assert container.metadata["AIGC"] == rec.to_json()
        if result.patched:
            assert result.bytes_written < 4096
    assert patched[0]
    assert decoded_av_frames(path.read_bytes()) == decoded_av_frames(original)


def test_no_junk_means_no_patch_but_a_safe_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "n.avi"
    path.write_bytes((MEDIA / "avi" / "no-junk.avi").read_bytes())
    result = aiglabel.label(path, None, REC, in_place=True)
    assert not result.patched
    assert [lb.record for lb in aiglabel.read_labels(path)] == [REC]


# --- interop ----------------------------------------------------------------------------------


def test_stock_ffmpeg_cannot_write_the_aigc_chunk(tmp_path: Path) -> None:
    """Rules §C.2/§G pitfall: ``ffmpeg -metadata AIGC=...`` silently writes no INFO AIGC."""
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    dst = tmp_path / "ff.avi"
    proc = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(MEDIA / "avi" / "plain.avi"), "-metadata",
         f"AIGC={REC.to_json()}", "-c", "copy", str(dst)],
        capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert aiglabel.read_labels(dst) == []


@pytest.mark.parametrize("name", ["plain.avi", "no-junk.avi"])
def test_exiftool_reads_the_info_entry(exiftool: str, name: str, tmp_path: Path) -> None:
    """ExifTool has no name for INFO ``AIGC``: it shows ``RIFF:Unknown_AIGC`` with -u, as
    binary, NUL included; it reads the list before ``movi`` and after ``idx1``."""
    dst = tmp_path / name
    dst.write_bytes(H.write((MEDIA / "avi" / name).read_bytes(), REC))
    value = subprocess.run([exiftool, "-u", "-b", "-RIFF:Unknown_AIGC", str(dst)],
                           capture_output=True, check=True, timeout=60).stdout
    assert value.rstrip(b"\0") == REC.to_json().encode()
