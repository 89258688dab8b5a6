"""The explicit label of a file, whatever it holds (Measures Art. 4, GB 45438 §5.1-5.4).

:class:`ExplicitLabel` gathers what ``aiglabel label --explicit`` can be told, and
:func:`add_explicit_label` applies the label each modality needs:

- text, Markdown, HTML, DOCX: the text notice (GB 5.1, :mod:`aiglabel.explicit.text`) at the
  start and/or end (default end);
- JPEG, PNG, WebP, TIFF: the image label (GB 5.2, :mod:`aiglabel.explicit.image`) at the
  bottom-right (``start``: top-left);
- audio (MP3, WAV, FLAC, Opus, M4A): the Morse "AI" rhythm cue or a voice prompt (GB 5.3,
  :mod:`aiglabel.explicit.audio`), at the start by default, or the end, the middle, or several;
- video (MP4, MOV, MKV, WebM, AVI, FLV with a video stream): the label burnt into the opening
  frames for at least 2 s (GB 5.4, :mod:`aiglabel.explicit.video`), optionally also the middle,
  the end, or every frame.

Each modality's output is self-checked before it is returned. Files hold one modality: a
video's sound track gets no audio cue (GB 5.4 labels video by its picture).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from aiglabel.errors import InvalidLabelError
from aiglabel.explicit.text import DEFAULT_NOTICE, check_wording

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiglabel.codecs.base import CodecBase
    from aiglabel.explicit.video import VideoLabelReport

__all__ = [
    "AUDIO_CUES",
    "PLACES",
    "VIDEO_CONTAINERS",
    "ExplicitLabel",
    "add_explicit_label",
    "add_explicit_video",
    "has_video",
    "parse_places",
]

PLACES = ("start", "middle", "end")
AUDIO_CUES = ("rhythm", "voice")
# Codecs (aiglabel.codecs) whose files may hold video; has_video() decides per file.
VIDEO_CONTAINERS = frozenset({"mp4", "mkv", "avi", "flv"})


def parse_places(position: str | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """``"start"``, ``"end"``, ``"middle"``, ``"both"`` (start and end) or a comma-separated
    list of them, as a tuple in time order; ``None`` stays ``None`` (each modality's default).

    Raises:
        InvalidLabelError: an unknown place, or none.
    """
    if position is None:
        return None
    parts = position if isinstance(position, tuple) else tuple(
        p.strip() for p in position.split(",") if p.strip())
    places = {q for p in parts for q in (("start", "end") if p == "both" else (p,))}
    unknown = sorted(places - set(PLACES))
    if unknown or not places:
        msg = (f"explicit label position {','.join(parts) or position!r} is not start, middle, "
               "end, both, or a comma-separated list of them")
        raise InvalidLabelError(msg)
    return tuple(p for p in PLACES if p in places)


@dataclass(frozen=True, slots=True)
class ExplicitLabel:
    """What to add as the explicit label (see the module docstring).

    ``wording`` is the text notice; pictures and video show ``AI生成`` when it is left at the
    default. ``position`` (see :func:`parse_places`) is where: text start/end (default end),
    pictures top-left for ``start`` else bottom-right, audio any of start/middle/end (default
    start), video the opening frames always plus middle/end. ``font_path`` is a font for
    wording the bundled one lacks; ``corner`` the corner or edge of pictures and video frames
    (:data:`aiglabel.explicit.image.POSITIONS`; default bottom-right). Video: ``seconds`` each
    label shows (at least 2), ``persistent`` for every frame, ``crf`` for the encoder.
    Audio: ``audio_cue`` ``"rhythm"`` (default; ``rhythm_unit_ms`` 60-100, ``rhythm_frequency``
    200 Hz-4 kHz, ``rhythm_level_db`` -40..0 dBFS) or ``"voice"`` with ``voice_clip`` (a file;
    default the bundled clip) speaking ``voice_text``.

    Raises:
        InvalidLabelError: on creation, any value out of bounds.
    """

    wording: str = DEFAULT_NOTICE
    position: str | None = None
    font_path: str | None = None
    corner: str | None = None
    seconds: float = 2.5
    persistent: bool = False
    crf: int | None = None
    audio_cue: str = "rhythm"
    voice_clip: str | None = None
    voice_text: str | None = None
    rhythm_unit_ms: float | None = None  # None: aiglabel.explicit.audio's defaults
    rhythm_frequency: float | None = None
    rhythm_level_db: float | None = None

    def __post_init__(self) -> None:
        from aiglabel.explicit.audio import rhythm_tone
        from aiglabel.explicit.image import POSITIONS

        check_wording(self.wording)
        parse_places(self.position)
        if self.corner is not None and self.corner not in POSITIONS:
            msg = f"label corner {self.corner!r} is not one of {', '.join(POSITIONS)}"
            raise InvalidLabelError(msg)
        rhythm_tone(48000, **self.rhythm_settings())  # bounds checked here, before any work
        if self.audio_cue not in AUDIO_CUES:
            msg = f"audio cue {self.audio_cue!r} is not one of {', '.join(AUDIO_CUES)}"
            raise InvalidLabelError(msg)
        if self.voice_text is not None:
            check_wording(self.voice_text)
        if self.voice_clip is not None and self.audio_cue != "voice":
            msg = "a voice clip needs the voice cue (audio_cue='voice', --voice)"
            raise InvalidLabelError(msg)
        self.video_label()  # seconds, crf

    def rhythm_settings(self) -> dict[str, float]:
        """The rhythm cue's ``unit_ms``, ``frequency`` and ``level_db`` that were given."""
        given = {"unit_ms": self.rhythm_unit_ms, "frequency": self.rhythm_frequency,
                 "level_db": self.rhythm_level_db}
        return {k: v for k, v in given.items() if v is not None}

    @property
    def places(self) -> tuple[str, ...] | None:
        """The positions as a tuple in time order, ``None`` for each modality's default."""
        return parse_places(self.position)

    def video_label(self) -> Any:
        """The :class:`~aiglabel.explicit.video.VideoLabel` this asks for."""
        from aiglabel.explicit.image import DEFAULT_IMAGE_WORDING
        from aiglabel.explicit.video import VideoLabel

        places = self.places or ("start",)
        return VideoLabel(
            wording=DEFAULT_IMAGE_WORDING if self.wording == DEFAULT_NOTICE else self.wording,
            position=self.corner or "bottom-right", font_path=self.font_path, seconds=self.seconds,
            at=tuple(dict.fromkeys(("start", *places))), persistent=self.persistent,
            crf=self.crf)


def has_video(path: str | os.PathLike[str] | IO[bytes]) -> bool:
    """Whether PyAV finds a video stream (cover art aside) in the file."""
    import av

    try:
        opened: Any = av.open(os.fspath(path) if isinstance(path, str | os.PathLike) else path,
                              metadata_errors="replace")
        with opened as container:
            return any(not (s.disposition & av.stream.Disposition.attached_pic)
                       for s in container.streams.video)
    except av.error.FFmpegError:
        return False


def add_explicit_video(src: str | os.PathLike[str], dst: IO[bytes], label: ExplicitLabel, *,
                       name: str | None = None,
                       progress: Callable[[float], None] | None = None) -> VideoLabelReport:
    """Burn ``label`` into the video ``src``, writing ``dst`` (readable, seekable); see
    :func:`aiglabel.explicit.video.add_video_label`."""
    from aiglabel.explicit.video import add_video_label

    return add_video_label(src, dst, name=name, label=label.video_label(), progress=progress)


def _text_position(places: tuple[str, ...] | None) -> str:
    """A text notice's position: ``start``, ``end`` (the default) or ``both``."""
    if places is None:
        return "end"
    if "middle" in places:
        msg = "a text notice goes at the start and/or the end, not the middle (rules §A.1)"
        raise InvalidLabelError(msg)
    return "both" if places == ("start", "end") else places[0]


def add_explicit_label(data: bytes, label: ExplicitLabel, *, name: str | None = None) -> bytes:
    """The text, picture or audio file ``data`` with its explicit label (see the module
    docstring; video goes through :func:`add_explicit_video`, which streams).

    Raises:
        InvalidLabelError: a position the modality has no use for, or a failed self-check.
        CarrierUnsupportedError: a format without text, picture or sound to label, or a video
            (use :func:`add_explicit_video`).
        UnsupportedFormatError, CorruptFileError: as for reading the file.
    """
    from aiglabel._io import Source
    from aiglabel.errors import CarrierUnsupportedError, UnsupportedFormatError
    from aiglabel.explicit.text import AUDIO_CODECS, IMAGE_CODECS, add_text_notice
    from aiglabel.registry import default_registry
    from aiglabel.verify.text import sniff_text

    src = Source.from_bytes(data, name or "<bytes>")
    try:
        codec: CodecBase | None = default_registry.identify(src, name)
    except UnsupportedFormatError:  # no codec claims it: plain text is still text
        codec = None
    if codec is not None and codec.name == "ooxml":
        from aiglabel.explicit._docx import add_docx_notice

        return add_docx_notice(src, label.wording, _text_position(label.places))
    if codec is not None and codec.name in AUDIO_CODECS:
        if codec.name in VIDEO_CONTAINERS and has_video(io.BytesIO(data)):
            msg = "a video gets its label burnt into the frames (add_explicit_video)"
            raise CarrierUnsupportedError(msg, path=name)
        from aiglabel.explicit.audio import add_audio_label

        # GB 5.3: audio gets the rhythm cue or a voice prompt, not words.
        return add_audio_label(data, name=name, places=label.places or ("start",),
                               cue=label.audio_cue, voice_clip=label.voice_clip,
                               voice_text=label.voice_text, **label.rhythm_settings())
    if codec is not None and codec.name in IMAGE_CODECS:
        from aiglabel.explicit.image import DEFAULT_IMAGE_WORDING, ImageLabel, add_image_label

        if codec.name in ("gif", "heif"):
            msg = ("explicit image labels are written for JPEG, PNG, WebP and TIFF, not "
                   f"{codec.description}")
            raise CarrierUnsupportedError(msg, path=name)
        # GB 5.2: a picture gets a short text label at a corner or edge (the chosen corner,
        # else top-left for "start", else bottom-right).
        corner = label.corner or ("top-left" if label.places == ("start",) else "bottom-right")
        shown = DEFAULT_IMAGE_WORDING if label.wording == DEFAULT_NOTICE else label.wording
        return add_image_label(data, name=name,
                               label=ImageLabel(shown, corner, font_path=label.font_path))[0]
    kind = codec.text_kind if codec is not None else sniff_text(src.head, name)
    if kind is None:
        what = codec.description if codec is not None else "this format"
        msg = f"{what} has no text, picture or sound to add an explicit label to"
        raise CarrierUnsupportedError(msg, path=name)
    return add_text_notice(data, kind, label.wording, _text_position(label.places))
