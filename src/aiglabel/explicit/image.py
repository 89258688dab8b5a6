"""The explicit image label: visible text on the picture (GB 45438 §5.2, rules §A.2, §A.8).

GB 5.2: a text label containing the AI element and the generation element (rules §A.0), at an
edge or corner, legible, with a **text height of at least 5 % of the image's shortest side**
(``IMAGE_MIN_TEXT_HEIGHT_RATIO``). aiglabel draws ``AI生成`` by default at the bottom-right
corner, sized so that the drawn glyphs' ink height is ``IMAGE_TARGET_RATIO`` (6 %) of the
shortest side [project choice, rules §A.8], in white with a dark outline on a translucent dark
plate, legible on any background. The glyph height is measured on the rendered glyph mask, not
taken from the font size, and returned so a caller can check it.

The font is a subset of Noto Sans CJK SC shipped with the package (SIL OFL 1.1, licence in
``fonts/OFL.txt``; built by ``scripts/make_font.py``) covering ASCII and the Han characters of
the usual wordings. Wording with a character outside it needs ``font_path``; it is refused
before drawing, never rendered as empty boxes.

Only the label's rectangle is converted to RGBA and composited; the rest of the picture keeps
its pixels. Writing the labelled picture back to a file (re-encoding, metadata) is done by the
caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from aiglabel.errors import InvalidLabelError
from aiglabel.explicit.text import check_wording

if TYPE_CHECKING:
    from PIL import Image, ImageFont

__all__ = [
    "DEFAULT_IMAGE_WORDING",
    "IMAGE_MIN_TEXT_HEIGHT_RATIO",
    "IMAGE_TARGET_RATIO",
    "MIN_GLYPH_PIXELS",
    "POSITIONS",
    "ImageLabel",
    "LabelOverlay",
    "RenderedLabel",
    "add_image_label",
    "bundled_font",
    "check_output",
    "render_label",
    "render_overlay",
]

IMAGE_MIN_TEXT_HEIGHT_RATIO = 0.05  # GB 5.2 e) (rules §A.8)
IMAGE_TARGET_RATIO = 0.06  # rules §A.8 [project choice]: a margin over the minimum
# [project choice] Below this ink height CJK glyphs are not legible (and video encoders smear
# them away), so small pictures get a label taller than 6 %, or are refused if it cannot fit.
MIN_GLYPH_PIXELS = 12
DEFAULT_IMAGE_WORDING = "AI生成"
POSITIONS = ("bottom-right", "bottom-left", "top-right", "top-left", "bottom", "top")
_MISSING_PROBE = "\U0010fffd"  # a private-use code point no label font maps: its .notdef glyph
_MODES = {"RGB", "RGBA", "L", "LA"}  # drawn in place; other modes become RGB(A) first


def bundled_font() -> str:
    """Path of the bundled label font (a Noto Sans CJK SC subset, SIL OFL 1.1)."""
    return str(resources.files("aiglabel.explicit") / "fonts" / "aiglabel-label-sans.otf")


@dataclass(frozen=True, slots=True)
class ImageLabel:
    """What to draw: wording (rules §A.0 checked), corner or edge, the target glyph height as
    a fraction of the shortest side (never below 5 %), and an optional font file.

    Raises:
        InvalidLabelError: bad wording, position or ratio.
    """

    wording: str = DEFAULT_IMAGE_WORDING
    position: str = "bottom-right"
    ratio: float = IMAGE_TARGET_RATIO
    font_path: str | None = None

    def __post_init__(self) -> None:
        check_wording(self.wording)
        if self.position not in POSITIONS:
            msg = f"label position {self.position!r} is not one of {', '.join(POSITIONS)}"
            raise InvalidLabelError(msg)
        if not IMAGE_MIN_TEXT_HEIGHT_RATIO <= self.ratio <= 0.5:
            msg = (f"label height ratio {self.ratio} is outside {IMAGE_MIN_TEXT_HEIGHT_RATIO}"
                   "..0.5 (GB 45438 5.2 e): at least 5 % of the shortest side)")
            raise InvalidLabelError(msg)


@dataclass(frozen=True, slots=True)
class RenderedLabel:
    """A labelled picture: the image, the changed rectangle ``(left, top, right, bottom)``, and
    the drawn glyphs' ink height in pixels and as a fraction of the shortest side."""

    image: Image.Image
    box: tuple[int, int, int, int]
    glyph_height: int
    glyph_ratio: float


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def check_glyphs(wording: str, font_path: str) -> None:
    """Refuse wording with characters the font has no glyph for (they would draw as boxes).

    Raises:
        InvalidLabelError: the characters missing from the font, named.
    """
    font = _font(font_path, 48)
    notdef = font.getmask(_MISSING_PROBE)
    notdef_key = (notdef.size, bytes(notdef))
    missing = sorted({ch for ch in wording if not ch.isspace()
                      and (lambda m: (m.size, bytes(m)))(font.getmask(ch)) == notdef_key})
    if missing:
        msg = (f"the label font has no glyph for {''.join(missing)!r}; pass a font that "
               "covers the wording (font_path / --font)")
        raise InvalidLabelError(msg)


