"""Compositing the pre-rendered label into decoded video frames, in their own pixel format.

The label plate (:func:`aiglabel.explicit.image.render_overlay`) is white text with a black
outline on a translucent black plate: every pixel is neutral grey, so in Y'CbCr it changes only
luma and pulls chroma towards neutral, whatever the colour matrix (BT.601 or BT.709). The plate
is therefore turned once into per-plane arrays -- ``alpha * value`` and ``1 - alpha`` for the
luma plane and each chroma plane at its subsampled size -- and each labelled frame blends just
that rectangle of its planes in place: no frame is converted to RGB and back.

Fast path: planar 8- to 16-bit Y'CbCr (``yuv420p``, ``yuvj420p``, ``yuv422p``, ``yuv444p``,
``yuv420p10le`` and the like, alpha plane left alone). Other pixel formats (NV12, RGB, packed
4:2:2) are converted to RGB for the labelled frames only and back.

The frame's display rotation (the container's display matrix) is honoured: the plate is laid
out for the frame as displayed and rotated into the coded orientation, so viewers see it
upright at the chosen corner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from aiglabel.explicit.image import ImageLabel, LabelOverlay

# AVColorRange: 2 is JPEG (full) range; 0 (unspecified) and 1 (MPEG) are limited range,
# except for the yuvj* formats, which are full range by definition.
_FULL_RANGE = 2
VISIBLE_CONTRAST = 0.30  # glyph-core vs plate luma, as a fraction of the luma range


@dataclass(frozen=True, slots=True)
class _PlaneBlend:
    """One plane's rectangle: rows ``top:bottom``, columns ``left:right``, and the arrays."""

    index: int
    top: int
    bottom: int
    left: int
    right: int
    premultiplied: NDArray[np.float32]
    keep: NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class FramePlan:
    """How to label frames of one geometry and format: the per-plane blends (empty for the
    RGB fallback), the plate in coded orientation for the fallback and for checks, and where
    the glyph cores and the plate-only pixels lie (coded coordinates, for the visibility
    check)."""

    planes: tuple[_PlaneBlend, ...]
    box: tuple[int, int, int, int]
    rgba: NDArray[np.uint8]
    glyph_core: NDArray[np.bool_]
    plate_only: NDArray[np.bool_]
    luma_max: int
    overlay: LabelOverlay
    turns: int


