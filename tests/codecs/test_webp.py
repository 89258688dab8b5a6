"""WebP codec: lossless XMP-chunk labels, simple-to-extended conversion, RIFF walking."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageCms, ImageSequence

import aiglabel.codecs
from aiglabel._io import Limits, Source, emit
from aiglabel.codecs import _riff
from aiglabel.errors import AiglabelError, CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord
from aiglabel.registry import default_registry

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiglabel.codecs.base import CodecBase, FoundLabel

assert aiglabel.codecs  # registers the built-in codecs

PRODUCER = "001191110102MACQD9K64010000"
RECORD = AIGCRecord.for_producer(PRODUCER, "id-1")
OTHER = AIGCRecord.for_producer(PRODUCER, "old-id")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "media" / "webp"
TITLE_XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    b' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    b'  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
    b'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Sunset</rdf:li></rdf:Alt></dc:title>\n'
    b"  </rdf:Description>\n"
    b" </rdf:RDF>\n"
    b"</x:xmpmeta>\n"
    b'<?xpacket end="w"?>'
)


# --- helpers ---------------------------------------------------------------------------------


def codec() -> CodecBase:
    return default_registry.get("webp")()


def write(data: bytes, record: AIGCRecord = RECORD) -> bytes:
    src = Source.from_bytes(data, "in.webp")
    plan = codec().plan_write(src, record)
    out = io.BytesIO()
    assert emit(plan, src, out) == plan.output_size
    return out.getvalue()


def read(data: bytes) -> list[FoundLabel]:
    return codec().read_labels(Source.from_bytes(data, "in.webp"))


def digest(data: bytes) -> str:
    return codec().essence_digest(Source.from_bytes(data))


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """An independent strict parser: RIFF size exact, every odd chunk padded with a zero."""
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WEBP"
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
    found = [p for f, p in chunks(data) if f == fourcc]
    assert len(found) == 1, fourcc
    return found[0]


def vp8x(data: bytes) -> tuple[int, int, int]:
    """(flags, canvas width, canvas height) of the VP8X chunk."""
    p = payload(data, b"VP8X")
    assert len(p) == 10
    assert p[1:4] == b"\x00\x00\x00"
    width = int.from_bytes(p[4:7], "little") + 1
    height = int.from_bytes(p[7:10], "little") + 1
    return p[0], width, height


def frames(data: bytes) -> list[bytes]:
    with Image.open(io.BytesIO(data)) as im:
        return [f.convert("RGBA").tobytes() for f in ImageSequence.Iterator(im)]


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def picture(mode: str = "RGB", size: tuple[int, int] = (41, 29)) -> Image.Image:
    w, h = size
    im = Image.new("RGB", size)
    im.putdata([(x * 6 % 256, y * 9 % 256, x * y % 256) for y in range(h) for x in range(w)])
    if mode == "RGBA":
        im = im.convert("RGBA")
        im.putalpha(Image.linear_gradient("L").resize(size))
    return im


def save(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "WEBP", **kw)
    return buf.getvalue()


def exif_with_label(record: AIGCRecord | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if record is not None:
        wrapped = json.dumps({"AIGC": record.to_dict()}, separators=(",", ":")).encode()
        exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00" + wrapped
    return exif.tobytes()


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def animated() -> bytes:
    base = picture("RGBA")
    frames_ = [base, base.rotate(90), base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buf = io.BytesIO()
    frames_[0].save(buf, "WEBP", save_all=True, append_images=frames_[1:], duration=80, loop=0)
    return buf.getvalue()


def riff(*parts: bytes) -> bytes:
    body = b"WEBP" + b"".join(parts)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def with_exif_prefix(data: bytes) -> bytes:
    """Rebuild a file with ``Exif\\0\\0`` in front of the EXIF chunk's TIFF block."""
    parts = [
        _riff.make_chunk(f, b"Exif\x00\x00" + p if f == b"EXIF" else p) for f, p in chunks(data)
    ]
    return riff(*parts)


INPUTS: dict[str, Callable[[], bytes]] = {
    "lossy-simple": lambda: save(picture(), quality=80),
    "lossless-simple": lambda: save(picture(), lossless=True),
    "lossless-simple-alpha": lambda: save(picture("RGBA"), lossless=True),
    "lossy-alpha-extended": lambda: save(picture("RGBA"), quality=70),
    "exif-icc": lambda: save(picture(), quality=80, exif=exif_with_label(), icc_profile=srgb_icc()),
    "xmp-title": lambda: save(picture(), lossless=True, xmp=TITLE_XMP),
    "animated": animated,
}
KINDS = sorted(INPUTS)


