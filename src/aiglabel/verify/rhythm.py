"""Decoding the ends of an audio programme for the rhythm detector (PyAV and numpy).

Imported only by :class:`aiglabel.verify.detectors.RhythmDetector`; importing it without PyAV
or numpy raises ImportError, which the detector reports as a skipped check.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import av
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["decode_ends"]


def decode_ends(data: bytes, seconds: float
                ) -> tuple[int, int, NDArray[np.float32], NDArray[np.float32]] | None:
    """``(rate, total samples, first seconds, last seconds)`` of the first audio stream, mono;
    ``None`` when there is no audio stream or it does not decode."""
    try:
        reader: Any = av.open(io.BytesIO(data), metadata_errors="replace")
        with reader as container:
            if not container.streams.audio:
                return None
            rate = container.streams.audio[0].codec_context.sample_rate
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            keep = int(rate * seconds)
            head: list[NDArray[np.float32]] = []
            tail: list[NDArray[np.float32]] = []
            got = kept_tail = total = 0
            for frame in container.decode(audio=0):
                for mono in resampler.resample(frame):
                    samples = mono.to_ndarray()[0]
                    total += len(samples)
                    if got < keep:
                        head.append(samples[: keep - got])
                        got += len(samples)
                    tail.append(samples)
                    kept_tail += len(samples)
                    while tail and kept_tail - len(tail[0]) >= keep:
                        kept_tail -= len(tail.pop(0))
    except (av.error.FFmpegError, ValueError, IndexError):
        return None
    if not head:
        return None
    return rate, total, np.concatenate(head), np.concatenate(tail)[-keep:]
