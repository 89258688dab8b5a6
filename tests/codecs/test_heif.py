"""HEIF/HEIC/AVIF codec and the ISO BMFF box walker.

Inputs are built at test time: AVIF by Pillow, HEIC by pillow_heif, and small synthetic HEIF
structures (not decodable, but exact about iloc, idat, largesize and open-ended boxes).
"""

from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from aiglabel._io import Limits, Source, emit
from aiglabel.codecs import _xmp
from aiglabel.codecs._isobmff import (
    Budget,
    Extent,
    ItemInfoEntry,
    ItemLocation,
    ItemLocationBox,
    box_header,
    encode_iloc,
    encode_infe,
    fit_iloc,
    iter_boxes,
    parse_iloc,
    walk,
)
from aiglabel.codecs.base import Confidence
from aiglabel.codecs.heif import HeifCodec
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
)
from aiglabel.gb45438 import AIGCRecord
from aiglabel.registry import identify

if TYPE_CHECKING:
    from pathlib import Path

RECORD = AIGCRecord.for_producer("001191110102MACQD9K64010000", "id-1")
OTHER = AIGCRecord.for_producer("001191110102MACQD9K64010000", "id-2-longer-than-the-first")
CODEC = HeifCodec()
OLD_LABEL = (
    '{"Label":"2","ContentProducer":"old-producer","ProduceID":"old-id","ReservedCode1":"",'
    '"ContentPropagator":"old-producer","PropagateID":"old-id","ReservedCode2":""}'
)
XMP_WITH_OLD = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">'
    '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Kept title</rdf:li></rdf:Alt></dc:title>'
    f"<TC260:AIGC>{_xmp.escape_text(OLD_LABEL)}</TC260:AIGC>"
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()


# --- helpers ---------------------------------------------------------------------------------


def _image(size: tuple[int, int] = (40, 24)) -> Image.Image:
    w, h = size
    data = bytes(
        (x * 6 + y * 3 + c * 50) % 256 for y in range(h) for x in range(w) for c in range(3)
    )
    return Image.frombytes("RGB", size, data)