# --- identification ----------------------------------------------------------------------------


def test_sniff() -> None:
    data = INPUTS["lossy-simple"]()
    assert codec().sniff(data[:64]) == 2
    assert codec().sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") == 0
    assert codec().sniff(b"RIFF") == 0


# --- round trips over every kind of input -----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_write_read_round_trip(kind: str) -> None:
    data = INPUTS[kind]()
    assert read(data) == []
    out = write(data)
    labels = read(out)
    assert [f.carrier for f in labels] == ["webp:XMP"]
    assert labels[0].record == RECORD
    assert labels[0].form == "bare"


@pytest.mark.parametrize("kind", KINDS)
def test_lossless(kind: str) -> None:
    data = INPUTS[kind]()
    out = write(data)
    assert frames(out) == frames(data)
    assert digest(out) == digest(data)
    assert size_of(out) == size_of(data)
    # Every essence chunk is byte-identical and in the same order.
    essence = {b"VP8 ", b"VP8L", b"ALPH", b"ANMF", b"ANIM", b"ICCP"}
    assert [c for c in chunks(out) if c[0] in essence] == [
        c for c in chunks(data) if c[0] in essence
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_extended_layout(kind: str) -> None:
    data = INPUTS[kind]()
    out = write(data)
    flags, width, height = vp8x(out)
    assert flags & 0x04  # XMP
    assert (width, height) == size_of(data)
    order = fourccs(out)
    assert order[0] == b"VP8X"
    assert order.count(b"XMP ") == 1
    assert order[-1] == b"XMP "  # after image data and EXIF
    if b"VP8X" in fourccs(data):
        old_flags = vp8x(data)[0]
        assert flags == old_flags | 0x04
        assert vp8x(data)[1:] == (width, height)


@pytest.mark.parametrize("kind", KINDS)
def test_write_twice_identical(kind: str) -> None:
    once = write(INPUTS[kind]())
    assert write(once) == once


# --- simple -> extended conversion ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "alpha"),
    [("lossy-simple", False), ("lossless-simple", False), ("lossless-simple-alpha", True)],
)
def test_simple_converted(kind: str, alpha: bool) -> None:
    data = INPUTS[kind]()
    assert fourccs(data) in ([b"VP8 "], [b"VP8L"])
    out = write(data)
    assert fourccs(out) == [b"VP8X", fourccs(data)[0], b"XMP "]
    flags, width, height = vp8x(out)
    assert flags == 0x04 | (0x10 if alpha else 0)
    assert (width, height) == (41, 29)
    # The bitstream chunk is copied byte for byte, header and pad included.
    bitstream = data[12:]
    assert out[30 : 30 + len(bitstream)] == bitstream
    with Image.open(io.BytesIO(out)) as im:
        im.load()
        assert im.mode == ("RGBA" if alpha else "RGB")


def test_vp8_canvas_ignores_scale_bits() -> None:
    data = bytearray(INPUTS["lossy-simple"]())
    # VP8 frame header: width u16le at payload offset 6; set the 2 scale bits.
    data[20 + 7] |= 0xC0
    out = write(bytes(data))
    assert vp8x(out)[1:] == (41, 29)


# --- metadata survives, old labels go -----------------------------------------------------------


def test_exif_and_icc_survive() -> None:
    data = INPUTS["exif-icc"]()
    out = write(data)
    assert payload(out, b"EXIF") == payload(data, b"EXIF")
    assert payload(out, b"ICCP") == payload(data, b"ICCP")
    assert fourccs(out) == [b"VP8X", b"ICCP", b"VP8 ", b"EXIF", b"XMP "]
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["icc_profile"] == srgb_icc()
        assert im.getexif()[0x010F] == "TestCam"


def test_other_xmp_properties_survive() -> None:
    out = write(INPUTS["xmp-title"]())
    packet = payload(out, b"XMP ")
    assert b'<rdf:li xml:lang="x-default">Sunset</rdf:li>' in packet
    assert b"TC260:AIGC" in packet
    assert b'xmlns:dc="http://purl.org/dc/elements/1.1/"' in packet


def test_old_label_replaced() -> None:
    old = write(INPUTS["exif-icc"](), OTHER)
    assert [f.record for f in read(old)] == [OTHER]
    new = write(old)
    assert [f.record for f in read(new)] == [RECORD]
    assert payload(new, b"XMP ").count(b"TC260:AIGC>") == 2  # one open, one close tag
    assert fourccs(new) == fourccs(old)


