"""Reading labels touches headers only: sparse 1 GiB files are read in well under 1 MiB."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, record

from aiglabel._io import Source
from aiglabel.registry import default_registry

if TYPE_CHECKING:
    from pathlib import Path

GIB = 1 << 30


def _sparse(path: Path, head: bytes, payload: int, tail: bytes = b"") -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(len(head) + payload)
        f.seek(len(head) + payload)
        f.write(tail)
    return path


def _png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def big_jpeg(tmp: Path) -> Path:
    import aiglabel

    data = aiglabel.label_bytes((MEDIA / "jpeg" / "exif-icc.jpg").read_bytes(), record("big"))
    return _sparse(tmp / "big.jpg", data, GIB)  # 1 GiB of trailing data after EOI


def big_png(tmp: Path) -> Path:
    import aiglabel

    small = aiglabel.label_bytes((MEDIA / "png" / "plain.png").read_bytes(), record("big"))
    head = small[: small.index(b"IDAT") - 4]
    idat_header = struct.pack(">I", GIB) + b"IDAT"
    tail = b"\x00\x00\x00\x00" + _png_chunk(b"IEND", b"")
    return _sparse(tmp / "big.png", head + idat_header, GIB, tail)


def big_webp(tmp: Path) -> Path:
    import aiglabel

    small = aiglabel.label_bytes((MEDIA / "webp" / "lossy.webp").read_bytes(), record("big"))
    # RIFF header, VP8X (8 + 10 bytes), then a 1 GiB unknown chunk before the image data.
    vp8x, body = small[12:30], small[30:]
    assert vp8x.startswith(b"VP8X")
    filler = b"JUNK" + struct.pack("<I", GIB)
    size = 4 + len(vp8x) + len(filler) + GIB + len(body)
    head = b"RIFF" + struct.pack("<I", size) + b"WEBP" + vp8x + filler
    return _sparse(tmp / "big.webp", head, GIB, body)


@pytest.mark.parametrize(("name", "make"), [("jpeg", big_jpeg), ("png", big_png),
                                            ("webp", big_webp)])
def test_reading_a_sparse_gigabyte_file_reads_headers_only(
    name: str, make: object, tmp_path: Path
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    codec = default_registry.get(name)()
    with open(path, "rb") as f:
        src = Source(f, name=str(path))
        labels = codec.read_labels(src)
        assert [lb.record for lb in labels] == [record("big")]
        assert src.size > GIB
        assert src.bytes_read < 1 << 20, src.bytes_read
