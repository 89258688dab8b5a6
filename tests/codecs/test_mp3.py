"""MP3 codec and the ID3v2 helper: identification, v2.2/2.3/2.4 round trips, padding, unsync,
duplicates, trailers, hostile input, and interop with mutagen (an independent ID3 reader)."""

from __future__ import annotations

import importlib.util
import io
import struct
import zlib
from typing import TYPE_CHECKING, Any

import mutagen.id3
import pytest
from tests.conftest import MEDIA, CodecHarness, decoded_frames, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs import _id3, mp3
from aiglabel.codecs.base import Confidence
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.model import Severity

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
FIX = MEDIA / "mp3"
H = CodecHarness("mp3")
REC = record("mp3-test")
AUDIO = (FIX / "plain.mp3").read_bytes()  # bare MPEG frames, no tag
OLD = make.OLD_LABEL_JSON


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


def tag(major: int, frames: list[bytes], padding: int = 0, *, flags: int = 0,
        ext: bytes = b"") -> bytes:
    """An ID3v2 tag built by hand (independent of src/): header, extended header, frames."""
    body = ext + b"".join(frames)
    if flags & 0x80 and major < 4:
        body = make.unsynchronise(body)
    body += bytes(padding)
    size = make.syncsafe(len(body))
    footer = b"3DI" + bytes([major, 0, flags]) + size if flags & 0x10 else b""
    return b"ID3" + bytes([major, 0, flags]) + size + body + footer


def tag_end(data: bytes) -> int:
    end = 10 + _id3.syncsafe(data[6:10])
    return end + (10 if data[3] == 4 and data[5] & 0x10 else 0)


def parse_frames(data: bytes, *, int_sizes: bool = False) -> list[tuple[bytes, bytes]]:
    """(frame id, raw frame bytes) of the leading v2.3/v2.4 tag (no unsynchronisation);
    ``int_sizes`` reads v2.4 sizes as plain integers."""
    major = data[3]
    assert not data[5] & 0x80 or major == 4
    end = 10 + _id3.syncsafe(data[6:10])
    pos = 10
    out = []
    while pos + 10 <= end and data[pos] != 0:
        raw = data[pos + 4 : pos + 8]
        size = _id3.syncsafe(raw) if major == 4 and not int_sizes else struct.unpack(">I", raw)[0]
        out.append((data[pos : pos + 4], data[pos : pos + 10 + size]))
        pos += 10 + size
    return out


def label_frames(data: bytes) -> list[bytes]:
    return [raw for fid, raw in parse_frames(data) if fid == b"TXXX" and b"AIGC" in raw[:40]]


def mutagen_tag(data: bytes) -> mutagen.id3.ID3:
    return mutagen.id3.ID3(io.BytesIO(data))  # type: ignore[no-untyped-call]


def txxx_values(data: bytes) -> dict[str, list[str]]:
    return {f.desc: list(f.text) for f in mutagen_tag(data).getall("TXXX")}


def confidence(data: bytes) -> Confidence:
    codec = H.codec()
    return codec.confirm(Source.from_bytes(data)) if codec.sniff(data[:65536]) else Confidence.NO


# --- identification -------------------------------------------------------------------------


def adts() -> bytes:
    # ADTS AAC: sync FFF, MPEG-4, layer 00, no CRC; a 7-byte header then payload.
    frame = b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(9)
    return frame * 20


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("id3 + frames", lambda: tag(4, [make.txxx("x", "y", 4)]) + AUDIO, Confidence.STRONG),
        ("id3 + zero padding + frames", lambda: tag(3, [], 0) + bytes(300) + AUDIO,
         Confidence.STRONG),
        ("bare frames", lambda: AUDIO, Confidence.WEAK),
        ("id3 + stray bytes + frames", lambda: tag(3, []) + b"junk" * 25 + AUDIO,
         Confidence.WEAK),
        ("big tag beyond the head", lambda: tag(4, [make.frame("PRIV", bytes(90_000), 4)])
         + AUDIO, Confidence.STRONG),
        ("tag only", lambda: tag(4, [make.text_frame("TIT2", "t", 4)]), Confidence.WEAK),
        ("adts aac", adts, Confidence.NO),
        ("id3 + adts aac", lambda: tag(4, []) + adts(), Confidence.NO),
        ("id3 + flac", lambda: tag(4, [], 100) + b"fLaC" + bytes(200), Confidence.NO),
        ("id3 + riff", lambda: tag(3, []) + b"RIFF" + bytes(200), Confidence.NO),
        ("jpeg", lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(100), Confidence.NO),
        ("text", lambda: b"hello world\n" * 20, Confidence.NO),
        ("one frame header then garbage", lambda: AUDIO[:4] + b"garbage" * 200, Confidence.NO),
        ("bad id3 version", lambda: b"ID3\x07\x00\x00\x00\x00\x00\x00" + AUDIO, Confidence.NO),
    ],
)
def test_identification(name: str, data: Any, expected: Confidence) -> None:
    assert confidence(data()) == expected, name