def test_user_comment_label_removed() -> None:
    exif = exif_with_label(OTHER)
    data = save(picture(), quality=80, exif=exif)
    assert [f.carrier for f in read(data)] == ["webp:EXIF:UserComment"]
    assert read(data)[0].record == OTHER
    src = Source.from_bytes(data)
    plan = codec().plan_write(src, RECORD)
    assert plan.carrier == "webp:XMP"
    assert plan.removed == ["webp:EXIF:UserComment"]
    out = io.BytesIO()
    emit(plan, src, out)
    labels = read(out.getvalue())
    assert [(f.carrier, f.record) for f in labels] == [("webp:XMP", RECORD)]
    new_exif = payload(out.getvalue(), b"EXIF")
    assert len(new_exif) == len(payload(data, b"EXIF"))
    with Image.open(out) as im:
        assert im.getexif()[0x010F] == "TestCam"
        assert 0x9286 not in im.getexif().get_ifd(0x8769)
    assert write(out.getvalue()) == out.getvalue()
    assert digest(out.getvalue()) == digest(data)


def test_user_comment_with_exif_prefix() -> None:
    data = with_exif_prefix(save(picture(), quality=80, exif=exif_with_label(OTHER)))
    assert payload(data, b"EXIF").startswith(b"Exif\x00\x00")
    assert [f.record for f in read(data)] == [OTHER]
    out = write(data)
    assert payload(out, b"EXIF").startswith(b"Exif\x00\x00")
    assert [(f.carrier, f.record) for f in read(out)] == [("webp:XMP", RECORD)]


def test_second_xmp_chunk_loses_label() -> None:
    data = write(INPUTS["lossless-simple"](), OTHER)
    doubled = riff(*(_riff.make_chunk(f, p) for f, p in chunks(data)),
                   _riff.make_chunk(b"XMP ", payload(data, b"XMP ")))
    assert len(read(doubled)) == 2
    out = write(doubled)
    assert [f.record for f in read(out)] == [RECORD]


# --- byte-crafted layouts ----------------------------------------------------------------------


def test_unknown_chunks_stay_last() -> None:
    data = INPUTS["exif-icc"]()
    crafted = riff(*(_riff.make_chunk(f, p) for f, p in chunks(data)),
                   _riff.make_chunk(b"ZZZZ", b"odd"))
    out = write(crafted)
    assert fourccs(out) == [b"VP8X", b"ICCP", b"VP8 ", b"EXIF", b"XMP ", b"ZZZZ"]
    assert payload(out, b"ZZZZ") == b"odd"


def test_existing_xmp_replaced_in_place() -> None:
    data = INPUTS["xmp-title"]()
    crafted = riff(*(_riff.make_chunk(f, p) for f, p in chunks(data)),
                   _riff.make_chunk(b"ZZZZ", b"tail"))
    assert fourccs(crafted) == [b"VP8X", b"VP8L", b"XMP ", b"ZZZZ"]
    out = write(crafted)
    assert fourccs(out) == [b"VP8X", b"VP8L", b"XMP ", b"ZZZZ"]


def test_odd_chunks_padded() -> None:
    # A simple VP8L file whose bitstream chunk has an odd size and lacks its final pad byte.
    data = INPUTS["lossless-simple"]()
    (fourcc, body), = chunks(data)
    odd = body + b"\x00" if len(body) % 2 == 0 else body  # trailing zero bits decode the same
    unpadded = riff(fourcc + struct.pack("<I", len(odd)) + odd)
    assert len(odd) % 2 == 1
    assert read(unpadded) == []
    out = write(unpadded)
    assert fourccs(out) == [b"VP8X", b"VP8L", b"XMP "]
    assert payload(out, b"VP8L") == odd
    assert frames(out) == frames(data)
    assert write(out) == out


def test_trailing_bytes_after_riff_kept() -> None:
    data = INPUTS["lossy-simple"]() + b"TRAILER"
    out = write(data)
    assert out.endswith(b"TRAILER")
    assert struct.unpack("<I", out[4:8])[0] == len(out) - 8 - len(b"TRAILER")
    findings = codec().container_findings(Source.from_bytes(data))
    assert [f.code for f in findings] == ["G5.carrier"]


