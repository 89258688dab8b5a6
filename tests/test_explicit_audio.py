"""The audio rhythm label (GB 5.3 c), rules §A.3): the generated cue's timing, and the detector
after MP3 re-encoding, resampling and 10 dB SNR noise, without firing on other sounds."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
import pytest
from tests.conftest import MEDIA, record

from aiglabel.errors import InvalidLabelError
from aiglabel.explicit.audio import RHYTHM_UNITS, find_rhythm, rhythm_tone

if TYPE_CHECKING:
    from pathlib import Path

RATE = 44100


def _mp3_round_trip(samples: np.ndarray, rate: int, out_rate: int | None = None) -> np.ndarray:
    """Encode mono float samples with libmp3lame at 128 kb/s in an MP3 file and decode them
    back with PyAV (optionally resampled), as a platform's transcoder would."""
    av = pytest.importorskip("av")
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.bit_rate = 128_000
        frame = av.AudioFrame.from_ndarray(samples.astype(np.float32)[None, :], format="flt",
                                           layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate or rate)
    out = []
    with av.open(buffer) as container:
        for decoded in container.decode(audio=0):
            out.extend(converted.to_ndarray()[0] for converted in resampler.resample(decoded))
    return np.concatenate(out)


def test_the_cue_has_morse_proportions() -> None:
    tone = rhythm_tone(RATE)
    units = sum(n for _, n in RHYTHM_UNITS)
    assert units == 11
    assert len(tone) == round(RATE * 0.06) * units + 2 * round(RATE * 0.1)
    assert math.isclose(float(np.max(np.abs(tone))), 10 ** (-12 / 20), rel_tol=0.01)
    assert abs(float(tone[round(RATE * 0.1)])) < 0.01  # raised-cosine ramp: no click
    match = find_rhythm(tone, RATE)
    assert match is not None
    assert math.isclose(match.start, 0.1, abs_tol=0.01)
    assert math.isclose(match.unit_ms, 60, abs_tol=6)
    assert match.frequency == pytest.approx(1000, abs=60)


@pytest.mark.parametrize("unit", [60, 80, 100])
def test_any_allowed_unit_is_found(unit: float) -> None:
    match = find_rhythm(rhythm_tone(RATE, unit_ms=unit), RATE)
    assert match is not None
    assert math.isclose(match.unit_ms, unit, rel_tol=0.12)


def test_settings_are_bounded() -> None:
    for kwargs in ({"unit_ms": 40}, {"unit_ms": 150}, {"frequency": 50}, {"level_db": 3}):
        with pytest.raises(InvalidLabelError):
            rhythm_tone(RATE, **kwargs)  # type: ignore[arg-type]


