"""FLV codec: onMetaData AIGC property, tag sizes, shifted keyframe offsets, hostile input."""

from __future__ import annotations

import io
import json
import struct
import subprocess
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, CodecHarness, decoded_av_frames, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs import flv
from aiglabel.errors import AiglabelError, CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from pathlib import Path

av = pytest.importorskip("av")

H = CodecHarness("flv")
REC = record("flv-1")
FIXTURES = sorted((MEDIA / "flv").iterdir())


# --- an independent, strict FLV / AMF0 reader ------------------------------------------------


def tags(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, type, data) of every tag; every size and PreviousTagSize must agree."""
    assert data[:4] == b"FLV\x01"
    pos = struct.unpack(">I", data[5:9])[0]
    assert data[pos : pos + 4] == b"\0\0\0\0"
    pos += 4
    out = []
    while pos < len(data):
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        body = data[pos + 11 : pos + 11 + size]
        assert len(body) == size, f"tag at {pos} truncated"
        prev = struct.unpack(">I", data[pos + 11 + size : pos + 15 + size])[0]
        assert prev == 11 + size, f"PreviousTagSize after the tag at {pos}"
        out.append((pos, data[pos] & 0x1F, body))
        pos += 15 + size
    assert pos == len(data)
    return out


def amf(data: bytes, pos: int) -> tuple[object, int]:
    """Decode one AMF0 value (the types FFmpeg writes); return it and the end offset."""
    marker = data[pos]
    if marker == 0:
        return struct.unpack(">d", data[pos + 1 : pos + 9])[0], pos + 9
    if marker == 1:
        return bool(data[pos + 1]), pos + 2
    if marker == 2:
        n = struct.unpack(">H", data[pos + 1 : pos + 3])[0]
        return data[pos + 3 : pos + 3 + n].decode(), pos + 3 + n
    if marker == 12:
        n = struct.unpack(">I", data[pos + 1 : pos + 5])[0]
        return data[pos + 5 : pos + 5 + n].decode(), pos + 5 + n
    if marker in (3, 8):
        props, pos = [], pos + (5 if marker == 8 else 1)
        while data[pos : pos + 3] != b"\0\0\x09":
            n = struct.unpack(">H", data[pos : pos + 2])[0]
            key = data[pos + 2 : pos + 2 + n].decode()
            value, end = amf(data, pos + 2 + n)
            props.append((key, value, data[pos:end]))
            pos = end
        return props, pos + 3
    if marker == 10:
        items, at = [], pos + 5
        for _ in range(struct.unpack(">I", data[pos + 1 : pos + 5])[0]):
            value, at = amf(data, at)
            items.append(value)
        return items, at
    msg = f"marker {marker}"
    raise AssertionError(msg)


def metadata(data: bytes) -> tuple[list[tuple[str, object, bytes]], int | None]:
    """The first tag's onMetaData properties (key, value, raw bytes) and ECMA count."""
    _, kind, body = tags(data)[0]
    assert kind == 18
    name, pos = amf(body, 0)
    assert name == "onMetaData"
    count = struct.unpack(">I", body[pos + 1 : pos + 5])[0] if body[pos] == 8 else None
    props, end = amf(body, pos)
    assert end == len(body)
    assert isinstance(props, list)
    return props, count


def media(data: bytes) -> list[bytes]:
    """Every audio/video tag's header and data (the offsets may move)."""
    return [data[off : off + 11 + len(body)] for off, kind, body in tags(data) if kind in (8, 9)]


OFFSETS = {"filesize", "lastkeyframelocation", "keyframes"}


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_write_is_lossless_and_sizes_are_consistent(path: Path) -> None:
    data = path.read_bytes()
    out = H.write(data, REC)
    tags(data)
    tags(out)  # every data size and PreviousTagSize agrees
    assert out[:13] == data[:13]
    assert media(out) == media(data)
    props, count = metadata(out)
    assert [v for k, v, _ in props if k == "AIGC"] == [REC.to_json()]
    assert count == len(props)
    if tags(data)[0][1] == 18:
        old, _ = metadata(data)
        keep = [(k, raw) for k, _, raw in old if k != "AIGC" and k not in OFFSETS]
        assert [(k, raw) for k, _, raw in props if k != "AIGC" and k not in OFFSETS] == keep
    assert decoded_av_frames(out) == decoded_av_frames(data)
    with av.open(io.BytesIO(out)) as container:
        assert container.metadata["AIGC"] == REC.to_json()


