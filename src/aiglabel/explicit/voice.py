"""The audio voice prompt: a spoken notice as the explicit audio label (GB 45438 §5.3).

GB 5.3 allows a voice prompt containing the AI element (``人工智能`` or ``AI``) and the
generation element (``生成`` / ``合成``), spoken at a normal rate: 120-160 characters per
minute (GB 5.3 Note 4, :data:`SPEECH_RATE_RANGE`). The package bundles one clip,
``voices/notice-zh.opus`` (:func:`bundled_voice_clip`), saying :data:`DEFAULT_VOICE_TEXT`
(built by ``scripts/make_voice.py``; origin and licence in ``voices/README.md``). A user clip
may replace it: :class:`VoicePrompt` names the file and the words it says, and
:func:`load_voice` refuses a clip whose spoken part is too fast or too slow for those words.

The rate is measured on the spoken part: leading and trailing samples below -40 dBFS
(:data:`SILENCE_DB`) are trimmed, and the characters of the text (letters and digits; spaces
and punctuation are not spoken) are divided by what is left, in minutes.

:func:`find_clip` locates the clip in a programme after lossy re-encoding, as the self-check
that the prompt was put where intended. numpy and PyAV are imported when used.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiglabel.errors import CorruptFileError, InvalidLabelError
from aiglabel.explicit.text import check_wording

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_VOICE_TEXT",
    "FIND_THRESHOLD",
    "MAX_CLIP_SECONDS",
    "SILENCE_DB",
    "SPEECH_RATE_RANGE",
    "VoicePrompt",
    "bundled_voice_clip",
    "find_clip",
    "load_voice",
    "speech_rate",
]

DEFAULT_VOICE_TEXT = "本内容由人工智能生成"
SPEECH_RATE_RANGE = (120.0, 160.0)  # characters per minute, GB 5.3 Note 4
SILENCE_DB = -40.0  # samples below this (dBFS) at either end are not part of the spoken span
MAX_CLIP_SECONDS = 30.0
# Peak normalized correlation above which find_clip reports the clip. Measured at 16, 44.1 and
# 48 kHz: the bundled clip spliced into noise or a music-like programme scores 0.99-1.00 after
# MP3, AAC or Opus at 128 kb/s (0.70-0.80 when mixed under white noise at 5 dB SNR); noise,
# tones, sweeps, silence and that programme score 0.12 or less, the time-reversed clip 0.38,
# other eSpeak sentences 0.31-0.50, one sharing five of its words ("这段音频由人工智能合成") 0.60.
FIND_THRESHOLD = 0.75
_HOP_S = 0.005
_FRAME_S = 0.025
_BANDS = 24
_BAND_HZ = (150.0, 4000.0)
_FLOOR_DB = -60.0  # band energies below the clip's loudest band energy by more are clamped


def bundled_voice_clip() -> str:
    """Path of the bundled voice prompt (Ogg Opus, mono 48 kHz) saying
    :data:`DEFAULT_VOICE_TEXT`."""
    return str(resources.files("aiglabel.explicit") / "voices" / "notice-zh.opus")


@dataclass(frozen=True, slots=True)
class VoicePrompt:
    """A voice prompt: the clip (``None`` = the bundled one) and the words it says, checked
    for both notice elements (rules §A.0) and used to measure the speech rate.

    Raises:
        InvalidLabelError: on creation, text that lacks an AI or a generation element.
    """

    clip_path: str | None = None
    text: str = DEFAULT_VOICE_TEXT

    def __post_init__(self) -> None:
        check_wording(self.text)


def _spoken_characters(text: str) -> int:
    """Letters and digits in ``text``: what is read out (spaces and punctuation are not)."""
    return sum(1 for c in text if unicodedata.category(c)[0] in "LN")


def speech_rate(samples: NDArray[np.float32], rate: int, text: str) -> float:
    """Characters per minute of ``text`` spoken in mono ``samples`` at ``rate`` Hz, over the
    span between the first and the last sample at or above :data:`SILENCE_DB`.

    Raises:
        InvalidLabelError: the samples are silent throughout.
    """
    import numpy as np

    loud = np.flatnonzero(np.abs(samples) >= 10 ** (SILENCE_DB / 20))
    if len(loud) < 2:
        msg = f"the voice prompt is silent (nothing at or above {SILENCE_DB:g} dBFS)"
        raise InvalidLabelError(msg)
    seconds = (int(loud[-1]) - int(loud[0]) + 1) / rate
    return 60.0 * _spoken_characters(text) / seconds


def load_voice(prompt: VoicePrompt | None, rate: int) -> NDArray[np.float32]:
    """The prompt's clip (the bundled one for ``None``) decoded with PyAV to mono float
    samples at ``rate`` Hz, after checking its speech rate against :data:`SPEECH_RATE_RANGE`.

    Raises:
        CorruptFileError: PyAV cannot decode the clip, or it has no audio.
        InvalidLabelError: a clip over :data:`MAX_CLIP_SECONDS`, a silent clip, or a speech rate
            outside 120-160 characters per minute for the prompt's text (the rate is named).
        FileNotFoundError: no such file.
    """
    import av
    import numpy as np

    prompt = prompt or VoicePrompt()
    path = prompt.clip_path or bundled_voice_clip()
    limit = round(MAX_CLIP_SECONDS * rate)
    chunks: list[NDArray[np.float32]] = []
    count = 0
    try:
        opened: Any = av.open(path, metadata_errors="replace")  # PyAV stubs are loose
        with opened as container:
            if not container.streams.audio:
                msg = "the voice prompt has no audio stream"
                raise CorruptFileError(msg, path=path)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(container.streams.audio[0]):
                for piece in resampler.resample(frame):
                    chunks.append(piece.to_ndarray()[0])
                    count += len(chunks[-1])
                if count > limit:
                    msg = f"the voice prompt is longer than {MAX_CLIP_SECONDS:g} s"
                    raise InvalidLabelError(msg, path=path)
            chunks.extend(piece.to_ndarray()[0] for piece in resampler.resample(None))
    except FileNotFoundError:
        raise
    except av.error.FFmpegError as exc:
        msg = f"cannot decode the voice prompt ({exc})"
        raise CorruptFileError(msg, path=path) from exc
    if not chunks or sum(len(c) for c in chunks) == 0:
        msg = "the voice prompt decodes to no audio"
        raise CorruptFileError(msg, path=path)
    samples = np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)
    try:
        measured = speech_rate(samples, rate, prompt.text)
    except InvalidLabelError as exc:
        raise InvalidLabelError(exc.message, path=path) from None
    low, high = SPEECH_RATE_RANGE
    if not low <= measured <= high:
        msg = (f"the voice prompt speaks {prompt.text!r} at {measured:.0f} characters per "
               f"minute; GB 45438 5.3 asks for {low:g}-{high:g}")
        raise InvalidLabelError(msg, path=path)
    return samples


def _features(samples: NDArray[Any], rate: int) -> NDArray[np.float64]:
    """Band energies (power, not yet in dB): ``[band, frame]``, frames every 5 ms, Hann
    windows of 25 ms rounded up to a power of two samples, up to :data:`_BANDS` mel-spaced
    bands between 150 Hz and 4 kHz (those narrower than a bin dropped)."""
    import numpy as np

    hop = max(1, round(rate * _HOP_S))
    size = 1 << max(4, round(rate * _FRAME_S) - 1).bit_length()
    freqs = np.fft.rfftfreq(size, 1 / rate)
    top = min(_BAND_HZ[1], 0.45 * rate)
    low, high = (2595 * math.log10(1 + f / 700) for f in (_BAND_HZ[0], top))
    mel = np.linspace(low, high, _BANDS + 1)
    edges = 700 * (10 ** (mel / 2595) - 1)
    band = np.searchsorted(edges, freqs, side="right") - 1
    weights = np.zeros((len(freqs), _BANDS))
    inside = (band >= 0) & (band < _BANDS)
    weights[np.flatnonzero(inside), band[inside]] = 1.0
    weights = weights[:, weights.sum(axis=0) > 0]
    signal = np.asarray(samples, dtype=np.float64)
    count = 1 + max(0, (len(signal) - size) // hop)
    window = np.hanning(size)
    out = np.empty((weights.shape[1], count))
    for first in range(0, count, 1024):  # bounded memory on long programmes
        frames = np.arange(first, min(count, first + 1024))
        index = np.minimum(frames[:, None] * hop + np.arange(size)[None, :], len(signal) - 1)
        power = np.abs(np.fft.rfft(signal[index] * window, axis=1)) ** 2
        out[:, first : first + len(frames)] = (power @ weights).T
    return out


def find_clip(samples: NDArray[np.float32], rate: int,
              clip: NDArray[np.float32]) -> float | None:
    """Where ``clip`` starts in ``samples`` (seconds; both mono at ``rate`` Hz), or ``None``.

    The spoken span of the clip (its padding left out) is matched by normalized correlation
    of log band energies (24 mel bands, 150 Hz-4 kHz, 5 ms hop; each band's mean removed),
    which a codec's phase changes and band-limiting leave alone; the peak must exceed
    :data:`FIND_THRESHOLD`. A clip spliced into a programme is found after MP3, AAC or Opus at
    128 kb/s to within a few ms, plus any encoder delay the container does not undo (raw ADTS
    AAC: 1024 samples); one mixed under other sound scores lower (see the threshold's note).
    The result is negative when ``samples`` start inside the clip's leading silence. Meant for
    windows of seconds to minutes around where the clip was put, as a self-check.
    """
    import numpy as np

    loud = np.flatnonzero(np.abs(clip) >= 10 ** (SILENCE_DB / 20))
    if len(loud) < 2:
        return None
    voiced = clip[int(loud[0]) : int(loud[-1]) + 1]
    if len(samples) < len(voiced):
        return None
    template = _features(voiced, rate)
    floor = float(template.max()) * 10 ** (_FLOOR_DB / 10) + 1e-30
    template = np.log10(template + floor)
    signal = np.log10(_features(samples, rate) + floor)
    length, count = template.shape[1], signal.shape[1]
    if count < length:
        return None
    template -= template.mean(axis=1, keepdims=True)
    size = 1 << (count + length - 1).bit_length()
    spectrum = np.fft.rfft(signal, size, axis=1) * np.conj(np.fft.rfft(template, size, axis=1))
    numerator = np.fft.irfft(spectrum.sum(axis=0), size)[: count - length + 1]
    sums = np.concatenate([np.zeros((signal.shape[0], 1)), np.cumsum(signal, axis=1)], axis=1)
    squares = np.concatenate([np.zeros((signal.shape[0], 1)),
                              np.cumsum(signal**2, axis=1)], axis=1)
    total = sums[:, length:] - sums[:, :-length]
    energy = squares[:, length:] - squares[:, :-length]
    variance = np.maximum(energy - total**2 / length, 0).sum(axis=0)
    variance += template.size * 1e-6  # 0.01 dB of jitter: a steady tone correlates with nothing
    score = numerator / (np.sqrt(variance) * float(np.sqrt((template**2).sum())))
    best = int(np.argmax(score))
    if score[best] <= FIND_THRESHOLD:
        return None
    shift = 0.0
    if 0 < best < len(score) - 1:  # parabolic refinement between hops
        left, mid, right = (float(v) for v in score[best - 1 : best + 2])
        bend = left - 2 * mid + right
        shift = 0.5 * (left - right) / bend if bend < 0 else 0.0
    hop = max(1, round(rate * _HOP_S))
    return ((best + shift) * hop - int(loud[0])) / rate
