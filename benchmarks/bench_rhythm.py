"""Measure the audio-rhythm detector: detection rate and false positives (GB 5.3 c), issue 6).

Usage::

    python benchmarks/bench_rhythm.py [--trials 10] [--json PATH]

Positives: the Morse "AI" cue (default settings) placed at a random moment of a 6 s background
and mixed in at 10 dB SNR (cue power over the background's power), then coded at 128 kb/s with
MP3 (libmp3lame), AAC (FFmpeg's encoder, M4A) or Opus (libopus, 48 kHz) and decoded at 44.1 kHz,
16 kHz or 48 kHz. Backgrounds: white noise, a music-like programme (chord, melody, harmonic
syllables; seeded) and speech (the bundled eSpeak NG clip, cut at random places and strung
together). A trial counts as found when :func:`aiglabel.explicit.audio.find_rhythm` reports a
cue within 0.1 s of where it was put. ``--trials`` per codec x rate x background.

Negatives, through the same codecs: music-like programmes, speech, white and pink noise, steady
tones, random beep sequences, and the other Morse letters of up to four symbols keyed with the
same tone, unit and level (S ``...``, R ``.-.``, U ``..-``, W ``.--``, ...), alone and over
the programmes. Any report counts as a false positive.

Prints both tables; rates are measured, never asserted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.signals import mp3_round_trip, programme  # noqa: E402

from aiglabel.explicit.audio import RAMP_MS, find_rhythm, rhythm_tone  # noqa: E402
from aiglabel.explicit.voice import load_voice  # noqa: E402

RATE = 44100
SECONDS = 6.0
CODECS = ("mp3", "aac", "opus")
OUT_RATES = (44100, 16000, 48000)
BACKGROUNDS = ("noise", "music", "speech")
# Morse letters of up to four symbols, other than "AI" itself when run together (".-..").
LETTERS = {"E": ".", "T": "-", "I": "..", "A": ".-", "N": "-.", "M": "--", "S": "...",
           "U": "..-", "R": ".-.", "W": ".--", "D": "-..", "K": "-.-", "G": "--.", "O": "---",
           "H": "....", "V": "...-", "F": "..-.", "L": ".-..", "P": ".--.", "J": ".---",
           "B": "-...", "X": "-..-", "C": "-.-.", "Y": "-.--", "Z": "--..", "Q": "--.-"}


def speech(seconds: float, seed: int) -> np.ndarray:
    """Real synthetic speech: random cuts of the bundled eSpeak clip strung together."""
    rng = np.random.default_rng(seed)
    clip = load_voice(None, RATE)
    out: list[np.ndarray] = []
    total = 0
    while total < seconds * RATE:
        start = int(rng.integers(0, clip.size // 2))
        piece = clip[start : start + int(rng.integers(RATE // 2, clip.size - start))]
        out.append(piece)
        total += piece.size
    return np.concatenate(out)[: int(seconds * RATE)].astype(np.float32)


def background(kind: str, seed: int) -> np.ndarray:
    if kind == "noise":
        return np.random.default_rng(seed).normal(0, 0.1, int(SECONDS * RATE)).astype(np.float32)
    if kind == "music":
        return programme(SECONDS, seed)
    return speech(SECONDS, seed)


def keyed(code: str, unit_ms: float = 60.0, frequency: float = 1000.0) -> np.ndarray:
    """Morse ``code`` keyed like the cue (same unit, tone, level and ramps)."""
    unit = round(RATE * unit_ms / 1000)
    ramp = max(1, round(RATE * RAMP_MS / 1000))
    edge = 0.5 - 0.5 * np.cos(np.linspace(0, math.pi, ramp))
    parts = [np.zeros(round(RATE * 0.1), np.float32)]
    for symbol in code:
        n = unit * (1 if symbol == "." else 3)
        burst = 10 ** (-12 / 20) * np.sin(2 * math.pi * frequency * np.arange(n) / RATE)
        burst[:ramp] *= edge
        burst[-ramp:] *= edge[::-1]
        parts += [burst.astype(np.float32), np.zeros(unit, np.float32)]
    parts.append(np.zeros(round(RATE * 0.1), np.float32))
    return np.concatenate(parts)


def mix(base: np.ndarray, cue: np.ndarray, at: int, snr_db: float = 10.0) -> np.ndarray:
    """``cue`` added at sample ``at`` with the background scaled ``snr_db`` below it."""
    out = base.copy()
    cue_power = float(np.mean(cue[np.abs(cue) > 1e-4] ** 2))
    base_power = float(np.mean(base**2)) + 1e-12
    out *= math.sqrt(cue_power / base_power / 10 ** (snr_db / 10))
    out[at : at + cue.size] += cue
    return np.clip(out, -1, 1)


def code(signal: np.ndarray, codec: str, out_rate: int) -> np.ndarray:
    return mp3_round_trip(signal, RATE, out_rate=out_rate, codec=codec)


def positives(trials: int) -> dict[tuple[str, int, str], tuple[int, int]]:
    cue = rhythm_tone(RATE)
    results: dict[tuple[str, int, str], tuple[int, int]] = {}
    for codec, out_rate, kind in itertools.product(CODECS, OUT_RATES, BACKGROUNDS):
        found = 0
        for seed in range(trials):
            rng = np.random.default_rng(1000 + seed)
            at = int(rng.integers(0, int(SECONDS * RATE) - cue.size))
            decoded = code(mix(background(kind, seed), cue, at), codec, out_rate)
            match = find_rhythm(decoded, out_rate)
            # The cue's first tone starts 100 ms into the generated cue (its padding).
            if match is not None and abs(match.start - (at / RATE + 0.1)) <= 0.1:
                found += 1
        results[(codec, out_rate, kind)] = (found, trials)
    return results


def negatives(trials: int) -> dict[str, tuple[int, int]]:
    rng = np.random.default_rng(7)
    cases: dict[str, list[np.ndarray]] = {
        "music-like programme": [programme(SECONDS, 100 + s) for s in range(trials)],
        "speech (eSpeak)": [speech(SECONDS, 200 + s) for s in range(trials)],
        "white noise": [rng.normal(0, 0.1, int(SECONDS * RATE)).astype(np.float32)
                        for _ in range(trials)],
        "pink noise": [pink(rng) for _ in range(trials)],
        "steady tones": [(0.25 * np.sin(2 * math.pi * f * np.arange(int(SECONDS * RATE))
                                        / RATE)).astype(np.float32)
                         for f in np.linspace(300, 3000, trials)],
        "random beeps": [beeps(rng) for _ in range(trials)],
        "other Morse letters": [keyed(c) for c in LETTERS.values()],
        "other letters over music": [mix(programme(SECONDS, 300 + i), keyed(c), RATE)
                                     for i, c in enumerate(LETTERS.values())],
    }
    results: dict[str, tuple[int, int]] = {}
    for name, signals in cases.items():
        fired = 0
        for i, signal in enumerate(signals):
            codec, out_rate = CODECS[i % 3], OUT_RATES[(i // 3) % 3]
            if find_rhythm(code(signal, codec, out_rate), out_rate) is not None:
                fired += 1
        results[name] = (fired, len(signals))
    return results


def pink(rng: np.random.Generator) -> np.ndarray:
    white = np.fft.rfft(rng.normal(0, 1, int(SECONDS * RATE)))
    white /= np.sqrt(np.maximum(np.fft.rfftfreq(int(SECONDS * RATE), 1 / RATE), 20))
    out = np.fft.irfft(white, int(SECONDS * RATE))
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


def beeps(rng: np.random.Generator) -> np.ndarray:
    """Beeps of random length (40-400 ms), pitch and gaps: alarms, UI sounds."""
    out = np.zeros(int(SECONDS * RATE), np.float32)
    t = 0.2
    while t < SECONDS - 0.5:
        length = rng.uniform(0.04, 0.4)
        n = int(length * RATE)
        start = int(t * RATE)
        f = rng.choice([440.0, 880.0, 1000.0, 1200.0, 2000.0])
        out[start : start + n] = 0.25 * np.sin(2 * math.pi * f * np.arange(n) / RATE)
        t += length + rng.uniform(0.05, 0.5)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    found = positives(args.trials)
    print(f"## Detection: cue at 10 dB SNR, {args.trials} trials per cell\n")
    print("| codec | decoded at | noise | music | speech |\n|---|---|---|---|---|")
    for codec, out_rate in itertools.product(CODECS, OUT_RATES):
        cells = [found[(codec, out_rate, kind)] for kind in BACKGROUNDS]
        print(f"| {codec} 128k | {out_rate / 1000:g} kHz | "
              + " | ".join(f"{f}/{n}" for f, n in cells) + " |")
    hits = sum(f for f, _ in found.values())
    total = sum(n for _, n in found.values())
    print(f"\ndetection rate: {hits}/{total} = {hits / total:.1%}")
    fired = negatives(args.trials)
    print("\n## False positives (no cue; codecs and rates rotated)\n")
    print("| signal | fired |\n|---|---|")
    for name, (count, n) in fired.items():
        print(f"| {name} | {count}/{n} |")
    bad = sum(c for c, _ in fired.values())
    tried = sum(n for _, n in fired.values())
    print(f"\nfalse positive rate: {bad}/{tried} = {bad / tried:.1%}")
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "detection": {f"{c}/{r}/{k}": v for (c, r, k), v in found.items()},
            "false_positives": fired}, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
