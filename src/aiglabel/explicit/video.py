"""The explicit video label: visible text burnt into the opening frames (GB 45438 §5.4,
rules §A.4, §A.8).

GB 5.4: the label is on the opening frames (起始画面) and lasts **at least 2 s at normal
playback speed** (``VIDEO_MIN_DURATION_S``), with a text height of **at least 5 % of the
frame's shortest side** (``VIDEO_MIN_TEXT_HEIGHT_RATIO``); end and middle positions are
optional. aiglabel labels every frame whose presentation time (from the first frame) is below
``seconds`` (default 2.5 s, never below 2 s [project choice, rules §A.4]); ``at`` adds the
same label around the middle and/or over the last ``seconds``, and ``persistent`` keeps it on
every frame. A video shorter than 2 s is labelled for its whole length, with a warning.

The label is the image label (:mod:`aiglabel.explicit.image`: bundled font, ink height 6 % of
the shortest side of the frame as displayed, white on a translucent plate), rendered once and
blended into the frames' own planes where it lies (:mod:`aiglabel.explicit._videoblend`).

Everything runs in-process with PyAV (FFmpeg in a wheel): decode, blend, encode with the
source's codec family (H.264 → libx264, HEVC → libx265, VP9/VP8 → libvpx, AV1 → SVT-AV1,
MPEG-4 Part 2, MJPEG, ProRes) at a near-transparent quality (``VideoLabel.crf``), keeping the
pixel format, size, sample aspect ratio, time base and timestamps, frame rate, colour
properties, display rotation, and container and stream tags. Audio, subtitle and data streams
are copied packet for packet (never re-encoded); a stream the output container cannot carry is
dropped with a warning. Burning in re-encodes the video: it is an explicit-label operation,
never part of the lossless implicit write, which the caller performs afterwards.

The output is self-checked (:func:`check_video_label`): decoded again, the label must be
visible from the first frame for ``min(2 s, the video's length)`` by presentation time, and
its glyphs at least 5 % of the shortest side tall.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, InvalidLabelError
from aiglabel.explicit.image import DEFAULT_IMAGE_WORDING, IMAGE_TARGET_RATIO, ImageLabel

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiglabel.explicit._videoblend import FramePlan

__all__ = [
    "VIDEO_DEFAULT_DURATION_S",
    "VIDEO_MIN_DURATION_S",
    "VIDEO_MIN_TEXT_HEIGHT_RATIO",
    "VIDEO_POSITIONS",
    "VideoCheck",
    "VideoLabel",
    "VideoLabelReport",
    "add_video_label",
    "check_video_label",
]

VIDEO_MIN_TEXT_HEIGHT_RATIO = 0.05  # GB 5.4 (rules §A.8)
VIDEO_MIN_DURATION_S = 2.0  # GB 5.4: at least 2 s at normal playback speed (rules §A.8)
VIDEO_DEFAULT_DURATION_S = 2.5  # rules §A.4 [project choice]: a margin over 2 s
VIDEO_POSITIONS = ("start", "middle", "end")
PROGRESS_INTERVAL_S = 0.5  # seconds between progress callbacks

# Decoder name -> (encoder, options giving near-transparent quality) [project choice]. The
# same numbers are what the benchmark gives ffmpeg's drawtext.
_ENCODERS: dict[str, tuple[str, dict[str, str]]] = {
    "h264": ("libx264", {"crf": "18", "preset": "medium"}),
    "hevc": ("libx265", {"crf": "20", "preset": "medium", "x265-params": "log-level=error"}),
    "vp9": ("libvpx-vp9", {"crf": "24", "b": "0", "row-mt": "1", "cpu-used": "4"}),
    "libvpx-vp9": ("libvpx-vp9", {"crf": "24", "b": "0", "row-mt": "1", "cpu-used": "4"}),
    "vp8": ("libvpx", {"crf": "8"}),
    "libvpx": ("libvpx", {"crf": "8"}),
    "av1": ("libsvtav1", {"crf": "28"}),
    "libdav1d": ("libsvtav1", {"crf": "28"}),
    "mpeg4": ("mpeg4", {"qscale": "2"}),
    "mjpeg": ("mjpeg", {"qscale": "2"}),
    "prores": ("prores_ks", {}),
}
_SHORT_TIME_BASE = {"mpeg4", "mjpeg"}
_CRF_ENCODERS = {"libx264", "libx265", "libvpx-vp9", "libvpx", "libsvtav1"}
# Container tags FFmpeg's muxers write themselves.
_OWN_TAGS = {"encoder", "major_brand", "minor_version", "compatible_brands"}


@dataclass(frozen=True, slots=True)
class VideoLabel:
    """What to burn in: wording (rules §A.0 checked), corner or edge, glyph height as a
    fraction of the shortest side (never below 5 %), font, how long each label shows
    (``seconds``, never below 2 s), where besides the opening frames (``at``: ``"middle"``,
    ``"end"``), a persistent label on every frame, and the encoder's quality (CRF for
    x264/x265/libvpx/SVT-AV1, ``None`` = the default for the codec).

    Raises:
        InvalidLabelError: any value out of bounds.
    """

    wording: str = DEFAULT_IMAGE_WORDING
    position: str = "bottom-right"
    ratio: float = IMAGE_TARGET_RATIO
    font_path: str | None = None
    seconds: float = VIDEO_DEFAULT_DURATION_S
    at: tuple[str, ...] = ("start",)
    persistent: bool = False
    crf: int | None = None

    def __post_init__(self) -> None:
        self.image_label()  # wording, position, ratio
        if not VIDEO_MIN_DURATION_S <= self.seconds <= 3600:
            msg = (f"video label duration {self.seconds} s is below {VIDEO_MIN_DURATION_S:g} s "
                   "(GB 45438 5.4) or above an hour")
            raise InvalidLabelError(msg)
        unknown = [p for p in self.at if p not in VIDEO_POSITIONS]
        if unknown or "start" not in self.at:
            msg = (f"video label positions {', '.join(self.at)!s} must include start (GB 45438 "
                   f"5.4: the opening frames) and be among {', '.join(VIDEO_POSITIONS)}")
            raise InvalidLabelError(msg)
        if self.crf is not None and not 0 <= self.crf <= 63:
            msg = f"video quality crf {self.crf} is outside 0..63"
            raise InvalidLabelError(msg)

    def image_label(self) -> ImageLabel:
        """The picture label drawn on each frame."""
        return ImageLabel(self.wording, self.position, self.ratio, self.font_path)


@dataclass(frozen=True, slots=True)
class VideoCheck:
    """The self-check on a labelled video: seconds the label shows from the first frame (by
    presentation time: last labelled frame − first frame + one frame), frames counted, the
    frame rate, the glyph height as a fraction of the shortest side, and the video length."""

    opening_seconds: float
    opening_frames: int
    frame_rate: float
    glyph_ratio: float
    duration: float


@dataclass(frozen=True, slots=True)
class VideoLabelReport:
    """What :func:`add_video_label` did: frames decoded and labelled, the encoder and its
    options, the streams copied, the self-check, and warnings."""

    frames: int
    labelled_frames: int
    encoder: str
    options: dict[str, str]
    copied_streams: tuple[str, ...]
    check: VideoCheck
    warnings: tuple[str, ...] = field(default=())


def _output_format(source: Any, name: str | None) -> str:
    """The muxer for the output: the input's own (MP4 or QuickTime, Matroska or WebM by the
    bytes the demuxer saw, the extension only to break the tie)."""
    formats = source.format.name.split(",")
    if "mp4" in formats or "mov" in formats:
        brand = str(source.metadata.get("major_brand", "")).strip()
        ext = os.path.splitext(name or "")[1].lower()
        return "mov" if brand == "qt" or (not brand and ext == ".mov") else "mp4"
    if "matroska" in formats:
        return "webm" if str(source.metadata.get("DOCTYPE", "")).lower() == "webm" or (
            os.path.splitext(name or "")[1].lower() == ".webm") else "matroska"
    return str(formats[0])


def _windows(label: VideoLabel, duration: float) -> list[tuple[float, float]]:
    """Presentation-time windows (from the first frame) that get the label."""
    if label.persistent or duration <= label.seconds:
        return [(0.0, float("inf"))]
    windows = [(0.0, label.seconds)]
    if "middle" in label.at:
        middle = duration / 2
        windows.append((middle - label.seconds / 2, middle + label.seconds / 2))
    if "end" in label.at:
        windows.append((duration - label.seconds, float("inf")))
    return windows


def _duration(source: Any, stream: Any) -> float:
    """The video's length in seconds: the stream's or container's duration, else a scan of
    the packets' timestamps (no decoding)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if source.duration:
        return float(source.duration / 1_000_000)
    end = 0.0
    first: float | None = None
    for packet in source.demux(stream):
        if packet.pts is None or packet.time_base is None:
            continue
        t = float(packet.pts * packet.time_base)
        first = t if first is None else min(first, t)
        end = max(end, t + float((packet.duration or 0) * packet.time_base))
    source.seek(0)
    return end - (first or 0.0)