def _ink(font: ImageFont.FreeTypeFont, text: str) -> tuple[int, int, int, int]:
    """The text's ink box at the origin, in whole pixels."""
    left, top, right, bottom = font.getbbox(text)
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


def _size_for(wording: str, font_path: str, target: int) -> tuple[ImageFont.FreeTypeFont, int]:
    """The smallest font size whose drawn ink height is at least ``target`` pixels."""
    size = max(4, target)
    for _ in range(64):
        font = _font(font_path, size)
        height = _ink(font, wording)[3] - _ink(font, wording)[1]
        if height >= target:
            return font, height
        size = max(size + 1, math.ceil(size * target / max(height, 1)))
    msg = f"cannot size the label to {target} pixels"
    raise InvalidLabelError(msg)


@dataclass(frozen=True, slots=True)
class LabelOverlay:
    """The label as a translucent RGBA plate for a picture of a given size: ``image`` goes at
    ``box`` ``(left, top, right, bottom)``; ``glyph_mask`` (mode L, the plate's size) is the
    drawn text alone, and ``glyph_height`` its ink height in pixels (``glyph_ratio`` of the
    picture's shortest side), measured on that mask, not taken from the font size."""

    image: Image.Image
    box: tuple[int, int, int, int]
    glyph_mask: Image.Image
    glyph_height: int
    glyph_ratio: float