def test_frame_length_table() -> None:
    assert mp3.frame_length(b"\xff\xfb\x90\x64") == 417  # MPEG-1 L3 128 kbit/s 44.1 kHz
    assert mp3.frame_length(b"\xff\xfb\x92\x64") == 418  # padded
    assert mp3.frame_length(b"\xff\xf3\x40\xc4") == 72_000 * 32 // 22050  # MPEG-2 L3
    assert mp3.frame_length(b"\xff\xe3\x40\xc4") == 72_000 * 32 // 11025  # MPEG-2.5 L3
    assert mp3.frame_length(b"\xff\xfb\x00\x64") == 0  # free format
    for bad in (b"\xff\xfd\x90\x64",  # layer II
                b"\xff\xf1\x50\x80",  # ADTS (layer 00)
                b"\xff\xeb\x90\x64",  # reserved version
                b"\xff\xfb\xf0\x64",  # bitrate 15
                b"\xff\xfb\x9c\x64",  # sampling rate 3
                b"\xff\xfb\x90\x66",  # emphasis 2
                b"\xff\xfb\x90"):
        assert mp3.frame_length(bad) is None, bad.hex()


def test_misnamed_and_unnamed_files_identified() -> None:
    for name in ("x.wav", "noext", "x.mp3"):
        assert aiglabel.detect_format(fixture("old-label.mp3"), name=name) == "mp3"
        assert aiglabel.detect_format(AUDIO, name=name) == "mp3"


# --- round trips ------------------------------------------------------------------------------


def test_new_tag_is_v24_utf8_with_1k_padding() -> None:
    out = H.write(AUDIO, REC)
    assert out[:5] == b"ID3\x04\x00"
    (frame,) = label_frames(out)
    assert frame[10:16] == b"\x03AIGC\x00"  # encoding 3 (UTF-8), description, NUL
    assert frame[16:].decode() == REC.to_json()
    assert tag_end(out) == 10 + len(frame) + _id3.DEFAULT_PADDING
    assert out[tag_end(out) :] == AUDIO
    assert mutagen_tag(out).version == (2, 4, 0)
    assert txxx_values(out) == {"AIGC": [REC.to_json()]}
    assert [lb.carrier for lb in H.labels(out)] == [mp3.PRIMARY]


def test_v23_keeps_version_latin1_and_every_other_frame() -> None:
    data = fixture("id3v23-other.mp3")
    out = H.write(data, REC)
    assert out[3] == 3
    (frame,) = label_frames(out)
    assert frame[10:16] == b"\x00AIGC\x00"  # encoding 0 (ISO-8859-1)
    assert struct.unpack(">I", frame[4:8])[0] == len(frame) - 10  # v2.3: plain u32 size
    assert [f for f in parse_frames(out) if f[1] != frame] == parse_frames(data)
    assert len(out) == len(data)  # 256 bytes of padding had room: nothing moved
    before, after = mutagen_tag(data), mutagen_tag(out)
    assert after.version == (2, 3, 0)
    assert {k: v for k, v in after.items() if k != "TXXX:AIGC"} == dict(before.items())