def add_video_label(src: str | os.PathLike[str] | IO[bytes], dst: IO[bytes], *,
                    name: str | None = None, label: VideoLabel | None = None,
                    progress: Callable[[float], None] | None = None) -> VideoLabelReport:
    """Burn the explicit label into the video ``src`` and write the result to ``dst`` (a
    readable, seekable binary file) in the same container format (see the module docstring).
    ``progress`` is called with the fraction done (by timestamps) about twice a second.

    Raises:
        CorruptFileError: PyAV cannot demux or decode the input.
        CarrierUnsupportedError: no video stream, or no encoder for its codec in this build.
        InvalidLabelError: a bad label, a frame too small for it, or a failed self-check.
    """
    import av

    label = label or VideoLabel()
    shown = name or (os.fspath(src) if isinstance(src, str | os.PathLike) else None)
    start = dst.tell()
    try:
        opened: Any = av.open(src if isinstance(src, str) else
                              os.fspath(src) if isinstance(src, os.PathLike) else src,
                              metadata_errors="replace")
        with opened as source:
            report = _transcode(source, dst, shown, label, progress)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        msg = f"cannot transcode the video ({exc})"
        raise CorruptFileError(msg, path=shown) from exc
    dst.flush()
    end = dst.tell()
    dst.seek(start)
    check = check_video_label(dst, name=shown, label=label)
    dst.seek(end)
    warnings = list(report.warnings)
    if check.duration < VIDEO_MIN_DURATION_S:
        warnings.append(f"the video lasts {check.duration:.2f} s, less than the "
                        f"{VIDEO_MIN_DURATION_S:g} s GB 45438 5.4 asks the label to show; it is "
                        "labelled for its whole length")
    return VideoLabelReport(report.frames, report.labelled_frames, report.encoder,
                            report.options, report.copied_streams, check, tuple(warnings))


