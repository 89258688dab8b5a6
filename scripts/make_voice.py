"""Build the bundled voice prompt: "本内容由人工智能生成" spoken by eSpeak NG (GB 45438 §5.3).

Run from the repository root, with the build-time tool installed (it is not a dependency of
aiglabel, and nothing of it is shipped)::

    pip install espeakng-loader==0.2.4
    python scripts/make_voice.py

``espeakng-loader`` is a PyPI wheel that carries libespeak-ng (1.52.0) and its data, including
the Mandarin voice ``cmn``; this script drives the library through ctypes (its public C API,
``speak_lib.h``), offline. Steps:

1. synthesize the text with the ``cmn`` voice at 22 050 Hz, searching eSpeak's rate setting
   (words per minute, an integer) for the one whose spoken part is closest to
   :data:`TARGET_RATE` characters per minute (GB 5.3 Note 4 allows 120-160);
2. resample to 48 kHz with PyAV, normalise the peak to :data:`PEAK_DB`, trim what lies below
   -40 dBFS at either end and add :data:`PAD_S` of silence before and after;
3. encode Ogg Opus (libopus, mono, :data:`BIT_RATE`) with PyAV, bit-exact container flags;
4. decode the file with :func:`aiglabel.explicit.voice.load_voice` and print the measured
   duration of the spoken part and the characters per minute.

Output: ``src/aiglabel/explicit/voices/notice-zh.opus``. Deterministic for a given eSpeak NG,
libopus and FFmpeg build.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np

from aiglabel.explicit.voice import (
    DEFAULT_VOICE_TEXT,
    SPEECH_RATE_RANGE,
    VoicePrompt,
    load_voice,
    speech_rate,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "aiglabel" / "explicit" / "voices" / "notice-zh.opus"
VOICE = "cmn"
TARGET_RATE = 140.0  # characters per minute, the middle of GB 5.3 Note 4's 120-160
PEAK_DB = -3.0
PAD_S = 0.15
RATE = 48_000
BIT_RATE = 32_000
# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_PARAM_RATE = 1
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


class Espeak:
    """libespeak-ng from the espeakng-loader wheel, synchronous mode, one voice."""

    def __init__(self, voice: str) -> None:
        try:
            import espeakng_loader  # type: ignore[import-untyped]
        except ImportError:
            sys.exit("needs the build-time tool: pip install espeakng-loader==0.2.4")
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        data = espeakng_loader.get_data_path().encode()
        self.rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data,
                                          _INITIALIZE_DONT_EXIT)
        if self.rate <= 0:
            sys.exit("espeak_Initialize failed")
        self.version = lib.espeak_Info(None).decode()
        self._chunks: list[np.ndarray[Any, Any]] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced while the library uses it
        lib.espeak_SetSynthCallback(self._callback)
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            sys.exit(f"eSpeak NG has no voice {voice!r}")
        self._lib = lib

    def _collect(self, wav: Any, count: int, _events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def say(self, text: str, words_per_minute: int) -> np.ndarray[Any, Any]:
        """Mono float32 samples at :attr:`rate` Hz."""
        self._chunks = []
        self._lib.espeak_SetParameter(_PARAM_RATE, words_per_minute, 0)
        raw = text.encode() + b"\0"
        if self._lib.espeak_Synth(raw, len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None,
                                  None) != 0:
            sys.exit("espeak_Synth failed")
        return (np.concatenate(self._chunks).astype(np.float32) / 32768).astype(np.float32)


def resample(samples: np.ndarray[Any, Any], rate: int, target: int) -> np.ndarray[Any, Any]:
    """Resample mono float32 samples with PyAV (libswresample)."""
    frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target)
    pieces = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([p.to_ndarray()[0] for p in pieces]).astype(np.float32)


def shape(samples: np.ndarray[Any, Any], rate: int) -> np.ndarray[Any, Any]:
    """Peak to PEAK_DB, silence below -40 dBFS trimmed at both ends, PAD_S added to each."""
    samples = samples * (10 ** (PEAK_DB / 20) / float(np.max(np.abs(samples))))
    loud = np.flatnonzero(np.abs(samples) >= 10 ** (-40 / 20))
    pad = np.zeros(round(PAD_S * rate), np.float32)
    voiced = samples[loud[0] : loud[-1] + 1]
    return np.concatenate([pad, voiced, pad]).astype(np.float32)


def encode_opus(samples: np.ndarray[Any, Any]) -> bytes:
    """Ogg Opus, mono, 48 kHz, BIT_RATE, bit-exact (no random serial, no encoder tag)."""
    out = io.BytesIO()
    writer: Any = av.open(out, "w", format="ogg", container_options={"fflags": "+bitexact"})
    with writer as sink:
        stream = sink.add_stream("libopus", rate=RATE, layout="mono")
        stream.bit_rate = BIT_RATE
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = RATE
        chunker = av.AudioResampler(format=stream.codec_context.format.name, layout="mono",
                                    rate=RATE, frame_size=stream.codec_context.frame_size)
        for piece in [*chunker.resample(frame), *chunker.resample(None)]:
            for packet in stream.encode(piece):
                sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
    return out.getvalue()


def main() -> None:
    engine = Espeak(VOICE)
    measured: dict[int, float] = {}

    def rate_at(wpm: int) -> float:
        if wpm not in measured:
            shaped = shape(engine.say(DEFAULT_VOICE_TEXT, wpm), engine.rate)
            measured[wpm] = speech_rate(shaped, engine.rate, DEFAULT_VOICE_TEXT)
        return measured[wpm]

    low, high = 80, 450  # eSpeak's range; characters per minute rise with its rate setting
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if rate_at(middle) < TARGET_RATE else (low, middle)
    wpm = min((low, high), key=lambda w: abs(rate_at(w) - TARGET_RATE))
    speech = resample(engine.say(DEFAULT_VOICE_TEXT, wpm), engine.rate, RATE)
    data = encode_opus(shape(speech, RATE))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)
    decoded = load_voice(VoicePrompt(clip_path=str(OUT)), RATE)
    chars_per_minute = speech_rate(decoded, RATE, DEFAULT_VOICE_TEXT)
    spoken = 60 * len(DEFAULT_VOICE_TEXT) / chars_per_minute
    print(f"eSpeak NG {engine.version}, voice {VOICE}, rate setting {wpm} wpm")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data)} bytes, "
          f"{len(decoded) / RATE:.3f} s in all, sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    print(f"spoken part {spoken:.3f} s: {chars_per_minute:.1f} characters per minute "
          f"(allowed {SPEECH_RATE_RANGE[0]:g}-{SPEECH_RATE_RANGE[1]:g})")


if __name__ == "__main__":
    main()