def test_v24_label_replaced_where_it_was() -> None:
    data = fixture("old-label.mp3")
    out = H.write(data, REC)
    ids = [f[0] for f in parse_frames(out)]
    assert ids == [f[0] for f in parse_frames(data)] == [b"TSSE", b"TXXX", b"TIT2"]
    assert txxx_values(out) == {"AIGC": [REC.to_json()]}
    assert len(out) == len(data)
    assert [lb.record for lb in H.labels(out)] == [REC]


def test_padding_reused_audio_offset_unchanged() -> None:
    data = fixture("id3v24-padding.mp3")
    out = H.write(data, REC)
    assert tag_end(out) == tag_end(data)
    assert out[tag_end(out) :] == data[tag_end(data) :]
    assert H.write(out, REC) == out


def test_tag_without_room_grows_by_the_padding_then_stays() -> None:
    data = tag(4, [make.text_frame("TIT2", "no padding", 4, enc=3)]) + AUDIO
    out = H.write(data, REC)
    frames_len = sum(len(raw) for _, raw in parse_frames(out))
    assert tag_end(out) == 10 + frames_len + _id3.DEFAULT_PADDING
    longer = record("mp3-test", propagator="001191440300MA5G49LC9K2YO01",
                    propagate_id="platform-id-0123456789")
    again = H.write(out, longer)
    assert tag_end(again) == tag_end(out)  # the update fits in the padding
    assert again[tag_end(again) :] == AUDIO
    assert decoded_frames(again) == decoded_frames(data)


def test_unsynchronised_v23_tag_read_and_rewritten_plain() -> None:
    data = fixture("unsync-v23-label.mp3")
    assert data[5] & 0x80
    (found,) = H.labels(data)
    assert found.raw == OLD
    findings = H.codec().container_findings(Source.from_bytes(data))
    assert any("unsynchronised" in f.message and f.severity is Severity.INFO for f in findings)
    out = H.write(data, REC)
    assert not out[5] & 0x80
    before, after = mutagen_tag(data), mutagen_tag(out)
    assert after.getall("PRIV") == before.getall("PRIV")
    assert after.getall("TIT2") == before.getall("TIT2")
    assert txxx_values(out) == {"AIGC": [REC.to_json()]}
    assert out[tag_end(out) :] == data[tag_end(data) :]


def test_v24_header_unsync_flag_kept_and_new_frame_flagged() -> None:
    tit2 = make.text_frame("TIT2", "x", 4, enc=3)
    tit2 = tit2[:8] + b"\x00\x02" + tit2[10:]  # per-frame unsynchronisation flag
    data = tag(4, [tit2], 64, flags=0x80) + AUDIO
    out = H.write(data, REC)
    assert out[5] == 0x80
    (frame,) = label_frames(out)
    assert frame[8:10] == b"\x00\x02"
    assert parse_frames(out)[0][1] == tit2
    assert txxx_values(out) == {"AIGC": [REC.to_json()]}


def test_v22_tag_read_and_written_as_txx() -> None:
    def frame22(fid: bytes, data: bytes) -> bytes:
        return fid + len(data).to_bytes(3, "big") + data

    tt2 = frame22(b"TT2", b"\x00old title")
    old = frame22(b"TXX", b"\x00AIGC\x00" + OLD.encode())
    body = tt2 + old + bytes(40)
    data = b"ID3\x02\x00\x00" + make.syncsafe(len(body)) + body + AUDIO
    (found,) = H.labels(data)
    assert found.carrier == mp3.PRIMARY
    assert found.raw == OLD
    out = H.write(data, REC)
    assert out[3] == 2
    assert out[10 : 10 + len(tt2)] == tt2
    header = b"TXX" + (6 + len(REC.to_json())).to_bytes(3, "big") + b"\x00AIGC\x00"
    assert out[10 + len(tt2) : 10 + len(tt2) + len(header)] == header
    assert txxx_values(out) == {"AIGC": [REC.to_json()]}  # mutagen upgrades v2.2 on load
    findings = H.codec().container_findings(Source.from_bytes(out))
    assert any("ID3v2.2" in f.message for f in findings)