def _exif(user_comment: bytes | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestMake"
    if user_comment is not None:
        exif.get_ifd(0x8769)[0x9286] = user_comment
    return exif.tobytes()


def _heif_module() -> None:
    heif = pytest.importorskip("pillow_heif")
    heif.register_heif_opener()


def make(fmt: str, *, xmp: bytes | None = None, exif: bytes | None = None) -> bytes:
    """An AVIF (Pillow) or HEIC (pillow_heif) file."""
    if fmt == "heic":
        _heif_module()
    buf = io.BytesIO()
    kwargs: dict[str, bytes] = {}
    if xmp is not None:
        kwargs["xmp"] = xmp
    if exif is not None:
        kwargs["exif"] = exif
    _image().save(buf, "AVIF" if fmt == "avif" else "HEIF", **kwargs)
    return buf.getvalue()


def write(data: bytes, record: AIGCRecord = RECORD) -> bytes:
    src = Source.from_bytes(data, "in")
    out = io.BytesIO()
    emit(CODEC.plan_write(src, record), src, out)
    return out.getvalue()


def labels(data: bytes) -> list[tuple[str, AIGCRecord | None]]:
    return [(f.carrier, f.record) for f in CODEC.read_labels(Source.from_bytes(data))]


def essence(data: bytes) -> str:
    return CODEC.essence_digest(Source.from_bytes(data))


def pixels(data: bytes) -> list[bytes]:
    with Image.open(io.BytesIO(data)) as im:
        frames = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            frames.append(im.tobytes())
        return frames


def box(btype: bytes, payload: bytes) -> bytes:
    return box_header(btype, len(payload)) + payload


def full(btype: bytes, version: int, payload: bytes, flags: int = 0) -> bytes:
    return box(btype, bytes((version,)) + flags.to_bytes(3, "big") + payload)


IMAGE = b"IMAGE-DATA" * 7
HDLR = full(b"hdlr", 0, bytes(4) + b"pict" + bytes(12) + b"\x00")
IPRP = box(b"iprp", box(b"ipco", full(b"ispe", 0, struct.pack(">II", 40, 24))))


def synthetic(
    xmps: list[bytes], *, in_idat: bool = False, large_mdat: bool = False,
    open_ended: bool = False, iloc_version: int = 1, padded: bool = False,
) -> bytes:
    """ftyp, meta (item 1 = image in mdat, items 2.. = XMP in mdat or idat), mdat."""
    ftyp = box(b"ftyp", b"heic" + bytes(4) + b"mif1heic")
    infes = [encode_infe(ItemInfoEntry(2, 0, 1, 0, b"hvc1", b""))]
    infes += [encode_infe(ItemInfoEntry(2, 1, 2 + i, 0, b"mime", b"", b"application/rdf+xml"))
              for i in range(len(xmps))]
    pad = bytes(4) if padded else b""  # QuickTime-style zero terminators after the children
    iinf = full(b"iinf", 0, struct.pack(">H", len(infes)) + b"".join(infes) + pad)
    idat = box(b"idat", b"".join(xmps)) if in_idat else b""
    refs = b"".join(box(b"cdsc", struct.pack(">HHH", 2 + i, 1, 1)) for i in range(len(xmps)))
    iref = full(b"iref", 0, refs + pad)

    def meta(image_at: int, xmp_at: int) -> bytes:
        items = [ItemLocation(1, 0, 0, image_at, [Extent(0, len(IMAGE))])]
        pos = 0 if in_idat else xmp_at
        for i, x in enumerate(xmps):
            items.append(ItemLocation(2 + i, 1 if in_idat else 0, 0, 0, [Extent(pos, len(x))]))
            pos += len(x)
        iloc = encode_iloc(ItemLocationBox(iloc_version, 0, 4, 4, 4, 0, items))
        children = HDLR + full(b"pitm", 0, b"\x00\x01") + iloc + iinf + iref + IPRP + idat
        return full(b"meta", 0, children)

    mdat_payload = IMAGE + (b"" if in_idat else b"".join(xmps))
    head = 16 if large_mdat else 8
    start = len(ftyp) + len(meta(0, 0)) + head
    body = ftyp + meta(start, start + len(IMAGE))
    if large_mdat:
        mdat = struct.pack(">I4sQ", 1, b"mdat", len(mdat_payload) + 16)
    elif open_ended:
        mdat = struct.pack(">I4s", 0, b"mdat")
    else:
        mdat = box_header(b"mdat", len(mdat_payload))
    return body + mdat + mdat_payload


# --- sniffing and identification -------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (box(b"ftyp", b"avif" + bytes(4) + b"avifmif1"), Confidence.STRONG),
        (box(b"ftyp", b"heic" + bytes(4) + b"mif1heic"), Confidence.STRONG),
        (box(b"ftyp", b"isom" + bytes(4) + b"isommif1"), Confidence.STRONG),  # compatible brand
        (box(b"ftyp", b"mp42" + bytes(4) + b"isommp42"), Confidence.NO),
        (box(b"ftyp", b"qt  " + bytes(4) + b"qt  "), Confidence.NO),
        (b"\x00\x00\x00\x18ftyp", Confidence.NO),
        (b"\x89PNG\r\n\x1a\n" + bytes(16), Confidence.NO),
    ],
)
def test_sniff(head: bytes, expected: Confidence) -> None:
    assert HeifCodec.sniff(head) is expected


@pytest.mark.parametrize("fmt", ["avif", "heic"])
def test_identify_picks_heif(fmt: str) -> None:
    assert identify(Source.from_bytes(make(fmt)), f"x.{fmt}").name == "heif"


# --- write / read against Pillow and pillow_heif ---------------------------------------------


@pytest.mark.parametrize("fmt", ["avif", "heic"])
def test_plain_file_round_trip(fmt: str) -> None:
    data = make(fmt)
    assert labels(data) == []
    out = write(data)
    assert labels(out) == [("heif:meta:xmp", RECORD)]
    assert pixels(out) == pixels(data)
    assert essence(out) == essence(data)
    assert out[: 4] == data[:4]  # ftyp copied