def test_xmp_without_flag_is_flagged() -> None:
    # A simple file with an XMP chunk glued on (no VP8X): read with a warning, fixed on write.
    labelled = write(INPUTS["lossy-simple"](), OTHER)
    glued = riff(*(_riff.make_chunk(f, p) for f, p in chunks(labelled) if f != b"VP8X"))
    (found,) = read(glued)
    assert found.record == OTHER
    assert any("VP8X XMP flag" in f.message for f in found.findings)
    out = write(glued)
    assert fourccs(out) == [b"VP8X", b"VP8 ", b"XMP "]
    assert vp8x(out)[0] == 0x04
    assert [f.record for f in read(out)] == [RECORD]
    assert codec().container_findings(Source.from_bytes(out)) == []


# --- damaged input: only aiglabel errors escape ------------------------------------------------


def _damaged() -> list[bytes]:
    data = write(INPUTS["exif-icc"]())
    cases = [data[:n] for n in (0, 4, 11, 12, 15, 20, 40, len(data) // 2, len(data) - 1)]
    cases.append(b"RIFF" + b"\xff" * 60)
    cases.append(b"RIFF\x10\x00\x00\x00WEBPjunkjunkjunkjunk")
    cases.append(b"RIFF\x04\x00\x00\x00WEBP")  # no chunks
    cases.append(riff(_riff.make_chunk(b"VP8 ", b"\x00" * 12)))  # no key frame start code
    cases.append(riff(_riff.make_chunk(b"VP8L", b"\x2f\xff\xff\xff\xff")))  # bad version
    cases.append(riff(_riff.make_chunk(b"VP8X", b"\x04")))  # short VP8X
    cases.append(riff(_riff.make_chunk(b"EXIF", b"II*\x00")))  # no image chunk first
    simple = INPUTS["lossy-simple"]()
    cases.append(riff(simple[12:], _riff.make_chunk(b"VP8X", b"\x04" + b"\x00" * 9)))
    for pos, value in ((16, 0x01), (16, 0xFF), (4, 0x07), (19, 0x7F)):
        bad = bytearray(data)
        bad[pos] ^= value  # first chunk's size: odd / huge; RIFF size; more size bits
        cases.append(bytes(bad))
    # A chunk size that turns odd in the middle of the file.
    offs = 12
    for _, p in chunks(data)[:2]:
        offs += 8 + len(p) + len(p) % 2
    bad = bytearray(data)
    bad[offs + 4] ^= 1
    cases.append(bytes(bad))
    return cases


@pytest.mark.parametrize("data", _damaged())
def test_damaged_input_raises_only_aiglabel_errors(data: bytes) -> None:
    c = codec()
    for op in (c.read_labels, c.essence_digest, c.container_findings,
               lambda s: c.plan_write(s, RECORD)):
        try:
            op(Source.from_bytes(data, "bad.webp"))
        except AiglabelError:
            pass


def test_damaged_input_examples() -> None:
    with pytest.raises(CorruptFileError, match="truncated"):
        read(write(INPUTS["exif-icc"]())[:-5])
    with pytest.raises(CorruptFileError, match="not a WebP"):
        read(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(CorruptFileError, match="key frame"):
        write(riff(_riff.make_chunk(b"VP8 ", b"\x00" * 12)))
    with pytest.raises(CorruptFileError, match="not the first"):
        write(riff(INPUTS["lossy-simple"]()[12:], _riff.make_chunk(b"VP8X", b"\x04" * 10)))


def test_bit_flips_raise_only_aiglabel_errors() -> None:
    data = write(INPUTS["animated"]())
    c = codec()
    for pos in range(0, min(len(data), 400), 3):
        bad = bytearray(data)
        bad[pos] ^= 0x5A
        src = Source.from_bytes(bytes(bad))
        try:
            c.read_labels(src)
            c.essence_digest(src)
            emit(c.plan_write(src, RECORD), src, io.BytesIO())
        except AiglabelError:
            pass


# --- the RIFF walker ---------------------------------------------------------------------------


def _list(list_type: bytes, *children: bytes) -> bytes:
    return _riff.make_chunk(b"LIST", list_type + b"".join(children))


def _wave(*parts: bytes) -> bytes:
    body = b"WAVE" + b"".join(parts)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_riff_walker_nested_lists() -> None:
    data = _wave(
        _riff.make_chunk(b"fmt ", b"\x01" * 16),
        _list(b"INFO", _riff.make_chunk(b"INAM", b"odd"), _list(b"sub ", b"AIGC\x00\x00\x00\x00")),
        _riff.make_chunk(b"data", b"\x00" * 5),
    )
    src = Source.from_bytes(data)
    form = _riff.read_form(src)
    assert (form.form_type, form.end) == (b"WAVE", len(data))
    flat = [(c.fourcc, c.depth, c.list_type) for c in _riff.iter_chunks(src, 12, form.end)]
    assert flat == [(b"fmt ", 0, None), (b"LIST", 0, b"INFO"), (b"data", 0, None)]
    deep = [(c.fourcc, c.depth) for c in _riff.iter_chunks(src, 12, form.end, recurse=True)]
    assert deep == [(b"fmt ", 0), (b"LIST", 0), (b"INAM", 1), (b"LIST", 1), (b"AIGC", 2),
                    (b"data", 0)]
    walked = list(_riff.iter_chunks(src, 12, form.end, recurse=True))
    inam = next(c for c in walked if c.fourcc == b"INAM")
    assert (inam.size, inam.pad) == (3, 1)
    assert _riff.read_payload(src, inam) == b"odd"
    # Header-only walk: payloads are seeked over, not read (6 headers x 8 + 2 list types x 4).
    fresh = Source.from_bytes(data)
    assert len(list(_riff.iter_chunks(fresh, 12, form.end, recurse=True))) == 6
    assert fresh.bytes_read == 56


def test_riff_walker_limits() -> None:
    nested = _riff.make_chunk(b"DATA", b"")
    for _ in range(5):
        nested = _list(b"deep", nested)
    data = _wave(nested)
    src = Source(io.BytesIO(data), limits=Limits(max_depth=3))
    with pytest.raises(LimitExceededError, match="nesting"):
        list(_riff.iter_chunks(src, 12, len(data), recurse=True))
    many = _wave(*[_riff.make_chunk(b"JUNK", b"") for _ in range(10)])
    src = Source(io.BytesIO(many), limits=Limits(max_items=9))
    with pytest.raises(LimitExceededError, match="chunks"):
        list(_riff.iter_chunks(src, 12, len(many)))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_wave(b"JUNK\x10\x00\x00\x00abc"), "runs past"),
        (_wave(_riff.make_chunk(b"JUNK", b"ab"), b"xyz"), "stray bytes"),
        (_wave(b"\x00\x01\x02\x03\x00\x00\x00\x00"), "damaged chunk header"),
        (_wave(b"LIST\x02\x00\x00\x00ab"), "list type"),
        (b"RIFX\x04\x00\x00\x00WAVE", "not a RIFF"),
    ],
)
def test_riff_walker_rejects(data: bytes, message: str) -> None:
    def walk_all() -> list[_riff.Chunk]:
        src = Source.from_bytes(data)
        form = _riff.read_form(src)
        return list(_riff.iter_chunks(src, form.start, form.end, recurse=True))

    with pytest.raises(CorruptFileError, match=message):
        walk_all()