def test_keyframe_offsets_and_filesize_follow_the_growth() -> None:
    data = (MEDIA / "flv" / "keyframes.flv").read_bytes()
    out = H.write(data, REC)
    delta = len(out) - len(data)
    assert delta > 0
    old = {k: v for k, v, _ in metadata(data)[0]}
    new = {k: v for k, v, _ in metadata(out)[0]}
    assert new["filesize"] == len(out)
    assert new["lastkeyframelocation"] == old["lastkeyframelocation"] + delta  # type: ignore[operator]
    keyframes = {k: v for k, v, _ in new["keyframes"]}  # type: ignore[attr-defined]
    positions = keyframes["filepositions"]
    video = {off for off, kind, _ in tags(out) if kind == 9}
    for pos in positions:
        assert int(pos) in video
        assert out[int(pos) + 11] >> 4 == 1  # a key frame
    with av.open(io.BytesIO(out)) as container:
        stream = container.streams.video[0]
        container.seek(int(1.5 / stream.time_base), stream=stream)
        assert next(container.decode(stream)).time is not None
    assert H.write(out, REC) == out


def test_file_without_metadata_gets_a_first_onmetadata_tag() -> None:
    data = (MEDIA / "flv" / "no-metadata.flv").read_bytes()
    out = H.write(data, REC)
    (offset, kind, body), *_ = tags(out)
    assert (offset, kind) == (13, 18)
    assert out[offset + 4 : offset + 11] == bytes(7)  # timestamp 0, stream id 0
    assert out[offset + 15 + len(body) :] == data[13:]
    assert metadata(out)[1] == 1


def test_object_form_and_long_string_are_read_and_replaced() -> None:
    data = (MEDIA / "flv" / "no-metadata.flv").read_bytes()
    value = REC.to_json().encode()
    body = (flv.amf_string(b"onMetaData") + b"\x03" + b"\x00\x05title" + flv.amf_string(b"t")
            + b"\x00\x04AIGC\x0c" + struct.pack(">I", len(value)) + value + b"\0\0\x09")
    tag = b"\x12" + len(body).to_bytes(3, "big") + bytes(7) + body + struct.pack(">I",
                                                                               11 + len(body))
    crafted = data[:13] + tag + data[13:]
    (found,) = H.labels(crafted)
    assert found.record == REC
    out = H.write(crafted, record("flv-2"))
    props, count = metadata(out)
    assert count is None  # still an object
    assert [(k, v) for k, v, _ in props] == [("title", "t"), ("AIGC", record("flv-2").to_json())]


def test_amf_strings_switch_to_long_strings_above_65535_bytes() -> None:
    assert flv.amf_string(b"ab") == b"\x02\x00\x02ab"
    long = flv.amf_string(b"a" * 65536)
    assert long[:5] == b"\x0c\x00\x01\x00\x00"
    assert len(long) == 5 + 65536


def test_duplicates_are_reported_and_collapsed() -> None:
    one = H.write((MEDIA / "flv" / "old-label.flv").read_bytes(), REC)
    (offset, _, body), *_ = tags(one)
    second = one[offset : offset + 15 + len(body)]
    two = one[:offset] + second + one[offset:]
    inspection = aiglabel.inspect(two)
    assert len(inspection.labels) == 2
    assert "G4.multiple-labels" in {f.code for f in inspection.findings}
    out = H.write(two, record("flv-3"))
    assert [lb.record for lb in H.labels(out)] == [record("flv-3")]
    assert tags(out)[1][1] == 18
    props, _ = amf(tags(out)[1][2], 13)
    assert isinstance(props, list)
    assert "AIGC" not in [k for k, _, _ in props]


def test_metadata_exposes_encoder_strings() -> None:
    data = (MEDIA / "flv" / "meta.flv").read_bytes()
    items = {m.key: m.value for m in H.codec().metadata(Source.from_bytes(data))}
    assert items["title"] == "fixture clip"
    assert items["artist"] == "aiglabel fixtures"


