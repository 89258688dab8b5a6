"""GIF codec: XMP application extension labels, comment labels, block walking."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image
from tests.conftest import CodecHarness

from aiglabel._io import Source
from aiglabel.codecs import gif
from aiglabel.errors import AiglabelError, CorruptFileError
from aiglabel.gb45438 import AIGCRecord

PRODUCER = "001191110102MACQD9K64010000"
OLD_PRODUCER = "00119144030008867405X210002"
RECORD = AIGCRecord.for_producer(PRODUCER, "id-1")
OLD = AIGCRecord.for_producer(OLD_PRODUCER, "old-0001")
OLD_JSON = OLD.to_json()
TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"
XMP_HEAD = b"\x21\xff\x0bXMP DataXMP"
TRAILER = bytes([1, *range(255, -1, -1), 0])


def xmp(*descriptions: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        + "".join(descriptions)
        + " </rdf:RDF>\n</x:xmpmeta>\n" + " " * 99 + '\n<?xpacket end="w"?>'
    ).encode()


TITLE = (
    '  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">旧标签 Sunset</rdf:li></rdf:Alt></dc:title>'
    "</rdf:Description>\n"
)
OLD_ELEMENT = (
    f'  <rdf:Description rdf:about="" xmlns:TC260="{TC260}"><TC260:AIGC>'
    + OLD_JSON.replace('"', "&quot;")
    + "</TC260:AIGC></rdf:Description>\n"
)


def xmp_ext(packet: bytes, trailer: bytes = TRAILER) -> bytes:
    return XMP_HEAD + packet + trailer


def sub_blocks(data: bytes) -> bytes:
    return b"".join(bytes([len(c)]) + c for c in (data[i : i + 255]
                                                for i in range(0, len(data), 255))) + b"\x00"


def comment_ext(text: bytes) -> bytes:
    return b"\x21\xfe" + sub_blocks(text)


def picture(seed: int, size: tuple[int, int] = (20, 12)) -> Image.Image:
    img = Image.new("P", size)
    img.putpalette([(i * 37 + seed) % 256 for i in range(768)])
    w, h = size
    img.putdata([(x * 3 + y * 5 + seed) % 16 for y in range(h) for x in range(w)])
    return img


def encode(img: Image.Image, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, "GIF", **kw)
    return out.getvalue()


def gif87() -> bytes:
    data = encode(picture(1))
    assert data.startswith(b"GIF87a")
    return data


def gif89() -> bytes:
    return b"GIF89a" + gif87()[6:]


def animated() -> bytes:
    frames = [picture(s) for s in (2, 3, 4)]
    return encode(frames[0], save_all=True, append_images=frames[1:], duration=[80, 120, 160],
                  loop=0)


def blocks_start(data: bytes) -> int:
    return gif.screen_end(Source.from_bytes(data))


def insert(data: bytes, at: int, block: bytes) -> bytes:
    return data[:at] + block + data[at:]


def before_trailer(data: bytes) -> int:
    assert data.endswith(b"\x3b")
    return len(data) - 1


# --- helpers ---------------------------------------------------------------------------------


HARNESS = CodecHarness("gif")
codec = HARNESS.codec
labels = HARNESS.labels
essence = HARNESS.essence


def write(data: bytes, record: AIGCRecord = RECORD) -> bytes:
    return HARNESS.write(data, record)


def frames(data: bytes) -> list[tuple[bytes, object]]:
    with Image.open(io.BytesIO(data)) as img:
        out = []
        for i in range(getattr(img, "n_frames", 1)):
            img.seek(i)
            out.append((img.convert("RGBA").tobytes(), img.info.get("duration")))
        return out


def assert_lossless(before: bytes, after: bytes) -> None:
    assert frames(after) == frames(before)
    assert essence(after) == essence(before)


def kinds(data: bytes) -> list[str]:
    names = {0x21: "ext", 0x2C: "image", 0x3B: "trailer"}
    return [
        names[b.kind] + (f":{b.label:02x}" if b.label else "")
        + (":" + b.app_id.decode() if b.app_id else "")
        for b in gif.iter_blocks(Source.from_bytes(data))
    ]


# --- tests -----------------------------------------------------------------------------------


def test_sniff() -> None:
    assert codec().sniff(b"GIF87a\x01\x00") == 2
    assert codec().sniff(b"GIF89a") == 2
    assert codec().sniff(b"GIF90a") == 0
    assert codec().sniff(b"\x89PNG") == 0


def test_magic_trailer_layout() -> None:
    assert len(gif.MAGIC_TRAILER) == 258
    assert gif.MAGIC_TRAILER == TRAILER
    assert gif.MAGIC_TRAILER[:3] == b"\x01\xff\xfe"
    assert gif.MAGIC_TRAILER[-3:] == b"\x01\x00\x00"


@pytest.mark.parametrize("make", [gif87, gif89, animated], ids=["87a", "89a", "animated"])
def test_write_read_roundtrip_idempotent_lossless(make: object) -> None:
    data = make()  # type: ignore[operator]
    assert labels(data) == []
    out = write(data)
    assert out.startswith(b"GIF89a")  # extensions need GIF89a
    found = labels(out)
    assert [(f.carrier, f.form, f.record) for f in found] == [("gif:app:xmp", "bare", RECORD)]
    assert write(out) == out
    assert_lossless(data, out)
    at = blocks_start(data)
    assert out[at : at + 14] == XMP_HEAD  # right after the LSD and the Global Color Table
    assert out[at + 14 :].split(TRAILER)[0].startswith(b"<?xpacket begin")
    assert kinds(out) == ["ext:ff:XMP DataXMP", *kinds(data)]


def test_animated_gif_keeps_frames_and_loop() -> None:
    data = animated()
    out = write(data)
    with Image.open(io.BytesIO(out)) as img:
        assert img.n_frames == 3
        assert img.info.get("loop") == 0
    assert frames(out) == frames(data)
    assert [d for _, d in frames(out)] == [80, 120, 160]
    assert "ext:ff:NETSCAPE2.0" in kinds(out)


def test_existing_xmp_replaced_in_place_keeping_other_properties() -> None:
    data = gif89()
    data = insert(data, before_trailer(data), xmp_ext(xmp(TITLE, OLD_ELEMENT)))
    assert [f.record for f in labels(data)] == [OLD]
    out = write(data)
    assert [f.record for f in labels(out)] == [RECORD]
    assert OLD_PRODUCER.encode() not in out
    assert "旧标签 Sunset".encode() in out
    assert kinds(out) == kinds(data)  # the XMP extension stays where it was (after the image)
    assert out.endswith(TRAILER + b"\x3b")
    assert write(out) == out
    assert_lossless(data, out)


def test_further_xmp_extensions_lose_their_label() -> None:
    data = gif89()
    at = blocks_start(data)
    data = insert(data, at, xmp_ext(xmp(TITLE)))
    data = insert(data, before_trailer(data), xmp_ext(xmp(OLD_ELEMENT, TITLE)))
    plan = codec().plan_write(Source.from_bytes(data), RECORD)
    assert plan.removed == ["gif:app:xmp"]
    out = write(data)
    assert [f.record for f in labels(out)] == [RECORD]
    assert OLD_PRODUCER.encode() not in out
    assert out.count("旧标签 Sunset".encode()) == 2
    assert kinds(out) == kinds(data)
    assert_lossless(data, out)


def test_comment_label_read_and_removed_plain_comment_kept() -> None:
    wrapped = b'{"AIGC":' + OLD_JSON.encode() + b"}"
    data = gif89()
    at = blocks_start(data)
    data = insert(data, at, comment_ext(b"made with a brush") + comment_ext(wrapped))
    found = labels(data)
    assert [(f.carrier, f.form, f.record) for f in found] == [("gif:comment:AIGC", "wrapped", OLD)]
    plan = codec().plan_write(Source.from_bytes(data), RECORD)
    assert plan.removed == ["gif:comment:AIGC"]
    out = write(data)
    assert [(f.carrier, f.record) for f in labels(out)] == [("gif:app:xmp", RECORD)]
    assert b"made with a brush" in out
    assert OLD_PRODUCER.encode() not in out
    assert_lossless(data, out)


def test_long_comment_label_across_sub_blocks() -> None:
    record = AIGCRecord.for_producer(OLD_PRODUCER, "x" * 400)
    data = gif89()
    data = insert(data, blocks_start(data), comment_ext(record.to_json().encode()))
    assert [f.record for f in labels(data)] == [record]


def test_xmp_without_magic_trailer_is_read_and_repaired() -> None:
    data = gif89()
    broken = XMP_HEAD + sub_blocks(xmp(OLD_ELEMENT))  # packet stored as plain sub-blocks
    data = insert(data, blocks_start(data), broken)
    found = labels(data)
    assert [f.record for f in found] == [OLD]
    assert any("magic trailer" in x.message for x in found[0].findings)
    out = write(data)
    assert [f.record for f in labels(out)] == [RECORD]
    assert TRAILER in out
    assert_lossless(data, out)


def test_bytes_after_trailer_are_kept() -> None:
    data = gif89() + b"trailing junk"
    out = write(data)
    assert out.endswith(b"\x3btrailing junk")
    assert essence(out) == essence(data)


def test_essence_covers_pixels_and_palette() -> None:
    data = gif89()
    changed = bytearray(data)
    changed[20] ^= 0xFF  # inside the Global Color Table
    assert essence(bytes(changed)) != essence(data)
    assert essence(b"GIF87a" + data[6:]) == essence(data)  # the header is not essence


def test_large_image_data_is_walked_in_windows() -> None:
    rng = random.Random(7)
    img = Image.new("P", (700, 700))
    img.putpalette([rng.randrange(256) for _ in range(768)])
    img.putdata([rng.randrange(256) for _ in range(700 * 700)])
    data = encode(img)
    assert len(data) > 300_000
    src = Source.from_bytes(data)
    assert codec().read_labels(src) == []
    assert src.reads <= len(data) // (64 * 1024) + 8  # not one read per 255-byte sub-block


def test_corrupt_structures() -> None:
    data = gif89()
    at = blocks_start(data)
    with pytest.raises(CorruptFileError, match="introducer"):
        labels(insert(data, at, b"\x99"))
    with pytest.raises(CorruptFileError, match="truncated"):
        labels(data[: at + 12])
    with pytest.raises(CorruptFileError, match="signature"):
        labels(b"GIF00a" + data[6:])
    # A file that ends between blocks without the trailer is accepted.
    assert [f.record for f in labels(write(data[:-1]))] == [RECORD]


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
    base = gif89()
    labelled = insert(base, blocks_start(base), xmp_ext(xmp(TITLE, OLD_ELEMENT))
                      + comment_ext(OLD_JSON.encode()))
    for data in (labelled, animated()):
        for n in range(0, len(data), 5):
            _only_aiglabel_errors(data[:n])
        rng = random.Random(45438)
        for _ in range(200):
            bad = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                bad[rng.randrange(len(bad))] = rng.randrange(256)
            _only_aiglabel_errors(bytes(bad))
    for junk in (b"GIF89a", b"GIF89a\x01\x00\x01\x00\xff\x00\x00", b"GIF87a" + bytes(7) + b"\x21"):
        _only_aiglabel_errors(junk)


def test_large_gif_reads_stop_at_the_first_image(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped = ('{"AIGC":' + OLD_JSON + "}").encode()
    data = gif89()
    data = insert(data, before_trailer(data), comment_ext(wrapped))  # after the image data
    codec = gif.GifCodec()
    assert [f.record for f in codec.read_labels(Source.from_bytes(data))] == [OLD]
    monkeypatch.setattr(gif, "FULL_SCAN_LIMIT", len(data) - 1)
    src = Source.from_bytes(data)
    assert codec.read_labels(src) == []  # beyond the limit: header blocks only
    assert [f.code for f in codec.container_findings(src)] == ["G2.read-limit"]
    # A write still walks the whole file, so the late label is removed, not duplicated.
    out = write(data)
    assert [f.record for f in codec.read_labels(Source.from_bytes(out))] == [RECORD]
    assert b"old-0001" not in out
