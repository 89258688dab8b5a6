"""WAV codec: the ``AIGC`` chunk before ``data``, LIST/INFO and ID3-chunk labels, RF64, RIFF
sizes and padding, hostile input, header-only reads, and interop with mutagen, ExifTool and
PyAV."""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import subprocess
from typing import TYPE_CHECKING

import mutagen.id3
import mutagen.wave
import pytest
from tests.conftest import MEDIA, CodecHarness, decoded_frames, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs import wav
from aiglabel.codecs.base import Confidence
from aiglabel.errors import CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import ModuleType


def _load_make() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fixture_make_audio", MEDIA / "make_audio.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _load_make()
FIX = MEDIA / "wav"
H = CodecHarness("wav")
REC = record("wav-test")
OLD = make.OLD_LABEL_JSON
chunk = make.chunk
riff = make.riff
FMT = make.FMT
DATA = chunk(b"data", make.pcm16(0.1))


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """An independent strict parser: RIFF size exact, every odd chunk padded with a zero."""
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    out: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos < len(data):
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        out.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size
        if size % 2:
            assert data[pos : pos + 1] == b"\x00"
            pos += 1
    assert pos == len(data)
    return out


def fourccs(data: bytes) -> list[bytes]:
    return [f for f, _ in chunks(data)]


def payload(data: bytes, fourcc: bytes) -> bytes:
    (found,) = [p for f, p in chunks(data) if f == fourcc]
    return found


def info_entries(list_payload: bytes) -> list[tuple[bytes, bytes]]:
    """The entries of a LIST/INFO payload, parsed as strictly as :func:`chunks`."""
    assert list_payload[:4] == b"INFO"
    return chunks(riff([list_payload[4:]]))


# --- identification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", Confidence.STRONG),
        (b"RF64\xff\xff\xff\xffWAVEds64", Confidence.STRONG),
        (b"BW64\xff\xff\xff\xffWAVEds64", Confidence.STRONG),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", Confidence.NO),
        (b"RIFF\x24\x00\x00\x00AVI LIST", Confidence.NO),
        (b"RIFF\x24\x00", Confidence.NO),
    ],
)
def test_sniff(head: bytes, expected: Confidence) -> None:
    assert H.codec().sniff(head) == expected


# --- the primary carrier ------------------------------------------------------------------------


def test_aigc_chunk_goes_right_before_data() -> None:
    data = fixture("info-id3.wav")
    out = H.write(data, REC)
    assert fourccs(out) == [b"fmt ", b"LIST", b"AIGC", b"data", b"id3 "]
    label = REC.to_json().encode()
    assert payload(out, b"AIGC") == label
    raw = out[out.index(b"AIGC") : out.index(b"data")]
    assert raw == b"AIGC" + struct.pack("<I", len(label)) + label + b"\x00" * (len(label) % 2)
    others = [c for c in chunks(out) if c[0] != b"AIGC"]
    assert others == chunks(data)
    (found,) = H.labels(out)
    assert (found.carrier, found.record, found.form) == (wav.PRIMARY, REC, "bare")


@pytest.mark.parametrize("odd", [True, False])
def test_label_padded_to_even_length(odd: bool) -> None:
    rec = record("wav-x" if odd else "wav-xy")
    size = len(rec.to_json())
    out = H.write(fixture("plain.wav"), rec)
    pos = out.index(b"AIGC")
    assert struct.unpack("<I", out[pos + 4 : pos + 8])[0] == size  # pad byte not counted
    if size % 2:
        assert out[pos + 8 + size] == 0
    assert out[pos + 8 + size + size % 2 :].startswith(b"data")
    assert [lb.raw for lb in H.labels(out)] == [rec.to_json()]


def test_existing_aigc_chunk_replaced_where_it_is() -> None:
    after_data = riff([FMT, DATA, chunk(b"AIGC", OLD.encode())])
    out = H.write(after_data, REC)
    assert fourccs(out) == [b"fmt ", b"data", b"AIGC"]
    assert payload(out, b"AIGC") == REC.to_json().encode()
    findings = H.codec().container_findings(Source.from_bytes(out))
    assert any("after the data chunk" in f.message for f in findings)
    old = fixture("old-label.wav")
    assert fourccs(H.write(old, REC)) == fourccs(old) == [b"fmt ", b"AIGC", b"data"]


