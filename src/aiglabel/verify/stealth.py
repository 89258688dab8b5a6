"""NovelAI's "stealth" metadata in pixel least significant bits (generation-traces.md §1).

NovelAI writes its generation JSON into the least significant bit of the alpha channel, read
**column-major** (x outer, y inner: all rows of column 0, then column 1, ...). The layout is a
120-bit signature (15 ASCII characters), a 32-bit big-endian payload length **in bits**, then
the payload bits, most significant bit first:

=================== ======== =================================================
magic               channel  payload
=================== ======== =================================================
``stealth_pngcomp`` alpha    gzip stream (NovelAI's own images)
``stealth_pnginfo`` alpha    plain UTF-8 text
``stealth_rgbcomp`` R, G, B  gzip stream; each pixel gives three bits, R G B
``stealth_rgbinfo`` R, G, B  plain UTF-8 text
=================== ======== =================================================

The mark survives metadata stripping but not a re-encode of the channel. Finding the magic
is the match rule ("magic decoded at the start"); the payload is decoded only to describe it.
A trace is an unsigned hint: ``suspected`` at most.

Pillow is needed only to call :func:`read_stealth` (the caller passes a ``PIL.Image.Image``);
this module imports without it. Bits are extracted with Pillow's transpose and byte
translation, so numpy is not needed either.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from aiglabel.verify.traces import AI_GENERATED, DETAIL_LIMIT, TIER_TRACE, Trace

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ALPHA_MAGICS", "RGB_MAGICS", "StealthPayload", "read_stealth", "stealth_trace"]

ALPHA_MAGICS: Final = ("stealth_pngcomp", "stealth_pnginfo")
RGB_MAGICS: Final = ("stealth_rgbcomp", "stealth_rgbinfo")
_SIGNATURE_BITS: Final = 120  # 15 ASCII characters
_HEADER_BITS: Final = _SIGNATURE_BITS + 32  # signature + 32-bit length in bits
# byte -> ASCII "0"/"1" of its least significant bit
_LSB_TABLE: Final = bytes(0x30 | (b & 1) for b in range(256))


@dataclass(frozen=True, slots=True)
class StealthPayload:
    """A stealth payload found in the pixels.

    Attributes:
        magic: the signature read, e.g. ``"stealth_pngcomp"``.
        text: the payload as text (gunzipped for the ``comp`` variants); ``None`` when it
            could not be read at all.
        error: why the payload could not be read (fully), else ``None``. The magic alone is
            still a trace.
    """

    magic: str
    text: str | None
    error: str | None = None

    @property
    def channel(self) -> str:
        """``"alpha"`` or ``"rgb"``: where the bits were read."""
        return "rgb" if self.magic in RGB_MAGICS else "alpha"

    @property
    def carrier(self) -> str:
        """The carrier id: ``"pixels:alpha-lsb"`` or ``"pixels:rgb-lsb"``."""
        return f"pixels:{self.channel}-lsb"

    @property
    def compressed(self) -> bool:
        """True for the gzip variants."""
        return self.magic.endswith("comp")


class _Bits:
    """Column-major LSB reader over one image (the alpha band, or R, G, B interleaved)."""

    def __init__(self, image: Image.Image, band: str | None) -> None:
        self.image = image
        self.band = band  # "A", or None for R, G, B
        self.per_pixel = 1 if band else 3
        self.width, self.height = image.size

    @property
    def capacity(self) -> int:
        return self.width * self.height * self.per_pixel

    def read(self, nbits: int) -> str | None:
        """The first ``nbits`` bits as an ASCII ``"0"``/``"1"`` string; ``None`` if too few."""
        if nbits > self.capacity or self.height == 0:
            return None
        from PIL import Image

        per_column = self.height * self.per_pixel
        columns = min(self.width, -(-nbits // per_column))
        region = self.image.crop((0, 0, columns, self.height))  # only the columns needed
        if self.band:
            region = region.getchannel(self.band)
        elif region.mode != "RGB":
            region = region.convert("RGB")
        # transposed, row-major bytes are the original's column-major bytes
        data = region.transpose(Image.Transpose.TRANSPOSE).tobytes()
        return data[:nbits].translate(_LSB_TABLE).decode("ascii")


def _bits_to_bytes(bits: str) -> bytes:
    usable = len(bits) - len(bits) % 8
    return int(bits[:usable], 2).to_bytes(usable // 8, "big") if usable else b""


def _gunzip(data: bytes, limit: int) -> tuple[bytes | None, str | None]:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip wrapper
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        return None, f"payload is not valid gzip data ({exc})"
    if len(out) > limit:
        return None, f"decompressed payload exceeds {limit} bytes"
    if not inflater.eof:
        return out, "gzip stream is truncated"
    return out, None


def _decode(reader: _Bits, magic: str, max_payload: int, max_text: int) -> StealthPayload:
    header = reader.read(_HEADER_BITS)
    if header is None:  # cannot happen: the signature was read from these bits
        return StealthPayload(magic, None, "no room for the length field")
    length = int(header[_SIGNATURE_BITS:], 2)
    nbytes = length // 8
    if nbytes == 0:
        return StealthPayload(magic, None, "declared payload length is zero")
    if nbytes > max_payload:
        return StealthPayload(magic, None, f"declared payload of {nbytes} bytes exceeds the "
                              f"limit of {max_payload}")
    if _HEADER_BITS + length > reader.capacity:
        return StealthPayload(magic, None, f"declared payload of {length} bits does not fit "
                              "in the image")
    bits = reader.read(_HEADER_BITS + nbytes * 8)
    if bits is None:
        return StealthPayload(magic, None, "payload bits unreadable")
    data: bytes | None = _bits_to_bytes(bits[_HEADER_BITS:])
    error = None
    if magic.endswith("comp") and data is not None:
        data, error = _gunzip(data, max_text)
    if data is None:
        return StealthPayload(magic, None, error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        error = error or "payload is not valid UTF-8"
    return StealthPayload(magic, text, error)


def _readers(image: Image.Image) -> list[tuple[_Bits, tuple[str, ...]]]:
    bands = image.getbands()
    out: list[tuple[_Bits, tuple[str, ...]]] = []
    if "A" in bands:
        out.append((_Bits(image, "A"), ALPHA_MAGICS))
    if image.mode in ("RGB", "RGBA", "RGBX"):
        out.append((_Bits(image, None), RGB_MAGICS))
    return out


def read_stealth(
    image: Image.Image, *, max_payload: int = 1 << 20, max_text: int = 4 << 20
) -> StealthPayload | None:
    """Read a NovelAI stealth payload from ``image``'s pixels; ``None`` when there is none.

    The alpha variants are tried first (images with an ``A`` band), then the RGB variants
    (``RGB``/``RGBA`` images). Once a magic is found the result is never ``None``: a payload
    that is too long (over ``max_payload`` bytes, or ``max_text`` bytes once gunzipped),
    truncated, not gzip or not UTF-8 gives a :class:`StealthPayload` with ``error`` set.
    Never raises for odd images (no alpha, tiny, unusual modes).
    """
    try:
        for reader, magics in _readers(image):
            signature = reader.read(_SIGNATURE_BITS)
            if signature is None:
                continue
            magic = _bits_to_bytes(signature).decode("latin-1")
            if magic in magics:
                return _decode(reader, magic, max_payload, max_text)
    except (OSError, ValueError, TypeError, MemoryError):  # a damaged or unusual image
        return None
    return None


def _summary(payload: StealthPayload) -> str:
    if payload.text is None:
        return ""
    try:
        info = json.loads(payload.text)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(info, dict):
        return ""
    for key in ("Source", "Software"):
        value = info.get(key)
        if isinstance(value, str) and value.strip():
            return f" ({key}: {' '.join(value.split())[:60]})"
    return " (generation JSON)" if "Comment" in info or "prompt" in info else ""


def stealth_trace(payload: StealthPayload, carrier: str | None = None) -> Trace:
    """The :class:`~aiglabel.verify.traces.Trace` for a payload: NovelAI, AI-generated, tier 5.

    ``carrier`` defaults to the payload's own (``pixels:alpha-lsb`` or ``pixels:rgb-lsb``).
    """
    where = "alpha" if payload.channel == "alpha" else "R/G/B"
    detail = f"{payload.magic} payload in the {where} least significant bits{_summary(payload)}"
    if payload.error:
        detail += f"; {payload.error}"
    if len(detail) > DETAIL_LIMIT:
        detail = detail[: DETAIL_LIMIT - 1] + "…"
    return Trace("NovelAI", carrier or payload.carrier, payload.magic, detail, AI_GENERATED,
                 TIER_TRACE)