def test_extended_header_dropped_footer_kept() -> None:
    ext = make.syncsafe(6) + b"\x01\x00"  # v2.4 extended header, no flags
    data = tag(4, [make.text_frame("TIT2", "x", 4, enc=3)], flags=0x50, ext=ext) + AUDIO
    assert H.labels(data) == []
    out = H.write(data, REC)
    assert out[5] == 0x10
    end = tag_end(out)
    assert out[end - 10 : end - 7] == b"3DI"
    assert out[end - 7 : end] == out[3:10]
    assert out[end:] == AUDIO
    assert [f[0] for f in parse_frames(out)] == [b"TIT2", b"TXXX"]
    assert mutagen_tag(out).getall("TIT2")[0].text == ["x"]


def test_stray_bytes_after_frames_are_reported_and_dropped() -> None:
    tit2 = make.text_frame("TIT2", "x", 4, enc=3)
    data = tag(4, [tit2, b"tit2-lowercase-junk", bytes(50)]) + AUDIO
    findings = H.codec().container_findings(Source.from_bytes(data))
    assert any("unrecognised bytes" in f.message for f in findings)
    out = H.write(data, REC)
    assert out[10 : tag_end(out)].rstrip(b"\x00") == tit2 + label_frames(out)[0]
    assert H.write(out, REC) == out


def test_itunes_plain_integer_v24_sizes() -> None:
    def int_frame(fid: str, data: bytes) -> bytes:
        return fid.encode() + struct.pack(">I", len(data)) + b"\x00\x00" + data

    long_title = int_frame("TIT2", b"\x03" + b"t" * 300)  # 301 = 00 00 01 2D: not syncsafe
    data = tag(4, [long_title, int_frame("TPE1", b"\x03artist")], 64) + AUDIO
    assert H.labels(data) == []
    findings = H.codec().container_findings(Source.from_bytes(data))
    assert any("plain integers" in f.message for f in findings)
    out = H.write(data, REC)
    ids = [fid for fid, _ in parse_frames(out, int_sizes=True)]
    assert ids == [b"TIT2", b"TPE1", b"TXXX"]
    frame = parse_frames(out, int_sizes=True)[-1][1]
    assert struct.unpack(">I", frame[4:8])[0] == len(frame) - 10  # same convention
    assert [lb.record for lb in H.labels(out)] == [REC]
    tags = mutagen_tag(out)
    assert tags.getall("TIT2")[0].text == ["t" * 300]
    assert txxx_values(out) == {"AIGC": [REC.to_json()]}


# --- GB 6.1 c): duplicates and other carriers --------------------------------------------------


def test_duplicates_reported_and_collapsed() -> None:
    data = tag(4, [make.txxx("AIGC", OLD, 4, enc=3), make.text_frame("TIT2", "t", 4),
                   make.txxx("aigc", OLD, 4, enc=0)], 100) + AUDIO
    labels = H.labels(data)
    assert [lb.carrier for lb in labels] == [mp3.PRIMARY, "mp3:id3v2:TXXX:aigc"]
    report = aiglabel.inspect(data)
    assert {"G4.multiple-labels", "G3.carrier"} & {f.code for f in report.findings}
    result = aiglabel.label_stream(io.BytesIO(data), io.BytesIO(), REC)
    assert result.removed == ("mp3:id3v2:TXXX:aigc",)
    out = H.write(data, REC)
    assert [(lb.carrier, lb.record) for lb in H.labels(out)] == [(mp3.PRIMARY, REC)]
    assert [f[0] for f in parse_frames(out)] == [b"TXXX", b"TIT2"]


@pytest.mark.parametrize("enc", [1, 2])
def test_utf16_labels_read(enc: int) -> None:
    if enc == 1:
        payload = b"\x01" + "AIGC".encode("utf-16") + b"\x00\x00" + OLD.encode("utf-16")
    else:
        payload = b"\x02" + "AIGC".encode("utf-16-be") + b"\x00\x00" + OLD.encode("utf-16-be")
    data = tag(4, [make.frame("TXXX", payload, 4)]) + AUDIO
    (found,) = H.labels(data)
    assert found.raw == OLD
    assert found.record is not None