def test_duplicate_aigc_chunks_collapse() -> None:
    data = riff([FMT, chunk(b"AIGC", OLD.encode()), DATA, chunk(b"AIGC", OLD.encode() + b"\0")])
    assert len(H.labels(data)) == 2
    assert "G4.multiple-labels" in {f.code for f in aiglabel.inspect(data).findings}
    out = H.write(data, REC)
    assert fourccs(out) == [b"fmt ", b"AIGC", b"data"]
    assert [lb.record for lb in H.labels(out)] == [REC]


def test_odd_chunk_keeps_its_pad_byte() -> None:
    data = fixture("odd-chunk.wav")
    out = H.write(data, REC)
    assert (b"note", b"fixture") in chunks(out)
    assert b"note\x07\x00\x00\x00fixture\x00AIGC" in out


def test_missing_pad_of_the_last_chunk_is_added() -> None:
    body = b"WAVE" + FMT + DATA + b"odd!" + struct.pack("<I", 3) + b"abc"
    data = b"RIFF" + struct.pack("<I", len(body)) + body  # last chunk odd, no pad byte
    findings = H.codec().container_findings(Source.from_bytes(data))
    assert any("pad byte" in f.message for f in findings)
    out = H.write(data, REC)
    assert chunks(out)[-1] == (b"odd!", b"abc")


def test_bytes_after_the_riff_form_are_kept() -> None:
    data = fixture("plain.wav") + b"trailing garbage"
    out = H.write(data, REC)
    assert out.endswith(b"trailing garbage")
    assert struct.unpack("<I", out[4:8])[0] == len(out) - 8 - len(b"trailing garbage")


# --- other carriers (GB 6.1 c) ------------------------------------------------------------------


def test_list_info_label_read_and_removed() -> None:
    data = fixture("info-label.wav")
    (found,) = H.labels(data)
    assert found.carrier == "wav:LIST:INFO:AIGC"
    assert found.raw == OLD  # trailing NUL stripped
    result = aiglabel.label_stream(io.BytesIO(data), io.BytesIO(), REC)
    assert result.removed == ("wav:LIST:INFO:AIGC",)
    out = H.write(data, REC)
    assert fourccs(out) == [b"fmt ", b"LIST", b"AIGC", b"data"]
    assert info_entries(payload(out, b"LIST")) == [(b"ISFT", b"fixture maker 1.0\x00")]
    assert [lb.carrier for lb in H.labels(out)] == [wav.PRIMARY]


def test_list_left_empty_is_dropped() -> None:
    only = chunk(b"LIST", b"INFO" + chunk(b"AIGC", OLD.encode() + b"\x00"))
    out = H.write(riff([FMT, only, DATA]), REC)
    assert fourccs(out) == [b"fmt ", b"AIGC", b"data"]


def test_id3_chunk_label_read_and_removed() -> None:
    data = fixture("id3-label.wav")
    (found,) = H.labels(data)
    assert found.carrier == "wav:id3:TXXX:AIGC"
    out = H.write(data, REC)
    assert fourccs(out) == [b"fmt ", b"AIGC", b"data", b"id3 "]
    assert len(payload(out, b"id3 ")) == len(payload(data, b"id3 "))  # the tag keeps its size
    tags = mutagen.wave.WAVE(io.BytesIO(out)).tags  # type: ignore[no-untyped-call]
    assert tags is not None
    assert sorted(tags.keys()) == ["TIT2"]
    assert [lb.carrier for lb in H.labels(out)] == [wav.PRIMARY]


def test_id3_chunk_left_empty_is_dropped() -> None:
    id3 = chunk(b"id3 ", make.id3_tag(3, [make.txxx("AIGC", OLD, 3)], padding=10))
    out = H.write(riff([FMT, DATA, id3]), REC)
    assert fourccs(out) == [b"fmt ", b"AIGC", b"data"]


def test_damaged_id3_chunk_is_tolerated_and_copied() -> None:
    bad_id3 = chunk(b"id3 ", b"ID3\x04\x00\x00\x00\x00\x01\x00" + b"TIT2" + bytes(20))
    data = riff([FMT, DATA, bad_id3])
    assert H.labels(data) == []
    findings = H.codec().container_findings(Source.from_bytes(data))
    assert any("not readable as an ID3v2 tag" in f.message for f in findings)
    out = H.write(data, REC)
    assert chunks(out)[-1] == chunks(data)[-1]


# --- RF64 ---------------------------------------------------------------------------------------