def test_riff_form_longer_than_file() -> None:
    data = _wave(_riff.make_chunk(b"JUNK", b"ab"))[:-1]
    src = Source.from_bytes(data)
    form = _riff.read_form(src)
    with pytest.raises(CorruptFileError, match="truncated"):
        list(_riff.iter_chunks(src, form.start, form.end))


def test_make_chunk_pads() -> None:
    assert _riff.make_chunk(b"XMP ", b"abc") == b"XMP \x03\x00\x00\x00abc\x00"
    assert _riff.make_chunk(b"XMP ", b"ab") == b"XMP \x02\x00\x00\x00ab"


# --- fixtures and an independent reader, when present --------------------------------------


@pytest.mark.parametrize(
    "path", sorted(FIXTURES.glob("*.webp")) if FIXTURES.is_dir() else [], ids=lambda p: p.name
)
def test_fixture_round_trip(path: Path) -> None:
    data = path.read_bytes()
    try:
        out = write(data)
    except AiglabelError:
        return  # a deliberately damaged fixture
    assert [f.record for f in read(out)] == [RECORD]
    assert digest(out) == digest(data)
    assert write(out) == out


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
@pytest.mark.parametrize("kind", ["lossy-simple", "exif-icc", "animated"])
def test_exiftool_reads_label(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "out.webp"
    path.write_bytes(write(INPUTS[kind]()))
    result = subprocess.run(
        ["exiftool", "-j", "-G1", "-XMP-TC260:AIGC", "-Warning", str(path)],
        capture_output=True, text=True, check=True,
    )
    (tags,) = json.loads(result.stdout)
    by_name = {k.lower(): v for k, v in tags.items()}  # older ExifTool spells it "Aigc"
    assert json.loads(by_name["xmp-tc260:aigc"]) == RECORD.to_dict()
    assert "exiftool:warning" not in by_name