def test_compressed_and_flagged_frames_read() -> None:
    value = b"\x00AIGC\x00" + OLD.encode()
    packed = zlib.compress(value)
    v23 = b"TXXX" + struct.pack(">I", 4 + len(packed)) + b"\x00\x80" + struct.pack(
        ">I", len(value)) + packed
    assert [lb.raw for lb in H.labels(tag(3, [v23]) + AUDIO)] == [OLD]
    # v2.4: grouping (0x40) + compression (0x08) + data length indicator (0x01).
    v24_data = b"\x07" + make.syncsafe(len(value)) + packed
    v24 = b"TXXX" + make.syncsafe(len(v24_data)) + b"\x00\x49" + v24_data
    data = tag(4, [v24]) + AUDIO
    assert [lb.raw for lb in H.labels(data)] == [OLD]
    out = H.write(data, REC)  # the compressed label is replaced
    assert [lb.record for lb in H.labels(out)] == [REC]


def test_encrypted_txxx_is_kept_and_reported() -> None:
    enc = b"TXXX" + make.syncsafe(9) + b"\x00\x04" + b"\x80" + b"secret!\x00"
    data = tag(4, [enc]) + AUDIO
    assert H.labels(data) == []
    findings = H.codec().container_findings(Source.from_bytes(data))
    assert any("encrypted" in f.message for f in findings)
    out = H.write(data, REC)
    assert parse_frames(out)[0][1] == enc


def test_trailers_untouched() -> None:
    data = fixture("id3v1-ape.mp3")
    layout = mp3.read_layout(Source.from_bytes(data))
    assert [t.kind for t in layout.trailers] == ["ape", "id3v1"]
    trailer = data[layout.trailers[0].offset :]
    out = H.write(data, REC)
    assert out.endswith(trailer)
    assert out[tag_end(out) : len(out) - len(trailer)] == AUDIO
    items = {(i.carrier, i.key): i.value for i in H.codec().metadata(Source.from_bytes(out))}
    assert items[("mp3:id3v1", "Title")] == "ID3v1 title"
    assert items[("mp3:id3v1", "Comment")] == "id3v1 comment"


def test_appended_id3v2_label_read_and_removed() -> None:
    appended = tag(4, [make.text_frame("TIT2", "end", 4, enc=3),
                       make.txxx("AIGC", OLD, 4, enc=3)], flags=0x10)
    data = AUDIO + appended + make.id3v1("v1", "artist")
    assert [lb.carrier for lb in H.labels(data)] == ["mp3:id3v2-end:TXXX:AIGC"]
    out = H.write(data, REC)
    assert [(lb.carrier, lb.record) for lb in H.labels(out)] == [(mp3.PRIMARY, REC)]
    layout = mp3.read_layout(Source.from_bytes(out))
    assert [t.kind for t in layout.trailers] == ["id3v2", "id3v1"]
    end_tag = out[layout.trailers[0].offset : layout.trailers[0].end]
    assert b"TIT2" in end_tag
    assert b"AIGC" not in end_tag
    assert out[layout.audio_start : layout.audio_end] == AUDIO
    assert H.essence(out) == H.essence(data)


def test_appended_tag_left_empty_is_dropped() -> None:
    data = AUDIO + tag(4, [make.txxx("AIGC", OLD, 4, enc=3)], flags=0x10) + make.id3v1("a", "b")
    out = H.write(data, REC)
    layout = mp3.read_layout(Source.from_bytes(out))
    assert [t.kind for t in layout.trailers] == ["id3v1"]
    assert out.endswith(AUDIO + make.id3v1("a", "b"))


def test_second_leading_tag_cleaned() -> None:
    data = (tag(3, [make.text_frame("TIT2", "one", 3)], 20)
            + tag(4, [make.txxx("AIGC", OLD, 4, enc=3)], 20) + AUDIO)
    assert len(H.labels(data)) == 1
    out = H.write(data, REC)
    assert [lb.record for lb in H.labels(out)] == [REC]
    assert H.essence(out) == H.essence(data)
    assert decoded_frames(out) == decoded_frames(data)


# --- metadata, header-only reads -----------------------------------------------------------------