def _main_video(container: Any, name: str | None) -> Any:
    """The first video stream that is not cover art (an ``attached_pic``).

    Raises:
        CarrierUnsupportedError: there is none.
    """
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            if stream.codec_context is None:
                msg = "this PyAV build has no decoder for the video stream's codec"
                raise CarrierUnsupportedError(msg, path=name)
            return stream
    msg = "no video stream to draw the label on"
    raise CarrierUnsupportedError(msg, path=name)


def _transcode(source: Any, dst: IO[bytes], name: str | None, label: VideoLabel,
               progress: Callable[[float], None] | None = None) -> VideoLabelReport:
    import time

    import av

    from aiglabel.explicit._videoblend import blend, plan_frames

    video = _main_video(source, name)
    decoder = video.codec_context
    decoder.thread_type = "AUTO"
    encoder_name, options = _ENCODERS.get(decoder.name, (decoder.name, {}))
    if encoder_name not in av.codecs_available:
        msg = f"this PyAV build has no encoder for {decoder.name} video"
        raise CarrierUnsupportedError(msg, path=name)
    options = dict(options)
    if label.crf is not None and encoder_name in _CRF_ENCODERS:
        options["crf"] = str(label.crf)
    duration = _duration(source, video)
    windows = _windows(label, duration)
    rate = video.average_rate or video.guessed_rate
    sink: Any = av.open(dst, "w", format=_output_format(source, name))
    warnings: list[str] = []
    with sink:
        sink.metadata.update({k: v for k, v in source.metadata.items() if k not in _OWN_TAGS})
        out = sink.add_stream(encoder_name, rate=rate, options=options)
        ctx = out.codec_context
        # Frame and slice threads, as the ffmpeg tool sets them (PyAV defaults to slices
        # only, which makes x264 about 30 % slower).
        ctx.thread_type = "AUTO"
        ctx.width, ctx.height = decoder.width, decoder.height
        supported = {f.name for f in (ctx.codec.video_formats or ())}
        ctx.pix_fmt = decoder.pix_fmt if decoder.pix_fmt in supported or not supported else (
            "yuv420p" if "yuv420p" in supported else next(iter(sorted(supported))))
        out.time_base = video.time_base
        # The encoder counts in the source's time base too, so timestamps pass through
        # unrounded (MPEG-4 Part 2 and MJPEG cap the denominator at 65535).
        if video.time_base is not None and (video.time_base.denominator <= 65535
                                            or encoder_name not in _SHORT_TIME_BASE):
            ctx.time_base = video.time_base
        for attr in ("sample_aspect_ratio", "color_range", "color_primaries", "color_trc",
                     "colorspace"):
            value = getattr(decoder, attr, None)
            if value:
                setattr(ctx, attr, value)
        out.metadata.update({k: v for k, v in video.metadata.items() if k not in _OWN_TAGS})
        copies: dict[int, Any] = {}
        for stream in source.streams:
            if stream.index == video.index:
                continue
            try:
                copies[stream.index] = sink.add_stream_from_template(stream)
            except (ValueError, av.error.FFmpegError) as exc:
                warnings.append(f"{stream.type} stream {stream.index} "
                                f"({stream.codec_context.name if stream.codec_context else '?'}) "
                                f"is not carried over ({exc})")
        frames = labelled = 0
        first_pts: int | None = None
        plan: FramePlan | None = None
        # Copied packets wait until the first frame is decoded: its display rotation must
        # be on the output stream before the muxer writes the header.
        waiting: list[Any] | None = []
        reported = time.monotonic()
        for packet in source.demux():
            index = packet.stream.index
            if index in copies:
                if packet.dts is not None:
                    packet.stream = copies[index]
                    if waiting is None:
                        sink.mux(packet)
                    else:
                        waiting.append(packet)
                continue
            if index != video.index:
                continue
            for frame in packet.decode():
                frames += 1
                if plan is None:
                    if frame.rotation:
                        out.set_display_rotation(frame.rotation)
                    plan = plan_frames(frame.width, frame.height, frame.format,
                                       int(frame.color_range or 0), int(frame.rotation or 0),
                                       label.image_label())
                if first_pts is None and frame.pts is not None:
                    first_pts = frame.pts
                t = float(((frame.pts or 0) - (first_pts or 0)) * video.time_base)
                if any(a <= t < b for a, b in windows):
                    frame = blend(frame, plan)
                    labelled += 1
                if progress is not None and time.monotonic() - reported >= PROGRESS_INTERVAL_S:
                    reported = time.monotonic()
                    progress(t / duration if duration > 0 else 0.0)
                frame.pict_type = av.video.frame.PictureType.NONE
                for encoded in out.encode(frame):
                    sink.mux(encoded)
                if waiting:
                    for held in waiting:
                        sink.mux(held)
                    waiting = None
        for encoded in out.encode(None):
            sink.mux(encoded)
    if frames == 0:
        msg = "the video stream has no decodable frames"
        raise CorruptFileError(msg, path=name)
    copied = tuple(f"{s.type}:{s.codec_context.name if s.codec_context else '?'}"
                   for i, s in ((i, source.streams[i]) for i in copies))
    placeholder = VideoCheck(0.0, 0, float(rate or 0), 0.0, duration)
    return VideoLabelReport(frames, labelled, encoder_name, options, copied, placeholder,
                            tuple(warnings))