def test_reading_a_sparse_gigabyte_file_reads_headers_only(tmp_path: Path) -> None:
    small = H.write((MEDIA / "flv" / "plain.flv").read_bytes(), REC)
    first_media = next(off for off, kind, _ in tags(small) if kind in (8, 9))
    path = tmp_path / "big.flv"
    with open(path, "wb") as f:
        f.write(small)
        f.truncate(len(small) + (1 << 30))
    with open(path, "rb") as f:
        src = Source(f, name=str(path))
        assert [lb.record for lb in H.codec().read_labels(src)] == [REC]
        assert src.bytes_read < first_media + 4096, src.bytes_read


# --- hostile input ----------------------------------------------------------------------------


def _read(data: bytes, limits: Limits | None = None) -> AiglabelError:
    src = Source(io.BytesIO(data), name="bad.flv", limits=limits or Limits())
    with pytest.raises(AiglabelError) as info:
        H.codec().read_labels(src)
    return info.value


def _script(body: bytes) -> bytes:
    header = b"FLV\x01\x05" + struct.pack(">I", 9) + bytes(4)
    return (header + b"\x12" + len(body).to_bytes(3, "big") + bytes(7) + body
            + struct.pack(">I", 11 + len(body)))


@pytest.mark.parametrize("cut", [5, 12, 20, 100, 300])
def test_truncated_files_raise_corrupt(cut: int) -> None:
    data = (MEDIA / "flv" / "old-label.flv").read_bytes()
    assert isinstance(_read(data[:cut]), CorruptFileError)


def test_bad_amf_and_sizes_raise_not_crash() -> None:
    name = flv.amf_string(b"onMetaData")
    assert isinstance(_read(_script(name + b"\x08" + bytes(4) + b"\x00\x04AIGC\x11")),
                      CorruptFileError)  # AMF3 switch marker: unsupported
    assert isinstance(_read(_script(name + b"\x08" + bytes(4) + b"\x00\x04AIGC\x02\xff\xff")),
                      CorruptFileError)  # string runs past the data
    huge = (b"FLV\x01\x05" + struct.pack(">I", 9) + bytes(4) + b"\x12\xff\xff\xff" + bytes(7))
    assert "truncated" in str(_read(huge))
    bad_header = b"FLV\x01\x05" + struct.pack(">I", 1 << 30) + bytes(8)
    assert isinstance(_read(bad_header), CorruptFileError)


def test_depth_and_item_limits() -> None:
    name = flv.amf_string(b"onMetaData")
    deep = b"".join(b"\x00\x01k\x03" for _ in range(60))
    body = name + b"\x03" + deep + b"\0\0\x09" * 61
    assert isinstance(_read(_script(body)), LimitExceededError)
    many = name + b"\x08" + struct.pack(">I", 1) + b"\x00\x01k\x0a" + struct.pack(">I", 500)
    err = _read(_script(many + b"\x05" * 500 + b"\0\0\x09"), Limits(max_items=100))
    assert isinstance(err, LimitExceededError)


def test_garbage_is_an_error_not_a_crash() -> None:
    for tail in (b"", b"\xff" * 40, bytes(range(256))):
        with pytest.raises(AiglabelError):
            aiglabel.label_bytes(b"FLV\x01" + tail, REC)


# --- interop ----------------------------------------------------------------------------------


def test_we_read_labels_ffmpeg_wrote(tmp_path: Path) -> None:
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    dst = tmp_path / "ff.flv"
    proc = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(MEDIA / "flv" / "meta.flv"), "-metadata",
         f"AIGC={REC.to_json()}", "-c", "copy", str(dst)],
        capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    inspection = aiglabel.inspect(dst)
    assert [lb.record for lb in inspection.labels] == [REC]
    assert inspection.status == "compliant"


def test_exiftool_reads_the_property(exiftool: str, tmp_path: Path) -> None:
    paths = []
    for name in ("plain.flv", "no-metadata.flv", "keyframes.flv"):
        dst = tmp_path / name
        dst.write_bytes(H.write((MEDIA / "flv" / name).read_bytes(), REC))
        paths.append(str(dst))
    out = subprocess.run([exiftool, "-j", "-G1", "-Flash:AIGC", "-Warning", *paths],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    rows = json.loads(out)
    assert [r.get("Flash:AIGC") for r in rows] == [REC.to_json()] * 3
    assert not any("ExifTool:Warning" in r for r in rows)
