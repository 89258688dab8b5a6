"""TIFF codec: XMP in IFD0 tag 700, written in place or as a new IFD0; UserComment removal."""

from __future__ import annotations

import io
import random
import struct

import pytest
from PIL import Image, ImageCms
from tests.conftest import CodecHarness, decoded_frames

from aiglabel._io import Source
from aiglabel.codecs import _tiff
from aiglabel.errors import AiglabelError, CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord

Field = tuple[int, int, int, bytes]  # tag, type, count, value bytes

PRODUCER = "001191110102MACQD9K64010000"
OLD_PRODUCER = "00119144030008867405X210002"
RECORD = AIGCRecord.for_producer(PRODUCER, "id-1")
OLD = AIGCRecord.for_producer(OLD_PRODUCER, "old-0001")
TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"
OLD_JSON = OLD.to_json()
WRAPPED_OLD = b'ASCII\x00\x00\x00{"AIGC":' + OLD_JSON.encode() + b"}"


def xmp(*descriptions: str, padding: int = 0) -> bytes:
    """An XMP packet with the given rdf:Description elements and ``padding`` spaces."""
    body = "".join(descriptions)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f"{body}"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n" + " " * padding + '\n<?xpacket end="w"?>'
    ).encode()


TITLE = (
    '  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Sunset</rdf:li></rdf:Alt></dc:title>'
    "</rdf:Description>\n"
)
OLD_ELEMENT = (
    f'  <rdf:Description rdf:about="" xmlns:TC260="{TC260}"><TC260:AIGC>'
    + OLD_JSON.replace('"', "&quot;")
    + "</TC260:AIGC></rdf:Description>\n"
)
OLD_ATTRIBUTE = (
    f'  <rdf:Description rdf:about="" xmlns:TC260="{TC260}" TC260:AIGC="'
    + OLD_JSON.replace('"', "&quot;")
    + '"/>\n'
)


# --- a small TIFF writer: gray 8-bit strips, any byte order, classic or BigTIFF ---------------