def test_rf64_read_and_write_updates_ds64() -> None:
    data = fixture("rf64.wav")
    layout = wav.read_layout(Source.from_bytes(data))
    assert layout.ds64 is not None
    assert [c.fourcc for c in layout.chunks] == [b"ds64", b"fmt ", b"LIST", b"data"]
    assert layout.chunks[-1].size == layout.ds64.data_size == 8000
    out = H.write(data, REC)
    assert out[:12] == b"RF64\xff\xff\xff\xffWAVE"
    riff_size, data_size = struct.unpack("<QQ", out[20:36])
    assert riff_size == len(out) - 8
    assert data_size == 8000
    assert out.index(b"AIGC") < out.index(b"data\xff\xff\xff\xff")
    assert [lb.record for lb in H.labels(out)] == [REC]
    assert H.essence(out) == H.essence(data)
    assert decoded_frames(out) == decoded_frames(data)


# --- tolerance and hostile input ---------------------------------------------------------------


def test_cut_data_chunk_read_but_not_written() -> None:
    data = H.write(fixture("plain.wav"), REC)[:-1000]
    (found,) = H.labels(data)
    assert found.record == REC
    messages = [f.message for f in H.codec().container_findings(Source.from_bytes(data))]
    assert any("RIFF size runs" in m for m in messages)
    assert any("data chunk declares" in m for m in messages)
    with pytest.raises(CorruptFileError, match="truncated"):
        H.write(data, REC)


BAD: dict[str, tuple[bytes, type[Exception], Limits | None]] = {
    "damaged chunk header": (riff([FMT, b"\x00\x01\x02\x03" + bytes(4), DATA]),
                             CorruptFileError, None),
    "chunk past the end": (riff([FMT, b"LIST" + struct.pack("<I", 10**6) + b"INFO", DATA]),
                           CorruptFileError, None),
    "list entry past the list": (riff([FMT, chunk(b"LIST", b"INFO" + b"AIGC"
                                                  + struct.pack("<I", 500) + b"{}"), DATA]),
                                 CorruptFileError, None),
    "stray bytes": (riff([FMT, DATA, b"abc"]), CorruptFileError, None),
    "rf64 without ds64": (b"RF64\xff\xff\xff\xffWAVE" + FMT + DATA, CorruptFileError, None),
    "ds64 table too long": (b"RF64\xff\xff\xff\xffWAVE" + chunk(b"ds64", struct.pack(
        "<QQQI", 100, 10, 5, 1000)) + FMT + DATA, CorruptFileError, None),
    "huge AIGC chunk": (riff([FMT, chunk(b"AIGC", b"{" + bytes(5000) + b"}"), DATA]),
                        LimitExceededError, Limits(max_metadata=1000)),
    "too many chunks": (riff([FMT, *[chunk(b"JUNK", b"ab")] * 10, DATA]), LimitExceededError,
                        Limits(max_items=5)),
    "not wave": (b"RIFF\x04\x00\x00\x00AVI ", CorruptFileError, None),
}
READ_ONLY = {"huge AIGC chunk"}  # a write replaces the old chunk without reading it


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_clean_errors(case: str) -> None:
    data, error, limits = BAD[case]
    codec = H.codec()
    ops: list[Callable[[Source], object]] = [codec.read_labels,
                                             lambda s: codec.plan_write(s, REC)]
    for op in ops[:1] if case in READ_ONLY else ops:
        src = Source.from_bytes(data, "bad.wav")
        if limits is not None:
            src.limits = limits
        with pytest.raises(error) as info:
            op(src)
        assert "\n" not in str(info.value)


def test_no_data_chunk_is_not_written() -> None:
    with pytest.raises(CorruptFileError, match="no data chunk"):
        H.write(riff([FMT]), REC)


# --- metadata and header-only reads -------------------------------------------------------------


def test_metadata_items() -> None:
    items = [(i.carrier, i.key, i.value)
             for i in H.codec().metadata(Source.from_bytes(fixture("info-id3.wav")))]
    assert items == [
        ("wav:LIST:INFO", "INAM", "Fixture tone"),
        ("wav:LIST:INFO", "IART", "aiglabel fixtures"),
        ("wav:LIST:INFO", "ICMT", "a comment"),
        ("wav:LIST:INFO", "ISFT", "fixture maker 1.0"),
        ("wav:id3", "TIT2", "Fixture tone"),
        ("wav:id3", "TPE1", "aiglabel fixtures"),
        ("wav:id3", "COMM", "id3 chunk comment"),
    ]