def render_overlay(size: tuple[int, int], label: ImageLabel | None = None, *,
                   align: int = 1) -> LabelOverlay:
    """The label plate for a ``size`` = ``(width, height)`` picture (see the module docstring).

    ``align`` rounds the box's corner and size up to multiples of it (2 for video frames with
    subsampled chroma), padding the plate with transparent pixels.

    Raises:
        InvalidLabelError: wording the font cannot draw, or a picture too small to hold it.
    """
    from PIL import Image, ImageDraw

    label = label or ImageLabel()
    font_path = label.font_path or bundled_font()
    check_glyphs(label.wording, font_path)
    width, height = size
    short = min(width, height)
    target = max(math.ceil(label.ratio * short), MIN_GLYPH_PIXELS)
    font, ink = _size_for(label.wording, font_path, target)
    left, top, right, bottom = _ink(font, label.wording)
    stroke = max(1, round(ink / 18))
    pad = max(2, round(ink * 0.25)) + stroke
    margin = max(2, round(short * 0.02))
    plate_w, plate_h = right - left + 2 * pad, bottom - top + 2 * pad
    box_w, box_h = -(-plate_w // align) * align, -(-plate_h // align) * align
    if box_w + 2 * margin > width or box_h + 2 * margin > height:
        msg = (f"a {width}x{height} picture is too small for {label.wording!r} at "
               f"{label.ratio:.0%} of its shortest side")
        raise InvalidLabelError(msg)
    x = {"left": margin, "right": width - margin - box_w}.get(
        label.position.split("-")[-1], (width - box_w) // 2)
    y = margin if label.position.startswith("top") else height - margin - box_h
    x, y = x // align * align, y // align * align
    overlay = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rounded_rectangle((0, 0, plate_w - 1, plate_h - 1), radius=pad, fill=(0, 0, 0, 150))
    draw.text((pad - left, pad - top), label.wording, font=font, fill=(255, 255, 255, 255),
              stroke_width=stroke, stroke_fill=(0, 0, 0, 255))
    # The drawn glyphs' ink height, measured on the rendered text mask (GB 5.2 e)).
    mask = Image.new("L", (box_w, box_h), 0)
    ImageDraw.Draw(mask).text((pad - left, pad - top), label.wording, font=font, fill=255)
    bbox = mask.getbbox()
    glyph_height = 0 if bbox is None else bbox[3] - bbox[1]
    return LabelOverlay(overlay, (x, y, x + box_w, y + box_h), mask, glyph_height,
                        glyph_height / short)


def render_label(image: Image.Image, label: ImageLabel | None = None) -> RenderedLabel:
    """Draw the explicit label on a copy of ``image`` (see the module docstring); only the
    label's rectangle is converted and composited.

    Raises:
        InvalidLabelError: wording the font cannot draw, or a picture too small to hold it.
    """
    picture = image.copy() if image.mode in _MODES else image.convert(
        "RGBA" if "A" in image.getbands() or image.mode == "P" and "transparency" in image.info
        else "RGB")
    overlay = render_overlay(picture.size, label)
    box = overlay.box
    region = picture.crop(box).convert("RGBA")
    region.alpha_composite(overlay.image)
    picture.paste(region.convert(picture.mode), box[:2])
    return RenderedLabel(picture, box, overlay.glyph_height, overlay.glyph_ratio)


# --- files ------------------------------------------------------------------------------------

_FORMATS = {"JPEG", "PNG", "WEBP", "TIFF"}


def add_image_label(data: bytes, *, name: str | None = None,
                    label: ImageLabel | None = None) -> tuple[bytes, RenderedLabel]:
    """The picture file ``data`` with the explicit label drawn, in its own format.

    JPEG is re-encoded with the source's quantization tables and chroma subsampling (so at
    its quality), keeping EXIF, the ICC profile and XMP; PNG and lossless WebP stay lossless
    (PNG text chunks, ICC and EXIF kept); lossy WebP is re-encoded at quality 90; TIFF keeps
    its compression. The caller then writes the implicit label (which merges into the kept
    XMP). Animated pictures and other formats are refused.

    Raises:
        CarrierUnsupportedError: a format or an animation the renderer does not write.
        CorruptFileError: Pillow cannot decode the picture.
        InvalidLabelError: see :func:`render_label`.
    """
    import io

    from PIL import Image, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

    from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, LimitExceededError

    try:
        source = Image.open(io.BytesIO(data))
        source.load()
        frames = getattr(source, "n_frames", 1)  # TIFF walks its IFD chain here
    except Image.DecompressionBombError as exc:
        msg = f"the picture is too large to decode safely ({exc})"
        raise LimitExceededError(msg, path=name) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError, EOFError) as exc:
        msg = f"cannot decode the picture to draw the label ({exc})"
        raise CorruptFileError(msg, path=name) from exc
    fmt = source.format or ""
    if fmt not in _FORMATS:
        msg = f"explicit image labels are written for JPEG, PNG, WebP and TIFF, not {fmt or '?'}"
        raise CarrierUnsupportedError(msg, path=name)
    if frames > 1:
        msg = "animated pictures are not labelled yet (every frame would need the label)"
        raise CarrierUnsupportedError(msg, path=name)
    rendered = render_label(source, label)
    picture = rendered.image
    info = source.info
    keep: dict[str, object] = {k: info[k] for k in ("icc_profile", "exif", "xmp") if info.get(k)}
    out = io.BytesIO()
    if fmt == "JPEG":
        if picture.mode not in ("RGB", "L", "CMYK"):
            picture = picture.convert("RGB")
        picture.save(out, "JPEG", qtables=source.quantization,  # type: ignore[attr-defined]
                     subsampling=JpegImagePlugin.get_sampling(source), optimize=True, **keep)
    elif fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        for key, value in getattr(source, "text", {}).items():
            if key != "XML:com.adobe.xmp":  # the implicit-label writer handles XMP
                text.add_itxt(key, value)
        keep.pop("xmp", None)
        picture.save(out, "PNG", pnginfo=text, **keep)
    elif fmt == "WEBP":
        lossless = b"VP8L" in data[12:16] or b"VP8L" in data[:4096]
        picture.save(out, "WEBP", lossless=lossless, quality=100 if lossless else 90, **keep)
    else:
        compression = info.get("compression", "raw")
        picture.save(out, "TIFF", compression=None if compression == "raw" else compression,
                     **{k: v for k, v in keep.items() if k != "xmp"})
    check_output(source, out.getvalue(), rendered, name=name)
    return out.getvalue(), rendered


SELF_CHECK_THRESHOLD = 48  # per-pixel change that counts as drawn, above re-encoding noise


def check_output(source: Image.Image, output: bytes, rendered: RenderedLabel, *,
                 name: str | None = None) -> int:
    """Self-check on the written file: decode it, find the pixels that changed by more than
    re-encoding noise, and require that region to sit in the label's rectangle (8 px of JPEG
    block spill allowed) and to be at least 5 % of the shortest side tall. Returns its height.

    Raises:
        InvalidLabelError: the check failed (the output is not written by the caller).
    """
    import io

    from PIL import Image, ImageChops

    written = Image.open(io.BytesIO(output)).convert("RGB")
    changed = ImageChops.difference(source.convert("RGB"), written).convert("L")
    box = changed.point(lambda v: 255 if v > SELF_CHECK_THRESHOLD else 0).getbbox()
    short = min(written.size)
    left, top, right, bottom = rendered.box
    inside = box is not None and (box[0] >= left - 8 and box[1] >= top - 8
                                  and box[2] <= right + 8 and box[3] <= bottom + 8)
    height = 0 if box is None else box[3] - box[1]
    if not inside or height < math.ceil(IMAGE_MIN_TEXT_HEIGHT_RATIO * short):
        msg = (f"explicit label self-check failed: changed region {box} for a label at "
               f"{rendered.box}, {height} px tall on a {short} px shortest side")
        raise InvalidLabelError(msg, path=name)
    return height