def test_metadata_items() -> None:
    items = [(i.carrier, i.key, i.value)
             for i in H.codec().metadata(Source.from_bytes(fixture("id3v23-other.mp3")))]
    assert items == [
        ("mp3:id3v2", "TIT2", "Fixture tone"),
        ("mp3:id3v2", "TPE1", "aiglabel fixtures"),
        ("mp3:id3v2", "COMM", "a comment with é"),
        ("mp3:id3v2", "TXXX:encoder settings", "-V 2"),
        ("mp3:id3v2", "TSSE", "LAME 3.100"),
    ]


def test_reads_only_the_tag() -> None:
    big = tag(4, [make.text_frame("TIT2", "t", 4), make.frame("APIC", bytes(200_000), 4),
                  make.txxx("AIGC", OLD, 4, enc=3)], 100) + AUDIO * 300
    src = Source.from_bytes(big)
    (found,) = H.codec().read_labels(src)
    assert found.raw == OLD
    assert src.bytes_read < 70_000  # the head, frame headers, the label; not the picture


# --- hostile input ------------------------------------------------------------------------------


BAD: dict[str, tuple[bytes, type[Exception], Limits | None]] = {
    "truncated tag": (fixture("id3v23-other.mp3")[:300], CorruptFileError, None),
    "huge declared size": (b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + AUDIO, CorruptFileError, None),
    "non-syncsafe tag size": (b"ID3\x04\x00\x00\x00\x00\x80\x00" + AUDIO, CorruptFileError,
                              None),
    "frame past the tag": (b"ID3\x03\x00\x00\x00\x00\x00\x14TIT2\x00\x00\x10\x00\x00\x00"
                           + bytes(10) + AUDIO, CorruptFileError, None),
    "bad extended header": (tag(3, [make.text_frame("TIT2", "x", 3)], flags=0x40,
                                ext=b"\x7f\x00\x00\x00") + AUDIO, CorruptFileError, None),
    "unsync tag over the metadata limit": (tag(3, [make.frame("PRIV", bytes(500), 3)],
                                               flags=0x80) + AUDIO, LimitExceededError,
                                           Limits(max_metadata=200)),
    "too many frames": (tag(4, [make.text_frame("TIT2", "x", 4)] * 5) + AUDIO,
                        LimitExceededError, Limits(max_items=3)),
    "zip bomb frame": (tag(3, [b"TXXX" + struct.pack(">I", 4 + len(zlib.compress(bytes(10**6))))
                               + b"\x00\x80" + struct.pack(">I", 10**6)
                               + zlib.compress(bytes(10**6))]) + AUDIO,
                       LimitExceededError, Limits(max_metadata=1000)),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_clean_errors(case: str) -> None:
    data, error, limits = BAD[case]
    codec = H.codec()
    ops: list[Callable[[Source], object]] = [codec.read_labels,
                                             lambda s: codec.plan_write(s, REC)]
    for op in ops:
        src = Source.from_bytes(data, "bad.mp3")
        if limits is not None:
            src.limits = limits
        with pytest.raises(error) as info:
            op(src)
        assert "\n" not in str(info.value)


def test_damaged_appended_tag_is_tolerated() -> None:
    broken = bytearray(tag(4, [make.text_frame("TIT2", "end", 4, enc=3)], flags=0x10))
    broken[14:18] = make.syncsafe(10_000)  # frame size beyond the tag
    data = AUDIO + bytes(broken)
    assert H.labels(data) == []
    findings = H.codec().container_findings(Source.from_bytes(data))
    assert any("appended ID3v2 tag not readable" in f.message for f in findings)
    out = H.write(data, REC)
    assert out.endswith(bytes(broken))


def test_garbage_is_not_claimed() -> None:
    with pytest.raises(aiglabel.UnsupportedFormatError):
        aiglabel.read_labels(b"\xff\xfb\x90\x64" + bytes(5000), name="x.mp3")


# --- interop with mutagen ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in FIX.glob("*.mp3")))
def test_mutagen_reads_our_label(name: str, tmp_path: Path) -> None:
    src = FIX / name
    dst = tmp_path / name
    aiglabel.label(src, dst, REC)
    tags = mutagen.id3.ID3(dst)  # type: ignore[no-untyped-call]
    labels = [f for f in tags.getall("TXXX") if f.desc.upper() == "AIGC"]
    assert [list(f.text) for f in labels] == [[REC.to_json()]]
    if src.read_bytes().startswith(b"ID3"):
        assert tags.version[:2] == mutagen_tag(src.read_bytes()).version[:2]
        before = {k: v for k, v in mutagen_tag(src.read_bytes()).items() if k != "TXXX:AIGC"}
        assert {k: v for k, v in tags.items() if k != "TXXX:AIGC"} == before


@pytest.mark.parametrize("version", [3, 4])
def test_we_read_labels_mutagen_wrote(version: int, tmp_path: Path) -> None:
    path = tmp_path / "mutagen.mp3"
    path.write_bytes(AUDIO)
    tags = mutagen.id3.ID3()  # type: ignore[no-untyped-call]
    tags.add(mutagen.id3.TIT2(encoding=3, text=["by mutagen"]))  # type: ignore[no-untyped-call]
    tags.add(mutagen.id3.TXXX(encoding=3, desc="AIGC", text=[OLD]))  # type: ignore[no-untyped-call]
    tags.save(path, v2_version=version)
    (found,) = aiglabel.read_labels(path)
    assert found.carrier == mp3.PRIMARY
    assert found.raw == OLD
    assert aiglabel.inspect(path).status == "compliant"
    aiglabel.label(path, None, REC, in_place=True)
    assert [lb.record for lb in aiglabel.read_labels(path)] == [REC]
    after = mutagen.id3.ID3(path)  # type: ignore[no-untyped-call]
    assert after.version[1] == version
    assert after.getall("TIT2")[0].text == ["by mutagen"]
    assert decoded_frames(path.read_bytes()) == decoded_frames(AUDIO)


# --- every synthesized layout: idempotent, lossless ------------------------------------------


LAYOUTS: dict[str, Callable[[], bytes]] = {
    "v2.2": lambda: b"ID3\x02\x00\x00" + make.syncsafe(30) + b"TT2\x00\x00\x04\x00abc"
    + bytes(20) + AUDIO,
    "v2.4 footer + extended header": lambda: tag(
        4, [make.text_frame("TIT2", "x", 4, enc=3)], flags=0x50,
        ext=make.syncsafe(6) + b"\x01\x00") + AUDIO,
    "v2.4 header unsync": lambda: tag(4, [make.text_frame("TIT2", "x", 4)], 10, flags=0x80)
    + AUDIO,
    "appended tag + id3v1": lambda: AUDIO + tag(4, [make.txxx("AIGC", OLD, 4, enc=3)],
                                                 flags=0x10) + make.id3v1("a", "b"),
    "two leading tags": lambda: tag(3, [make.text_frame("TIT2", "one", 3)])
    + tag(4, [make.txxx("AIGC", OLD, 4, enc=3)]) + AUDIO,
    "stray bytes in the tag": lambda: tag(4, [make.text_frame("TIT2", "x", 4), b"junk!"])
    + AUDIO,
    "appended tag with other frames": lambda: AUDIO + tag(
        4, [make.text_frame("TIT2", "end", 4), make.txxx("AIGC", OLD, 4, enc=3)], flags=0x10),
    "zeros between tag and audio": lambda: tag(3, []) + bytes(5000) + AUDIO,
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layouts_idempotent_and_lossless(name: str) -> None:
    data = LAYOUTS[name]()
    once = H.write(data, REC)
    assert H.write(once, REC) == once
    assert [lb.record for lb in H.labels(once)] == [REC]
    assert H.essence(once) == H.essence(data)
    if not name.startswith("appended"):  # FFmpeg decodes an appended ID3v2 tag as bad audio
        assert decoded_frames(once) == decoded_frames(data)
    assert aiglabel.inspect(once).status == "compliant"
    assert [list(f.text) for f in mutagen_tag(once).getall("TXXX")] == [[REC.to_json()]]


def test_v23_label_outside_latin1_uses_utf16() -> None:
    frame = _id3.txxx_frame(3, "标签")
    assert frame[10:] == b"\x01\xff\xfeA\x00I\x00G\x00C\x00\x00\x00\xff\xfe" + "标签".encode(
        "utf-16-le")
    data = tag(3, [frame]) + AUDIO
    assert txxx_values(data) == {"AIGC": ["标签"]}
    assert [lb.raw for lb in H.labels(data)] == ["标签"]


# --- crash-safe in-place patches (aiglabel._patch; the every-crash-point contract is in
# tests/test_patch.py) ----------------------------------------------------------------------


def _producer(n: int) -> Any:
    from aiglabel.gb45438 import AIGCRecord

    return AIGCRecord.for_producer("001191110102MACQD9K64010000", f"patch-{n}",
                                   propagator="001191110108MA01ABCD842PLAT",
                                   propagate_id=f"p-{n}")


def test_repeated_in_place_patches_merge_dead_space_and_keep_frames(tmp_path: Path) -> None:
    """Each update writes a few hundred bytes; the swallowed old frames become one PRIV
    dead-space frame that the next patch grows; other frames stay readable by mutagen."""
    path = tmp_path / "p.mp3"
    original = fixture("old-label.mp3")
    path.write_bytes(original)
    others = {k: str(v) for k, v in mutagen_tag(original).items() if not k.startswith("TXXX:AIGC")}
    patched = 0
    for n in range(3):
        result = aiglabel.label(path, None, _producer(n), in_place=True)
        patched += result.patched
        assert result.bytes_written < 4096
        data = path.read_bytes()
        assert len(data) == len(original)
        assert [lb.record for lb in aiglabel.read_labels(path)] == [_producer(n)]
        tag_ = mutagen_tag(data)
        assert tag_.getall("TXXX:AIGC")[0].text == [_producer(n).to_json()]
        assert {k: str(v) for k, v in tag_.items() if k.startswith(("T", "C"))
                and not k.startswith("TXXX:AIGC")} == {k: v for k, v in others.items()
                                                       if k.startswith(("T", "C"))}
        privs = tag_.getall("PRIV")
        assert [p.owner for p in privs] == [_id3.PADDING_OWNER.decode()]
        assert not privs[0].data.strip(b"\x00")  # the old label text is wiped
        assert H.essence(data) == H.essence(original)
    assert patched == 3
    assert decoded_frames(path.read_bytes()) == decoded_frames(original)
    # A rewrite (copy mode) turns the dead space back into padding.
    copy = H.write(path.read_bytes(), REC)
    assert not mutagen_tag(copy).getall("PRIV")
    assert tag_end(copy) == tag_end(original)


def test_patch_falls_back_when_it_cannot_be_crash_safe(tmp_path: Path) -> None:
    big = make.apic(bytes(70_000), 4)
    cases = {
        "no room": tag(4, [make.txxx("AIGC", OLD, 4, enc=3)], 20),
        "more than 64 KiB after the label": tag(4, [make.txxx("AIGC", OLD, 4, enc=3), big],
                                                 1024),
        "v2.3 unsynchronised": fixture("unsync-v23-label.mp3")[: tag_end(
            fixture("unsync-v23-label.mp3"))],
        "label in an appended tag": tag(4, [], 1024),
    }
    for name, head in cases.items():
        data = head + AUDIO
        if name == "label in an appended tag":
            data += tag(4, [make.txxx("AIGC", OLD, 4, enc=3)], flags=0x10)
        assert H.codec().plan_patch(Source.from_bytes(data), REC) is None, name
        path = tmp_path / "f.mp3"
        path.write_bytes(data)
        result = aiglabel.label(path, None, REC, in_place=True)
        assert not result.patched, name
        assert [lb.record for lb in aiglabel.read_labels(path)] == [REC], name


def test_patch_into_padding_then_mutagen_and_ffmpeg_agree(tmp_path: Path) -> None:
    path = tmp_path / "pad.mp3"
    original = fixture("id3v24-padding.mp3")
    path.write_bytes(original)
    result = aiglabel.label(path, None, REC, in_place=True)
    assert result.patched
    assert result.bytes_written < 512
    data = path.read_bytes()
    assert txxx_values(data)["AIGC"] == [REC.to_json()]
    assert not mutagen_tag(data).getall("PRIV")  # nothing swallowed: no dead space
    assert decoded_frames(data) == decoded_frames(original)