@pytest.mark.parametrize("fmt", ["avif", "heic"])
@pytest.mark.parametrize("with_meta", [False, True])
def test_writing_twice_gives_identical_bytes(fmt: str, with_meta: bool) -> None:
    data = make(fmt, xmp=XMP_WITH_OLD, exif=_exif()) if with_meta else make(fmt)
    once = write(data)
    twice = write(once)
    assert twice == once
    other = write(once, OTHER)  # a longer record: the appended mdat is replaced, not added
    # ProduceID and PropagateID both grow
    assert len(other) == len(once) + 2 * (len(OTHER.produce_id) - len(RECORD.produce_id))
    assert labels(other) == [("heif:meta:xmp", OTHER)]
    back = write(other, RECORD)  # shorter again: rewritten in place with XMP padding
    assert len(back) == len(other)
    assert labels(back) == [("heif:meta:xmp", RECORD)]
    assert write(back) == back


@pytest.mark.parametrize("fmt", ["avif", "heic"])
def test_old_label_replaced_title_and_exif_kept(fmt: str) -> None:
    data = make(fmt, xmp=XMP_WITH_OLD, exif=_exif())
    assert [r.label for _, r in labels(data) if r] == ["2"]
    out = write(data)
    assert labels(out) == [("heif:meta:xmp", RECORD)]
    assert b"old-producer" not in out  # the superseded packet is zeroed, not left behind
    with Image.open(io.BytesIO(out)) as im:
        xmp = im.info["xmp"]
        assert b"Kept title" in xmp
        assert xmp.count(b"TC260:AIGC>") == 2  # one element: open and close tag
        assert im.getexif()[0x010F] == "TestMake"
    assert pixels(out) == pixels(data)
    assert essence(out) == essence(data)


@pytest.mark.parametrize("fmt", ["avif", "heic"])
def test_exif_user_comment_label_removed(fmt: str) -> None:
    comment = b"ASCII\x00\x00\x00" + ('{"AIGC":' + OLD_LABEL + "}").encode()
    data = make(fmt, exif=_exif(comment))
    assert [c for c, _ in labels(data)] == ["heif:meta:exif:UserComment"]
    src = Source.from_bytes(data)
    plan = CODEC.plan_write(src, RECORD)
    assert plan.removed == ["heif:meta:exif:UserComment"]
    out = io.BytesIO()
    emit(plan, src, out)
    assert labels(out.getvalue()) == [("heif:meta:xmp", RECORD)]
    with Image.open(out) as im:
        assert im.getexif()[0x010F] == "TestMake"


@pytest.mark.parametrize("fmt", ["avif", "heic"])
def test_in_place_when_the_packet_fits(fmt: str) -> None:
    roomy = _xmp.new_packet(OLD_LABEL + " " * 600)
    data = make(fmt, xmp=roomy)
    out = write(data)
    assert len(out) == len(data)
    changed = [i for i, (a, b) in enumerate(zip(data, out, strict=True)) if a != b]
    start = data.index(roomy)
    assert start <= changed[0]
    assert changed[-1] < start + len(roomy)
    assert labels(out) == [("heif:meta:xmp", RECORD)]
    assert pixels(out) == pixels(data)


def _animated(xmp: bytes | None) -> bytes:
    frames = [Image.new("RGB", (16, 16), (i * 60, 20, 200 - i * 50)) for i in range(3)]
    buf = io.BytesIO()
    extra = {"xmp": xmp} if xmp is not None else {}
    frames[0].save(buf, "AVIF", save_all=True, append_images=frames[1:], duration=100, **extra)
    return buf.getvalue()


def test_image_sequence_needing_growth_is_refused() -> None:
    data = _animated(None)
    assert b"moov" in data
    with pytest.raises(CarrierUnsupportedError, match="image sequences"):
        CODEC.plan_write(Source.from_bytes(data), RECORD)


def test_image_sequence_written_in_place() -> None:
    data = _animated(_xmp.new_packet(OLD_LABEL + " " * 600))
    out = write(data)
    assert len(out) == len(data)
    assert labels(out) == [("heif:meta:xmp", RECORD)]
    assert pixels(out) == pixels(data)
    assert len(pixels(out)) == 3


# --- synthetic layouts -----------------------------------------------------------------------