class Builder:
    """Lays out blobs and IFDs sequentially; ``finish`` links the main chain."""

    def __init__(self, endian: str = "<", big: bool = False) -> None:
        self.e, self.big = endian, big
        self.buf = bytearray(16 if big else 8)
        self.chain: list[tuple[int, int]] = []  # (IFD offset, link position)

    def blob(self, data: bytes) -> int:
        if len(self.buf) % 2:
            self.buf += b"\x00"
        offset = len(self.buf)
        self.buf += data
        return offset

    def ifd(self, entries: list[Field]) -> tuple[int, int]:
        """Write an IFD of (tag, type, count, value bytes); return its offset and link pos."""
        inline = 8 if self.big else 4
        fields = []
        for tag, typ, count, value in sorted(entries):
            if len(value) <= inline:
                fields.append((tag, typ, count, value.ljust(inline, b"\x00")))
            else:
                offset = self.blob(value)
                fields.append((tag, typ, count, self.pack("Q" if self.big else "I", offset)))
        head = self.pack("Q" if self.big else "H", len(fields))
        table = b"".join(self.pack("HHQ" if self.big else "HHI", t, y, c) + v
                         for t, y, c, v in fields)
        offset = self.blob(head + table + bytes(8 if self.big else 4))
        return offset, offset + len(head) + len(table)

    def pack(self, fmt: str, *values: int) -> bytes:
        return struct.pack(self.e + fmt, *values)

    def page(self, width: int, height: int, seed: int, extra: list[Field] | None = None) -> None:
        pixels = bytes((x * 7 + y * 13 + seed) % 256 for y in range(height) for x in range(width))
        strip_len = width * (height // 2)
        strips = [self.blob(pixels[:strip_len]), self.blob(pixels[strip_len:])]
        long = 16 if self.big else 4
        lfmt = "Q" if self.big else "I"
        entries = [
            (256, 3, 1, self.pack("H", width)),
            (257, 3, 1, self.pack("H", height)),
            (258, 3, 1, self.pack("H", 8)),
            (259, 3, 1, self.pack("H", 1)),
            (262, 3, 1, self.pack("H", 1)),
            (273, long, 2, self.pack(lfmt * 2, *strips)),
            (277, 3, 1, self.pack("H", 1)),
            (278, 3, 1, self.pack("H", height // 2)),
            (279, long, 2, self.pack(lfmt * 2, strip_len, len(pixels) - strip_len)),
            *(extra or []),
        ]
        self.chain.append(self.ifd(entries))

    def sub_ifd(self, entries: list[Field]) -> Field:
        """Write a sub-IFD; return the IFD0 entry pointing at it (tag 0x8769)."""
        offset, _ = self.ifd(entries)
        return (0x8769, 4, 1, self.pack("I", offset))

    def finish(self) -> bytes:
        if self.big:
            self.buf[:16] = (b"II" if self.e == "<" else b"MM") + self.pack("HHHQ", 43, 8, 0,
                                                                           self.chain[0][0])
        else:
            self.buf[:8] = (b"II" if self.e == "<" else b"MM") + self.pack("HI", 42,
                                                                          self.chain[0][0])
        size = 8 if self.big else 4
        for (_, link), (nxt, _) in zip(self.chain, self.chain[1:], strict=False):
            self.buf[link : link + size] = self.pack("Q" if self.big else "I", nxt)
        return bytes(self.buf)


def crafted(endian: str = "<", big: bool = False, pages: int = 1,
            extra: list[Field] | None = None,
            exif: list[Field] | None = None) -> bytes:
    b = Builder(endian, big)
    for n in range(pages):
        more = list(extra or []) if n == 0 else []
        if n == 0 and exif is not None:
            more.append(b.sub_ifd(exif))
        b.page(12, 6, n, more)
    return b.finish()


def xmp_entry(packet: bytes, typ: int = 7) -> Field:
    return (700, typ, len(packet), packet)


def pillow_tiff(**kw: object) -> bytes:
    img = Image.new("RGB", (24, 16))
    img.putdata([(x * 10 % 256, y * 15 % 256, (x * y) % 256) for y in range(16) for x in range(24)])
    out = io.BytesIO()
    img.save(out, "TIFF", **kw)
    return out.getvalue()


# --- helpers ---------------------------------------------------------------------------------


HARNESS = CodecHarness("tiff")
codec = HARNESS.codec
labels = HARNESS.labels
essence = HARNESS.essence


def write(data: bytes, record: AIGCRecord = RECORD) -> bytes:
    return HARNESS.write(data, record)


frames = decoded_frames


def header_and_ifd0(data: bytes) -> tuple[_tiff.Header, _tiff.Ifd]:
    header = _tiff.parse_header(data[:16])
    return header, _tiff.read_ifd(_tiff.buffer_reader(data), header, header.first_ifd)


def strips(data: bytes) -> list[bytes]:
    """The raw strip bytes of every page, read without Pillow."""
    header = _tiff.parse_header(data[:16])
    read = _tiff.buffer_reader(data)
    fmt = {3: "H", 4: "I", 16: "Q"}
    out, offset = [], header.first_ifd
    while offset:
        ifd = _tiff.read_ifd(read, header, offset)
        offs, counts = ifd.find(273), ifd.find(279)
        assert offs is not None
        assert counts is not None
        o, n = (
            struct.unpack(f"{header.endian}{e.count}{fmt[e.type]}", _tiff.entry_value(read, e))
            for e in (offs, counts)
        )
        out.append(b"".join(data[a : a + b] for a, b in zip(o, n, strict=True)))
        offset = ifd.next_offset
    return out


def assert_lossless(before: bytes, after: bytes) -> None:
    if before.startswith(b"MM\x00+"):
        # Pillow 13 reads big-endian BigTIFF as classic TIFF (it tests ifh[2] == 43).
        assert strips(after) == strips(before)
    else:
        assert frames(after) == frames(before)
    assert essence(after) == essence(before)


INPUTS = {
    "pillow-le": lambda: pillow_tiff(),
    "pillow-bigtiff": lambda: pillow_tiff(big_tiff=True),
    "crafted-be": lambda: crafted(">"),
    "crafted-bigtiff-be": lambda: crafted(">", big=True),
    "crafted-bigtiff-le": lambda: crafted("<", big=True),
}


# --- tests -----------------------------------------------------------------------------------


def test_sniff() -> None:
    sniff = codec().sniff
    assert sniff(b"II*\x00\x08\x00\x00\x00") == 2
    assert sniff(b"MM\x00*\x00\x00\x00\x08") == 2
    assert sniff(b"II+\x00\x08\x00\x00\x00") == 2
    assert sniff(b"MM\x00+\x00\x08\x00\x00") == 2
    assert sniff(b"GIF89a") == 0
    assert sniff(b"") == 0


@pytest.mark.parametrize("name", list(INPUTS))
def test_write_read_roundtrip_idempotent_lossless(name: str) -> None:
    data = INPUTS[name]()
    assert labels(data) == []
    out = write(data)
    found = labels(out)
    assert [(f.carrier, f.form, f.record) for f in found] == [("tiff:ifd0:xmp", "bare", RECORD)]
    assert write(out) == out  # same record twice: identical bytes
    assert_lossless(data, out)
    header, ifd0 = header_and_ifd0(out)
    entry = ifd0.find(700)
    assert entry is not None
    assert entry.type == 7
    tags = [e.tag for e in ifd0.entries]
    assert tags == sorted(tags)


def test_new_ifd0_appended_and_nothing_moves() -> None:
    data = crafted()
    out = write(data)
    # The original bytes are a prefix except the first-IFD offset (bytes 4..8).
    assert out[:4] == data[:4]
    assert out[8 : len(data)] == data[8:]
    header, ifd0 = header_and_ifd0(out)
    assert header.first_ifd >= len(data)
    assert header.first_ifd % 2 == 0
    _, old0 = header_and_ifd0(data)
    assert ifd0.next_offset == old0.next_offset
    new_strips, old_strips = ifd0.find(273), old0.find(273)
    assert new_strips is not None
    assert old_strips is not None
    assert new_strips.data_offset == old_strips.data_offset  # strip offsets still point home


def test_odd_sized_input_gets_word_aligned_ifd() -> None:
    data = crafted() + b"Z"  # one trailing byte makes the size odd
    assert len(data) % 2
    out = write(data)
    header, _ = header_and_ifd0(out)
    assert header.first_ifd % 2 == 0
    assert labels(out)[0].record == RECORD
    assert_lossless(data, out)


def test_in_place_reuses_padding() -> None:
    packet = xmp(TITLE, OLD_ELEMENT, padding=2000)
    data = crafted(extra=[xmp_entry(packet)])
    out = write(data)
    assert len(out) == len(data)  # rewritten in place: same size, same offsets
    assert out[:8] == data[:8]
    found = labels(out)
    assert [f.record for f in found] == [RECORD]
    assert OLD_PRODUCER.encode() not in out
    assert b"Sunset" in out
    assert out.count(b"<?xpacket end") == 1
    assert write(out) == out
    assert_lossless(data, out)


def test_grow_replaces_old_label_and_blanks_old_packet() -> None:
    packet = xmp(TITLE, OLD_ATTRIBUTE)  # no padding: the new packet cannot fit
    data = crafted(">", extra=[xmp_entry(packet)])
    out = write(data)
    assert len(out) > len(data)
    found = labels(out)
    assert [(f.form, f.record) for f in found] == [("bare", RECORD)]
    assert OLD_PRODUCER.encode() not in out  # the orphaned old packet was zeroed
    assert out.count(b"Sunset") == 1
    assert write(out) == out
    assert_lossless(data, out)


def test_other_xmp_properties_survive() -> None:
    data = pillow_tiff(tiffinfo={700: xmp(TITLE, padding=100)})
    out = write(data)
    with Image.open(io.BytesIO(out)) as img:
        packet = img.info["xmp"]
    assert b"<rdf:li xml:lang=\"x-default\">Sunset</rdf:li>" in packet
    assert TC260.encode() in packet


def test_byte_type_xmp_is_read_and_rewritten_as_undefined() -> None:
    packet = xmp(OLD_ELEMENT, padding=500)
    data = crafted(extra=[xmp_entry(packet, typ=1)])
    found = labels(data)
    assert [f.record for f in found] == [OLD]
    assert any(x.code == "G3.carrier" for x in found[0].findings)
    out = write(data)
    assert len(out) == len(data)
    _, ifd0 = header_and_ifd0(out)
    entry = ifd0.find(700)
    assert entry is not None
    assert entry.type == 7
    assert [f.record for f in labels(out)] == [RECORD]
    assert_lossless(data, out)


def test_exif_and_icc_survive() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "AiglabelCam"
    exif[0x0110] = "Fixture One"
    data = pillow_tiff(icc_profile=icc, exif=exif)
    out = write(data)
    with Image.open(io.BytesIO(out)) as img:
        assert img.info["icc_profile"] == icc
        got = img.getexif()
        assert got[0x010F] == "AiglabelCam"
        assert got[0x0110] == "Fixture One"
    assert_lossless(data, out)


@pytest.mark.parametrize("where", ["exif-ifd", "ifd0"])
@pytest.mark.parametrize("big", [False, True])
def test_user_comment_label_removed(where: str, big: bool) -> None:
    comment = (0x9286, 7, len(WRAPPED_OLD), WRAPPED_OLD)
    date = (0x9003, 2, 20, b"2025:09:01 12:00:00\x00")
    if where == "ifd0":
        data = crafted(big=big, extra=[comment], exif=[date])
    else:
        data = crafted(big=big, exif=[date, comment])
    found = labels(data)
    assert [(f.carrier, f.form, f.record) for f in found] == [
        ("tiff:exif:UserComment", "wrapped", OLD)
    ]
    src = Source.from_bytes(data)
    plan = codec().plan_write(src, RECORD)
    assert plan.removed == ["tiff:exif:UserComment"]
    out = write(data)
    assert [(f.carrier, f.record) for f in labels(out)] == [("tiff:ifd0:xmp", RECORD)]
    assert OLD_PRODUCER.encode() not in out
    assert b"2025:09:01 12:00:00" in out  # the rest of the Exif IFD stays
    assert write(out) == out
    assert_lossless(data, out)


def test_user_comment_removed_on_in_place_path() -> None:
    comment = (0x9286, 7, len(WRAPPED_OLD), WRAPPED_OLD)
    data = crafted(extra=[comment, xmp_entry(xmp(TITLE, padding=1000))])
    out = write(data)
    assert len(out) == len(data)
    assert [(f.carrier, f.record) for f in labels(out)] == [("tiff:ifd0:xmp", RECORD)]
    assert OLD_PRODUCER.encode() not in out
    _, ifd0 = header_and_ifd0(out)
    assert ifd0.find(0x9286) is None
    assert len(ifd0.entries) == 10
    assert_lossless(data, out)


def test_plain_user_comment_is_kept() -> None:
    note = b"ASCII\x00\x00\x00shot on a tripod"
    data = crafted(exif=[(0x9286, 7, len(note), note)])
    out = write(data)
    assert note in out
    assert len(labels(out)) == 1


@pytest.mark.parametrize("big", [False, True])
def test_multipage_keeps_every_page(big: bool) -> None:
    data = crafted(big=big, pages=3)
    out = write(data)
    assert len(frames(out)) == 3
    assert_lossless(data, out)
    pages = [
        Image.new("L", (20, 10), 40),
        Image.new("L", (20, 10), 200),
    ]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:], big_tiff=big)
    data = buf.getvalue()
    out = write(data)
    assert len(frames(out)) == 2
    assert_lossless(data, out)


def test_tiled_tiff_essence_covers_tiles() -> None:
    img = Image.new("L", (32, 32))
    img.putdata([(x ^ y) % 256 for y in range(32) for x in range(32)])
    buf = io.BytesIO()
    img.save(buf, "TIFF", tiffinfo={322: 16, 323: 16})
    data = buf.getvalue()
    out = write(data)
    assert_lossless(data, out)


def test_essence_changes_when_pixels_change() -> None:
    data = crafted()
    _, ifd0 = header_and_ifd0(data)
    entry = ifd0.find(273)
    assert entry is not None
    strip = struct.unpack("<I", data[entry.data_offset : entry.data_offset + 4])[0]
    flipped = bytearray(data)
    flipped[strip] ^= 0xFF
    assert essence(bytes(flipped)) != essence(data)


def test_loop_and_limits() -> None:
    data = bytearray(crafted(pages=2))
    header, ifd0 = header_and_ifd0(bytes(data))
    second = _tiff.read_ifd(_tiff.buffer_reader(bytes(data)), header, ifd0.next_offset)
    data[second.next_pos : second.next_pos + 4] = struct.pack("<I", ifd0.offset)  # loop
    with pytest.raises(CorruptFileError, match="loops"):
        essence(bytes(data))
    huge = bytearray(crafted())
    huge[ifd0.offset : ifd0.offset + 2] = struct.pack("<H", 60000)
    with pytest.raises(LimitExceededError):
        labels(bytes(huge))


def _only_aiglabel_errors(data: bytes) -> None:
    c = codec()
    for action in (
        lambda: c.read_labels(Source.from_bytes(data)),
        lambda: c.essence_digest(Source.from_bytes(data)),
        lambda: write(data),
    ):
        try:
            action()
        except AiglabelError:
            pass


def test_truncated_and_garbage_inputs_raise_only_aiglabel_errors() -> None:
    comment = (0x9286, 7, len(WRAPPED_OLD), WRAPPED_OLD)
    samples = [
        crafted(extra=[xmp_entry(xmp(TITLE, OLD_ELEMENT))], exif=[comment]),
        crafted(">", big=True, pages=2),
        pillow_tiff(),
    ]
    for data in samples:
        for n in range(0, len(data), 7):
            _only_aiglabel_errors(data[:n])
        rng = random.Random(45438)
        for _ in range(150):
            bad = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                bad[rng.randrange(len(bad))] = rng.randrange(256)
            _only_aiglabel_errors(bytes(bad))
    for junk in (b"II*\x00", b"MM\x00*\xff\xff\xff\xff", b"II+\x00\x08\x00\x00\x00" + bytes(8),
                 b"II*\x00\x08\x00\x00\x00\xff\xff" + bytes(20)):
        _only_aiglabel_errors(junk)
    with pytest.raises(CorruptFileError):
        labels(b"II*\x00\x08\x00\x00\x00\x05\x00")