def _programme(seconds: float, seed: int) -> np.ndarray:
    """A synthetic programme: harmonic 'speech' syllables with gliding pitch over a soft
    chord with a melody -- broadband, keyed and tonal, but not a keyed single sine."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(RATE * seconds)) / RATE
    out = 0.05 * sum(np.sin(2 * math.pi * f * t) for f in (220, 277, 330))
    for _ in range(int(seconds * 4)):
        start, length = rng.uniform(0, seconds - 0.4), rng.uniform(0.06, 0.35)
        mask = (t >= start) & (t < start + length)
        f0 = rng.uniform(90, 260) * (1 + 0.3 * (t[mask] - start))
        out[mask] += sum((0.25 / h) * np.sin(2 * math.pi * h * f0 * t[mask]) for h in range(1, 9))
    for k in range(int(seconds * 3)):
        start = k / 3
        mask = (t >= start) & (t < start + 0.25)
        out[mask] += 0.08 * np.sin(2 * math.pi * rng.choice([523, 587, 659, 784]) * t[mask])
    return (out / np.max(np.abs(out)) * 0.5).astype(np.float32)


def test_found_after_mp3_resampling_and_noise_at_10_db() -> None:
    rng = np.random.default_rng(45438)
    tone = rhythm_tone(RATE)
    signal = np.concatenate([np.zeros(RATE // 2, np.float32), tone, np.zeros(RATE // 2,
                                                                               np.float32)])
    power = float(np.mean(tone[np.abs(tone) > 0] ** 2))
    noisy = signal + rng.normal(0, math.sqrt(power / 10), len(signal)).astype(np.float32)
    decoded = _mp3_round_trip(noisy, RATE, out_rate=16000)
    match = find_rhythm(decoded, 16000)
    assert match is not None
    assert match.start == pytest.approx(0.6, abs=0.08)


def test_found_over_a_programme_at_10_db() -> None:
    programme = _programme(4.0, 7)
    tone = rhythm_tone(RATE)
    mix = programme.copy()
    at = RATE
    gain = math.sqrt(10 * float(np.mean(programme ** 2)) / float(np.mean(tone[tone != 0] ** 2)))
    mix[at : at + len(tone)] += tone * gain  # the cue 10 dB above the programme's power
    assert find_rhythm(_mp3_round_trip(mix, RATE), RATE) is not None


def test_no_false_positives_on_programmes_and_noise() -> None:
    """Measured: 40 synthetic programmes (speech-like syllables, chords, melody) and 10 noise
    signals, each 4 s, through MP3 -- the detector must not fire on any."""
    rng = np.random.default_rng(1)
    signals = [_programme(4.0, seed) for seed in range(40)]
    signals += [rng.normal(0, 0.2, RATE * 4).astype(np.float32) for _ in range(10)]
    fired = [i for i, s in enumerate(signals) if find_rhythm(_mp3_round_trip(s, RATE), RATE)]
    assert fired == []


# --- files: the cue added, the format kept, then the implicit label -------------------------


def _stream_facts(data: bytes) -> tuple[str, str, int, int, float]:
    av = pytest.importorskip("av")
    with av.open(io.BytesIO(data)) as container:
        ctx = container.streams.audio[0].codec_context
        return (container.format.name, ctx.name, ctx.sample_rate, ctx.channels,
                float(container.duration or 0) / 1e6)


@pytest.mark.parametrize("fixture", ["wav/plain.wav", "mp3/plain.mp3", "flac/plain.flac",
                                     "ogg/plain.opus", "mp4/itunes.m4a"])
@pytest.mark.parametrize("position", ["start", "end", "both"])
def test_audio_files_get_the_cue_in_their_own_format(tmp_path: Path, fixture: str,
                                                     position: str) -> None:
    import aiglabel
    from aiglabel.explicit.audio import add_rhythm_to_file

    src = MEDIA / fixture
    out = add_rhythm_to_file(src.read_bytes(), name=src.name, position=position)
    before, after = _stream_facts(src.read_bytes()), _stream_facts(out)
    assert after[:4] == before[:4]  # container, codec, rate, channels
    added = (2 if position == "both" else 1) * 0.86
    assert after[4] - before[4] == pytest.approx(added, abs=0.2)  # codec priming varies
    dst = tmp_path / src.name
    result = aiglabel.label(src, dst, record("audio"),
                            notice=aiglabel.TextNotice(position=position))
    assert result.notice is not None
    assert [lb.record for lb in aiglabel.read_labels(dst)] == [record("audio")]


def test_video_and_missing_encoders_are_refused(tmp_path: Path) -> None:
    import aiglabel
    from aiglabel.errors import CarrierUnsupportedError

    with pytest.raises(CarrierUnsupportedError, match="video"):
        aiglabel.label(MEDIA / "mp4" / "plain.mp4", tmp_path / "v.mp4", record("x"),
                       notice=aiglabel.TextNotice())
    assert not (tmp_path / "v.mp4").exists()


def test_the_verifier_hears_the_cue(tmp_path: Path) -> None:
    import aiglabel
    from aiglabel.verify import Verdict, VerifyOptions, verify

    src = MEDIA / "wav" / "plain.wav"
    assert verify(src).verdict is Verdict.NONE
    from aiglabel.explicit.audio import add_rhythm_to_file

    for position in ("start", "end"):
        cued = add_rhythm_to_file(src.read_bytes(), name=src.name, position=position)
        report = verify(cued, name="cued.wav")
        assert report.verdict is Verdict.SUSPECTED
        (evidence,) = report.evidence
        assert evidence.detector == "audio-rhythm"
        assert evidence.kind.value == "explicit-mark"
        assert evidence.carrier == f"audio:{position}"
        assert f"at the {position}" in evidence.detail
    dst = tmp_path / "both.mp3"
    aiglabel.label(MEDIA / "mp3" / "plain.mp3", dst, record("v"),
                   notice=aiglabel.TextNotice())
    assert verify(dst).verdict is Verdict.CONFIRMED
    small = VerifyOptions(max_decode_bytes=100)
    skipped = verify(cued, name="cued.wav", options=small)
    assert skipped.verdict is Verdict.NONE
    assert any("audio checks skipped" in w for w in skipped.warnings)