def _new_packet() -> bytes:
    return _xmp.new_packet(OLD_LABEL)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"in_idat": True},
        {"large_mdat": True},
        {"open_ended": True},
        {"iloc_version": 0},
        {"iloc_version": 2},
        {"padded": True},
    ],
)
@pytest.mark.parametrize("existing_item", [True, False])
def test_synthetic_layouts_relocate(kwargs: dict[str, object], existing_item: bool) -> None:
    small = (
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='" + _xmp.RDF_NS.encode()
        + b"'></rdf:RDF></x:xmpmeta>"
    )
    data = synthetic([small] if existing_item else [], **kwargs)  # type: ignore[arg-type]
    assert labels(data) == []
    out = write(data)
    assert labels(out) == [("heif:meta:xmp", RECORD)]
    assert essence(out) == essence(data)
    assert IMAGE in out
    assert write(out) == out
    top = [b.type for b in iter_boxes(Source.from_bytes(out), 0, len(out))]
    assert top == [b"ftyp", b"meta", b"mdat", b"mdat"]
    if existing_item:
        assert small not in out  # the superseded packet is zeroed


def test_synthetic_second_xmp_item_is_stripped_in_place() -> None:
    data = synthetic([_new_packet(), _new_packet()])
    assert len(labels(data)) == 2
    src = Source.from_bytes(data)
    plan = CODEC.plan_write(src, RECORD)
    assert plan.removed == ["heif:meta:xmp"]
    out = io.BytesIO()
    emit(plan, src, out)
    assert labels(out.getvalue()) == [("heif:meta:xmp", RECORD)]
    assert essence(out.getvalue()) == essence(data)


def test_new_item_gets_infe_iloc_and_cdsc() -> None:
    data = make("avif")
    out = write(data)
    meta = next(b for b in iter_boxes(Source.from_bytes(out), 0, len(out)) if b.type == b"meta")
    body = out[meta.offset : meta.end]
    assert b"mime" in body
    assert b"application/rdf+xml\x00" in body
    assert b"cdsc" in body
    assert len(labels(out)) == 1


# --- ISO BMFF walker ------------------------------------------------------------------------


def _walker_file(mdat_size: int = 1 << 20) -> bytes:
    trak = box(b"trak", box(b"tkhd", bytes(20)))
    moov = box(b"moov", box(b"mvhd", bytes(100)) + trak)
    uuid = box_header(b"uuid", 4, usertype=bytes(range(16))) + b"data"
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + mdat_size) + bytes(mdat_size)
    tail = struct.pack(">I4s", 0, b"free") + b"to the end"
    return box(b"ftyp", b"isom" + bytes(4)) + moov + uuid + large + tail


def test_walker_sizes_nesting_and_seeking() -> None:
    data = _walker_file()
    src = Source.from_bytes(data)
    seen = [(d, b.type, b.header_size) for d, b in walk(src)]
    assert seen == [
        (0, b"ftyp", 8), (0, b"moov", 8), (1, b"mvhd", 8), (1, b"trak", 8), (2, b"tkhd", 8),
        (0, b"uuid", 24), (0, b"mdat", 16), (0, b"free", 8),
    ]
    assert src.bytes_read < 200  # headers only: the 1 MiB mdat is never read
    boxes = list(iter_boxes(src, 0, src.size))
    assert boxes[-1].size == 18
    assert boxes[-1].end == len(data)
    assert boxes[-1].size_field == 0
    assert boxes[-2].large
    assert boxes[-2].payload_size == 1 << 20
    assert boxes[2].usertype == bytes(range(16))


def test_walker_limits() -> None:
    data = _walker_file(16)
    with pytest.raises(LimitExceededError, match="deeper"):
        list(walk(Source.from_bytes(data), limits=Limits(max_depth=2)))
    with pytest.raises(LimitExceededError, match="more than 3"):
        list(walk(Source.from_bytes(data), limits=Limits(max_items=3)))
    with pytest.raises(LimitExceededError):
        list(iter_boxes(Source.from_bytes(data), 0, len(data), Budget(Limits(max_items=2))))


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00\x07ftyp",  # size below the header
        b"\x00\x00\x01\x00ftypavif",  # overruns the file
        b"\x00\x00\x00\x01mdat\x00\x00",  # truncated largesize
        b"\x00\x00\x00\x10uuid" + bytes(8),  # truncated usertype
        b"\x00\x00\x00\x10ft",  # truncated header
    ],
)
def test_walker_rejects_damage(data: bytes) -> None:
    with pytest.raises(CorruptFileError):
        list(walk(Source.from_bytes(data)))


