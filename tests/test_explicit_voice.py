"""The audio voice prompt (GB 45438 §5.3): the bundled clip's size and speech rate (GB 5.3
Note 4, 120-160 characters per minute), user clips refused when too fast, too slow or broken,
and find_clip after MP3 re-encoding without firing on other sounds. All media made here."""

from __future__ import annotations

import io
import math
import os
from typing import TYPE_CHECKING

import numpy as np
import pytest
from tests.signals import RATE, mp3_round_trip, programme

from aiglabel.errors import CorruptFileError, InvalidLabelError
from aiglabel.explicit.voice import (
    DEFAULT_VOICE_TEXT,
    FIND_THRESHOLD,
    SPEECH_RATE_RANGE,
    VoicePrompt,
    bundled_voice_clip,
    find_clip,
    load_voice,
    speech_rate,
)

if TYPE_CHECKING:
    from pathlib import Path

av = pytest.importorskip("av")


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Mono float samples as 16-bit PCM WAV at ``rate`` Hz, written with PyAV."""
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.round(np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :], format="s16",
            layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return load_voice(None, RATE)


def test_the_bundled_clip_is_small_and_spoken_at_a_normal_rate(clip: np.ndarray) -> None:
    path = bundled_voice_clip()
    assert path.endswith("notice-zh.opus")
    assert 0 < os.path.getsize(path) < 60_000
    with av.open(path) as container:
        ctx = container.streams.audio[0].codec_context
        assert (container.format.name, ctx.name, ctx.channels) == ("ogg", "opus", 1)
    assert 4.0 < len(clip) / RATE < 5.5
    rate = speech_rate(clip, RATE, DEFAULT_VOICE_TEXT)
    assert SPEECH_RATE_RANGE[0] <= rate <= SPEECH_RATE_RANGE[1]
    assert rate == pytest.approx(140, abs=8)  # the script aims at the middle of the range
    assert float(np.max(np.abs(clip))) == pytest.approx(10 ** (-3 / 20), abs=0.05)
    pad = round(0.1 * RATE)
    assert float(np.max(np.abs(clip[:pad]))) < 0.01  # silence before and after
    assert float(np.max(np.abs(clip[-pad:]))) < 0.01


@pytest.mark.parametrize("rate", [44100, 16000])
def test_load_voice_resamples(rate: int, clip: np.ndarray) -> None:
    samples = load_voice(VoicePrompt(), rate)
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert len(samples) / rate == pytest.approx(len(clip) / RATE, abs=0.02)
    assert speech_rate(samples, rate, DEFAULT_VOICE_TEXT) == pytest.approx(
        speech_rate(clip, RATE, DEFAULT_VOICE_TEXT), rel=0.02)


def test_the_text_is_checked_and_counted() -> None:
    with pytest.raises(InvalidLabelError, match="generation element"):
        VoicePrompt(text="本内容由人工智能创作")
    one_second = np.concatenate([np.zeros(10), np.full(1000, 0.5), np.zeros(10)]).astype(
        np.float32)
    # punctuation and spaces are not spoken: 4 characters in 1000 samples at 1000 Hz
    assert speech_rate(one_second, 1000, "AI 生成。") == pytest.approx(240)
    with pytest.raises(InvalidLabelError, match="silent"):
        speech_rate(np.zeros(1000, np.float32), 1000, "AI生成")


@pytest.mark.parametrize(("speed", "expected"), [(1.6, 225), (0.7, 98)])
def test_a_clip_too_fast_or_too_slow_is_refused(tmp_path: Path, clip: np.ndarray,
                                                speed: float, expected: float) -> None:
    # Written at `speed` times the rate it was decoded at: played back `speed` times faster.
    decode_rate = 30000
    samples = load_voice(None, decode_rate)
    path = tmp_path / "user.wav"
    _write_wav(path, samples, round(decode_rate * speed))
    with pytest.raises(InvalidLabelError, match=r"at (\d+) characters per minute") as info:
        load_voice(VoicePrompt(clip_path=str(path)), RATE)
    measured = float(info.value.message.split(" at ")[1].split()[0])
    assert measured == pytest.approx(expected, rel=0.05)
    assert info.value.path == str(path)
    # The same clip at its own speed is accepted, with the text the user gives.
    _write_wav(path, samples, decode_rate)
    accepted = load_voice(VoicePrompt(clip_path=str(path), text="本内容由人工智能生成。"), RATE)
    assert len(accepted) == pytest.approx(len(clip), abs=RATE // 50)


def test_broken_long_and_silent_clips_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.opus"
    garbage.write_bytes(b"OggS" + bytes(range(256)) * 4)
    with pytest.raises(CorruptFileError) as info:
        load_voice(VoicePrompt(clip_path=str(garbage)), RATE)
    assert info.value.path == str(garbage)
    with pytest.raises(FileNotFoundError):
        load_voice(VoicePrompt(clip_path=str(tmp_path / "missing.wav")), RATE)
    silent = tmp_path / "silent.wav"
    _write_wav(silent, np.zeros(8000, np.float32), 8000)
    with pytest.raises(InvalidLabelError, match="silent"):
        load_voice(VoicePrompt(clip_path=str(silent)), RATE)
    long = tmp_path / "long.wav"
    _write_wav(long, np.full(8000 * 31, 0.1, np.float32), 8000)
    with pytest.raises(InvalidLabelError, match="longer than 30 s"):
        load_voice(VoicePrompt(clip_path=str(long)), RATE)


@pytest.mark.parametrize("background", ["noise", "music"])
def test_find_clip_after_mp3(clip: np.ndarray, background: str) -> None:
    rng = np.random.default_rng(5)
    bed = (rng.normal(0, 0.05, RATE * 6).astype(np.float32) if background == "noise"
           else programme(6.0, 3, noise=0.01))
    at = round(1.3 * RATE)
    spliced = np.concatenate([bed[:at], clip, bed[at:]])
    start = find_clip(mp3_round_trip(spliced, RATE), RATE, clip)
    assert start is not None
    assert start == pytest.approx(1.3, abs=0.02)
    # Where the clip was not put: a window starting at 3 s of the same signal.
    assert find_clip(spliced[3 * RATE :], RATE, clip) is None


def test_find_clip_ignores_signals_without_it(clip: np.ndarray) -> None:
    rng = np.random.default_rng(11)
    t = np.arange(RATE * 6) / RATE
    at = round(1.3 * RATE)
    bed = rng.normal(0, 0.05, RATE * 6).astype(np.float32)
    reversed_clip = np.concatenate([bed[:at], clip[::-1], bed[at:]])
    signals = {
        "noise": bed,
        "music": programme(6.0, 4, noise=0.01),
        "tone": (0.5 * np.sin(2 * math.pi * 1000 * t)).astype(np.float32),
        "beeps": (0.5 * np.sin(2 * math.pi * 600 * t) * (np.sin(2 * math.pi * 3 * t) > 0)
                  ).astype(np.float32),
        "silence": np.zeros(RATE * 6, np.float32),
        "reversed clip": reversed_clip,
    }
    found = {name: find_clip(mp3_round_trip(s, RATE), RATE, clip) for name, s in signals.items()}
    assert found == dict.fromkeys(signals)
    assert find_clip(clip[: RATE // 2], RATE, clip) is None  # shorter than the clip
    assert 0.5 < FIND_THRESHOLD < 0.95


@pytest.mark.parametrize("fixture", ["mp3/plain.mp3", "flac/plain.flac", "mp4/itunes.m4a"])
def test_voice_prompt_in_files_and_through_label(tmp_path: Path, clip: np.ndarray,
                                                 fixture: str) -> None:
    """The voice cue is spliced in at the start (default) or the end, re-encoded in the
    source's format, self-checked, then the implicit label is written."""
    from tests.conftest import MEDIA, record

    import aiglabel
    from aiglabel.explicit.audio import add_audio_label
    from aiglabel.explicit.files import ExplicitLabel

    src = MEDIA / fixture
    out = add_audio_label(src.read_bytes(), name=src.name, places=("end",), cue="voice")
    with av.open(io.BytesIO(out)) as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        samples = np.concatenate([f.to_ndarray()[0] for frame in container.decode(audio=0)
                                  for f in resampler.resample(frame)])
    voice = load_voice(None, rate)
    found = find_clip(samples, rate, voice)
    assert found is not None
    assert samples.size / rate - found == pytest.approx(voice.size / rate + 0.1, abs=0.15)
    dst = tmp_path / src.name
    result = aiglabel.label(src, dst, record("voice"), notice=ExplicitLabel(audio_cue="voice"))
    assert result.notice is not None
    assert [x.record for x in aiglabel.read_labels(dst)] == [record("voice")]


def test_cli_voice_and_user_clip(tmp_path: Path, clip: np.ndarray) -> None:
    from tests.conftest import MEDIA, PRODUCER
    from typer.testing import CliRunner

    import aiglabel
    from aiglabel.cli.main import app

    own = tmp_path / "own.wav"
    _write_wav(own, load_voice(None, 48000), 48000)
    src = MEDIA / "wav" / "plain.wav"
    runner = CliRunner()
    result = runner.invoke(app, ["label", "--explicit", "--voice-clip", str(own), "--producer",
                                 PRODUCER, "--notice-position", "start,end", str(src), "-o",
                                 str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert len(aiglabel.read_labels(tmp_path / "out" / "plain.wav")) == 1
    fast = tmp_path / "fast.wav"
    _write_wav(fast, load_voice(None, 48000)[::2], 48000)  # twice as fast
    result = runner.invoke(app, ["label", "--explicit", "--voice-clip", str(fast), "--producer",
                                 PRODUCER, str(src), "-o", str(tmp_path / "out2")])
    assert result.exit_code == 1
    assert "characters per minute" in result.output
    assert not (tmp_path / "out2" / "plain.wav").exists()
