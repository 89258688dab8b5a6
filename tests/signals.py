"""Synthetic audio shared by the explicit-audio tests: a music/speech-like programme and an
MP3 round trip through PyAV, as a platform's transcoder would do it."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

RATE = 44100


def programme(seconds: float, seed: int, *, rate: int = RATE, noise: float = 0.0) -> np.ndarray:
    """Harmonic 'speech' syllables with gliding pitch over a soft chord with a keyed melody --
    broadband, keyed and tonal, but not a keyed single sine -- plus optional white noise,
    peak-normalised to 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rate * seconds)) / rate
    out = 0.05 * sum(np.sin(2 * math.pi * f * t) for f in (220, 277, 330))
    for _ in range(int(seconds * 4)):
        start, length = rng.uniform(0, seconds - 0.4), rng.uniform(0.06, 0.35)
        mask = (t >= start) & (t < start + length)
        f0 = rng.uniform(90, 260) * (1 + 0.3 * (t[mask] - start))
        out[mask] += sum((0.25 / h) * np.sin(2 * math.pi * h * f0 * t[mask]) for h in range(1, 9))
    for k in range(int(seconds * 3)):
        mask = (t >= k / 3) & (t < k / 3 + 0.25)
        out[mask] += 0.08 * np.sin(2 * math.pi * rng.choice([523, 587, 659, 784]) * t[mask])
    if noise:
        out += rng.normal(0, noise, len(t))
    return (out / np.max(np.abs(out)) * 0.5).astype(np.float32)


_CODECS = {"mp3": ("mp3", "libmp3lame"), "aac": ("ipod", "aac"), "opus": ("ogg", "libopus")}


def mp3_round_trip(samples: np.ndarray, rate: int, out_rate: int | None = None, *,
                   codec: str = "mp3") -> np.ndarray:
    """Mono float samples through a lossy codec at 128 kb/s and back with PyAV (optionally
    resampled to ``out_rate``): ``mp3`` (libmp3lame in MP3), ``aac`` (FFmpeg's AAC in M4A) or
    ``opus`` (libopus in Ogg, at 48 kHz)."""
    av = pytest.importorskip("av")
    container_format, encoder = _CODECS[codec]
    encode_rate = 48000 if codec == "opus" else rate
    if encode_rate != rate:
        samples = resample(samples, rate, encode_rate)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(encoder, rate=encode_rate, layout="mono")
        stream.bit_rate = 128_000
        frame = av.AudioFrame.from_ndarray(samples.astype(np.float32)[None, :], format="flt",
                                           layout="mono")
        frame.sample_rate = encode_rate
        ctx = stream.codec_context
        pieces = av.AudioResampler(format=ctx.format.name, layout="mono", rate=encode_rate,
                                   frame_size=ctx.frame_size or None).resample(frame)
        for piece in [*pieces, None]:
            for packet in stream.encode(piece):
                container.mux(packet)
    buffer.seek(0)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate or rate)
    with av.open(buffer) as container:
        out = [piece.to_ndarray()[0] for decoded in container.decode(audio=0)
               for piece in resampler.resample(decoded)]
    return np.concatenate(out)


def resample(samples: np.ndarray, rate: int, out_rate: int) -> np.ndarray:
    """Mono float samples resampled with FFmpeg's resampler (PyAV)."""
    av = pytest.importorskip("av")
    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32)[None, :], format="flt",
                                       layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate)
    out = [f.to_ndarray()[0] for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(out)