def _planar_yuv(fmt: Any) -> tuple[int, int, int] | None:
    """(log2 chroma width, log2 chroma height, bits) for planar Y'CbCr formats, else None."""
    components = fmt.components
    if fmt.is_rgb or fmt.has_palette or fmt.is_bit_stream or fmt.is_big_endian:
        return None
    if len(components) < 3 or [c.plane for c in components[:3]] != [0, 1, 2]:
        return None
    bits = components[0].bits
    if not 8 <= bits <= 16 or any(c.bits != bits for c in components[:3]):
        return None
    # log2 of the chroma subsampling, from the chroma size of a 64 x 64 frame.
    return ((64 // fmt.chroma_width(64)).bit_length() - 1,
            (64 // fmt.chroma_height(64)).bit_length() - 1, bits)


def _coded(array: NDArray[Any], turns: int) -> NDArray[Any]:
    """An array laid out for the displayed frame, in the coded frame's orientation.

    A display rotation of 90° (counter-clockwise, as FFmpeg's display matrix stores it) shows
    ``rot90(coded, 1)``; so the coded layout of something drawn on the display is
    ``rot90(displayed, -1)``."""
    import numpy as np

    return np.ascontiguousarray(np.rot90(array, -turns))


def plan_frames(width: int, height: int, fmt: Any, color_range: int, rotation: int,
                label: ImageLabel) -> FramePlan:
    """Lay the plate out for ``width`` x ``height`` coded frames shown turned by ``rotation``
    degrees, and precompute the blend for the pixel format ``fmt`` (a PyAV VideoFormat).

    Raises:
        InvalidLabelError: see :func:`~aiglabel.explicit.image.render_overlay`.
    """
    import numpy as np

    from aiglabel.explicit.image import render_overlay

    turns = (round(rotation / 90)) % 4
    shown = (height, width) if turns % 2 else (width, height)
    planar = _planar_yuv(fmt)
    sub_x, sub_y = (planar[0], planar[1]) if planar else (0, 0)
    overlay = render_overlay(shown, label, align=2 if sub_x or sub_y else 1)
    left, top, right, bottom = overlay.box
    canvas = np.zeros((shown[1], shown[0], 4), np.uint8)
    canvas[top:bottom, left:right] = np.asarray(overlay.image)
    glyphs = np.zeros((shown[1], shown[0]), np.uint8)
    glyphs[top:bottom, left:right] = np.asarray(overlay.glyph_mask)
    rgba_full, glyph_full = _coded(canvas, turns), _coded(glyphs, turns)
    rows = np.flatnonzero(rgba_full[:, :, 3].any(axis=1))
    cols = np.flatnonzero(rgba_full[:, :, 3].any(axis=0))
    # The coded box, widened to the chroma grid so each chroma sample is blended whole.
    step_x, step_y = 1 << sub_x, 1 << sub_y
    x0, y0 = int(cols[0]) // step_x * step_x, int(rows[0]) // step_y * step_y
    x1 = min(width, -(-(int(cols[-1]) + 1) // step_x) * step_x)
    y1 = min(height, -(-(int(rows[-1]) + 1) // step_y) * step_y)
    rgba = rgba_full[y0:y1, x0:x1]
    glyph = glyph_full[y0:y1, x0:x1]
    alpha = rgba[:, :, 3].astype(np.float32) / 255
    grey = rgba[:, :, 0].astype(np.float32) / 255  # neutral: R = G = B
    bits = planar[2] if planar else 8
    luma_max = (1 << bits) - 1
    full = color_range == _FULL_RANGE or fmt.name.startswith("yuvj")
    scale = 1 << (bits - 8)
    luma = grey * luma_max if full else (16 + 219 * grey) * scale
    neutral = float(1 << (bits - 1))
    planes: list[_PlaneBlend] = []
    if planar:
        planes.append(_PlaneBlend(0, y0, y1, x0, x1, (alpha * luma).astype(np.float32),
                                  (1 - alpha).astype(np.float32)))
        h, w = alpha.shape
        pad_h, pad_w = -h % step_y, -w % step_x
        padded = np.pad(alpha, ((0, pad_h), (0, pad_w)))
        chroma_alpha = padded.reshape(
            (h + pad_h) >> sub_y, step_y, (w + pad_w) >> sub_x, step_x).mean(axis=(1, 3))
        planes.extend(_PlaneBlend(
            index, y0 >> sub_y, (y0 >> sub_y) + chroma_alpha.shape[0], x0 >> sub_x,
            (x0 >> sub_x) + chroma_alpha.shape[1], (chroma_alpha * neutral).astype(np.float32),
            (1 - chroma_alpha).astype(np.float32)) for index in (1, 2))
    # Glyph cores: the mask's near-full pixels (small labels never reach 255).
    core = glyph >= max(128, int(0.8 * int(glyph.max())))
    plate = (rgba[:, :, 3] >= 96) & (glyph == 0) & (rgba[:, :, 0] < 32)
    return FramePlan(tuple(planes), (x0, y0, x1, y1), rgba, core, plate, luma_max, overlay,
                     turns)


def _plane_view(frame: Any, index: int, bits: int) -> NDArray[Any]:
    """A writable numpy view of one plane of ``frame`` (rows x line size, in samples)."""
    import numpy as np

    plane = frame.planes[index]
    if bits <= 8:
        return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return np.frombuffer(plane, np.dtype("<u2")).reshape(plane.height, plane.line_size // 2)


def blend(frame: Any, plan: FramePlan) -> Any:
    """Draw the plate onto ``frame``; returns the frame to encode (the same frame on the fast
    path, a converted copy on the RGB fallback)."""
    import av
    import numpy as np

    if not plan.planes:
        picture = frame.to_ndarray(format="rgb24")
        x0, y0, x1, y1 = plan.box
        region = picture[y0:y1, x0:x1].astype(np.float32)
        alpha = plan.rgba[:, :, 3:4].astype(np.float32) / 255
        region = plan.rgba[:, :, :3] * alpha + region * (1 - alpha)
        picture[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
        labelled = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
            format=frame.format.name)
        labelled.pts = frame.pts
        if frame.time_base is not None:
            labelled.time_base = frame.time_base
        return labelled
    frame.make_writable()
    bits = frame.format.components[0].bits
    top_value = (1 << bits) - 1
    for part in plan.planes:
        view = _plane_view(frame, part.index, bits)
        region = view[part.top : part.bottom, part.left : part.right]
        mixed = part.premultiplied + part.keep * region
        region[...] = np.clip(mixed + 0.5, 0, top_value).astype(view.dtype)
    return frame


def luma_of(frame: Any, plan: FramePlan) -> NDArray[Any]:
    """The luma samples of ``frame`` under the plate's box (any pixel format)."""
    import numpy as np

    x0, y0, x1, y1 = plan.box
    if plan.planes:
        view = _plane_view(frame, 0, frame.format.components[0].bits)
        luma: NDArray[Any] = view[y0:y1, x0:x1].astype(np.float32)
        return luma
    grey: NDArray[Any] = frame.to_ndarray(format="gray")
    return grey[y0:y1, x0:x1].astype(np.float32) * (plan.luma_max / 255)


def label_visible(frame: Any, plan: FramePlan) -> bool:
    """Whether the label shows on a decoded frame: the glyph cores are brighter than the
    plate around them by at least ``VISIBLE_CONTRAST`` of the luma range (white text on a
    darkened plate survives any encoder at sane quality; picture content rarely lines up with
    the glyph shapes)."""
    luma = luma_of(frame, plan)
    if not plan.glyph_core.any() or not plan.plate_only.any():
        return False
    contrast = float(luma[plan.glyph_core].mean() - luma[plan.plate_only].mean())
    return contrast >= VISIBLE_CONTRAST * plan.luma_max


def glyph_height(frame: Any, plan: FramePlan) -> int:
    """The drawn text's height in pixels as displayed, measured on a decoded frame: the rows
    (display orientation) holding plate pixels brighter than halfway between the plate and the
    glyph cores."""
    import numpy as np

    luma = luma_of(frame, plan)
    if not plan.glyph_core.any() or not plan.plate_only.any():
        return 0
    threshold = (luma[plan.glyph_core].mean() + luma[plan.plate_only].mean()) / 2
    bright = (luma > threshold) & (plan.rgba[:, :, 3] >= 96)
    rows = np.flatnonzero(np.rot90(bright, plan.turns).any(axis=1))
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0