def check_video_label(data: IO[bytes] | str | os.PathLike[str], *, name: str | None = None,
                      label: VideoLabel | None = None) -> VideoCheck:
    """Self-check a labelled video: decode from the start and find where the label shows
    (glyphs brighter than their plate, :func:`~aiglabel.explicit._videoblend.label_visible`).
    It must show on the first frame and stay for ``min(2 s, the video's length)`` by
    presentation time, with glyphs at least 5 % of the shortest side tall; decoding stops
    once the opening label has ended.

    Raises:
        InvalidLabelError: the label is missing, too short or too small.
    """
    import av

    from aiglabel.explicit._videoblend import glyph_height, label_visible, plan_frames

    label = label or VideoLabel()
    opened: Any = av.open(os.fspath(data) if isinstance(data, str | os.PathLike) else data,
                          metadata_errors="replace")
    with opened as container:
        video = _main_video(container, name)
        video.codec_context.thread_type = "AUTO"
        duration = _duration(container, video)
        rate = float(video.average_rate or video.guessed_rate or 0)
        first: float | None = None
        last = 0.0
        end: float | None = None  # when the labelled run ends: the next frame's time
        count = 0
        plan: FramePlan | None = None
        step = 1 / rate if rate else 0.0
        held = step
        glyph_ratio = 0.0
        for frame in container.decode(video):
            if plan is None:
                plan = plan_frames(frame.width, frame.height, frame.format,
                                   int(frame.color_range or 0), int(frame.rotation or 0),
                                   label.image_label())
            t = float(frame.pts * video.time_base) if frame.pts is not None else last + step
            if first is None:
                first = t
            if not label_visible(frame, plan):
                end = t  # a frame is shown until the next one (variable frame rates too)
                break
            if count == 0:
                short = min(frame.width, frame.height)
                glyph_ratio = glyph_height(frame, plan) / short
            last, count = t, count + 1
            held = float(frame.duration * video.time_base) if frame.duration else step
            if last - first >= label.seconds:  # the opening label has been seen long enough
                break
    if end is None:
        end = last + held
    shown = (end - first) if first is not None and count else 0.0
    needed = min(VIDEO_MIN_DURATION_S, duration) - step / 2
    if count == 0 or shown < needed or glyph_ratio < VIDEO_MIN_TEXT_HEIGHT_RATIO:
        msg = (f"video label self-check failed: the label shows for {shown:.2f} s from the "
               f"first frame ({count} frames at {rate:g} fps; needed {needed + step / 2:.2f} s), "
               f"glyphs {glyph_ratio:.1%} of the shortest side")
        raise InvalidLabelError(msg, path=name)
    return VideoCheck(round(shown, 3), count, rate, glyph_ratio, duration)