def test_iloc_encode_round_trip_and_widening() -> None:
    box_ = ItemLocationBox(1, 0, 4, 4, 0, 0, [
        ItemLocation(1, 0, 0, 0, [Extent(100, 20), Extent(200, 30)]),
        ItemLocation(2, 1, 0, 0, [Extent(0, 5)]),
    ])
    encoded = encode_iloc(fit_iloc(box_))
    assert parse_iloc(encoded[8:]) == box_
    big = ItemLocationBox(0, 0, 4, 4, 0, 0, [ItemLocation(70000, 0, 0, 0, [Extent(1 << 33, 1)])])
    fitted = fit_iloc(big)
    assert (fitted.version, fitted.offset_size) == (2, 8)
    assert parse_iloc(encode_iloc(fitted)[8:]).items == big.items


# --- robustness -----------------------------------------------------------------------------


def _exercise(data: bytes) -> None:
    src = Source.from_bytes(data)
    try:
        CODEC.read_labels(src)
        CODEC.essence_digest(src)
        emit(CODEC.plan_write(src, RECORD), src, io.BytesIO())
    except AiglabelError:
        pass


@pytest.mark.parametrize("fmt", ["avif", "heic"])
def test_truncated_and_damaged_inputs_raise_only_aiglabel_errors(fmt: str) -> None:
    base = make(fmt, xmp=XMP_WITH_OLD, exif=_exif())
    samples = [base, write(base), synthetic([_new_packet()], in_idat=True)]
    rng = random.Random(45438)
    for data in samples:
        for cut in range(0, len(data), 23):
            _exercise(data[:cut])
        for _ in range(150):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(min(len(damaged), 700))
                damaged[pos] = rng.randrange(256)
            _exercise(bytes(damaged))
    _exercise(b"\x00\x00\x00\x14ftypavif\x00\x00\x00\x00avif" + bytes(64))
    _exercise(b"garbage" * 30)


def test_no_meta_box_is_corrupt() -> None:
    data = box(b"ftyp", b"avif" + bytes(4) + b"avif") + box(b"mdat", b"x")
    with pytest.raises(CorruptFileError, match="meta"):
        CODEC.read_labels(Source.from_bytes(data))


# --- interoperability ----------------------------------------------------------------------


def _warnings(path: Path) -> set[str]:
    out = subprocess.run(
        ["exiftool", "-validate", "-warning", "-a", "-s", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return {line for line in out.splitlines() if "Warning" in line}


@pytest.mark.interop
@pytest.mark.parametrize("fmt", ["avif", "heic"])
def test_exiftool_reads_the_label(fmt: str, tmp_path: Path) -> None:
    if not shutil.which("exiftool"):
        pytest.skip("exiftool not installed")
    src_path = tmp_path / f"in.{fmt}"
    out_path = tmp_path / f"out.{fmt}"
    src_path.write_bytes(make(fmt, xmp=XMP_WITH_OLD, exif=_exif()))
    with src_path.open("rb") as f, out_path.open("wb") as out:  # kernel-copied spans
        src = Source(f, name=str(src_path))
        emit(CODEC.plan_write(src, RECORD), src, out)
    assert out_path.read_bytes() == write(src_path.read_bytes())
    shown = subprocess.run(
        ["exiftool", "-a", "-G1", "-s", str(out_path)], capture_output=True, text=True,
        check=True,
    ).stdout
    tc260 = [line for line in shown.splitlines() if line.startswith("[XMP-TC260]")]
    assert len(tc260) == 1
    assert RECORD.to_json() in tc260[0]
    assert "Kept title" in shown
    assert "TestMake" in shown
    assert _warnings(out_path) <= _warnings(src_path)