@pytest.mark.parametrize("label_after_data", [False, True])
def test_sparse_gigabyte_file_reads_headers_only(label_after_data: bool, tmp_path: Path) -> None:
    size = 1 << 30
    label = chunk(b"AIGC", REC.to_json().encode())
    head = riff([FMT])[:12] + FMT + (b"" if label_after_data else label)
    tail = label if label_after_data else b""
    path = tmp_path / "big.wav"
    with path.open("wb") as f:
        f.write(head + b"data" + struct.pack("<I", size))
        f.seek(len(head) + 8 + size)
        f.write(tail)
        total = f.tell()
        f.seek(4)
        f.write(struct.pack("<I", total - 8))
    report = aiglabel.inspect(path)
    assert [lb.record for lb in report.labels] == [REC]
    assert report.bytes_read < 70_000


# --- interop ------------------------------------------------------------------------------------


def test_mutagen_reads_the_id3_chunk_after_our_write(tmp_path: Path) -> None:
    for name in ("info-id3.wav", "id3-label.wav"):
        dst = tmp_path / name
        aiglabel.label(FIX / name, dst, REC)
        before = mutagen.wave.WAVE(FIX / name).tags  # type: ignore[no-untyped-call]
        after = mutagen.wave.WAVE(dst).tags  # type: ignore[no-untyped-call]
        assert dict(after.items()) == {k: v for k, v in before.items() if k != "TXXX:AIGC"}


def test_we_read_labels_mutagen_wrote(tmp_path: Path) -> None:
    path = tmp_path / "mutagen.wav"
    path.write_bytes(fixture("plain.wav"))
    audio = mutagen.wave.WAVE(path)  # type: ignore[no-untyped-call]
    audio.add_tags()
    audio.tags.add(mutagen.id3.TXXX(encoding=3, desc="AIGC", text=[OLD]))  # type: ignore[no-untyped-call]
    audio.save()
    (found,) = aiglabel.read_labels(path)
    assert (found.carrier, found.raw) == ("wav:id3:TXXX:AIGC", OLD)
    aiglabel.label(path, None, REC, in_place=True)
    assert [(lb.carrier, lb.record) for lb in aiglabel.read_labels(path)] == [(wav.PRIMARY, REC)]
    # The id3 chunk held only the label: it is gone, so mutagen finds no ID3 tag at all.
    assert mutagen.wave.WAVE(path).tags is None  # type: ignore[no-untyped-call]
    assert decoded_frames(path.read_bytes()) == decoded_frames(fixture("plain.wav"))


def exiftool_json(exiftool: str, path: Path, *args: str) -> dict[str, object]:
    proc = subprocess.run([exiftool, "-j", "-a", "-G1", *args, str(path)], capture_output=True,
                          text=True, check=True, timeout=60)
    (row,) = json.loads(proc.stdout)
    assert isinstance(row, dict)
    return row


@pytest.mark.interop
@pytest.mark.parametrize("name", sorted(p.name for p in FIX.glob("*.wav")))
def test_exiftool_sees_our_chunk_and_the_rest_unchanged(
    exiftool: str, name: str, tmp_path: Path
) -> None:
    """ExifTool has no tag for the AIGC chunk: with ``-U`` it shows it as ``RIFF:Unknown_AIGC``
    (``-b`` extracts the payload with its pad byte). Everything else it reports is unchanged."""
    dst = tmp_path / name
    aiglabel.label(FIX / name, dst, REC)
    proc = subprocess.run([exiftool, "-U", "-b", "-RIFF:Unknown_AIGC", str(dst)],
                          capture_output=True, check=True, timeout=60)
    assert proc.stdout.rstrip(b"\x00") == REC.to_json().encode()

    def comparable(row: dict[str, object]) -> dict[str, object]:
        volatile = {"System", "File", "ExifTool", "Composite"}
        return {k: v for k, v in row.items() if ":" in k and k.split(":")[0] not in volatile
                and k not in ("RIFF:Unknown_AIGC", "RIFF:RIFFSize64")
                and "AIGC" not in str(v)}

    before = comparable(exiftool_json(exiftool, FIX / name, "-U", "-n"))
    after = comparable(exiftool_json(exiftool, dst, "-U", "-n"))
    assert after == before
