"""The audio rhythm label (GB 5.3 c), rules §A.3): the generated cue's timing, and the detector
after MP3 re-encoding, resampling and 10 dB SNR noise, without firing on other sounds."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
import pytest
from tests.conftest import MEDIA, record
from tests.signals import RATE, mp3_round_trip, programme

from aiglabel.errors import InvalidLabelError
from aiglabel.explicit.audio import RHYTHM_UNITS, find_rhythm, rhythm_tone

if TYPE_CHECKING:
    from pathlib import Path



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


@pytest.mark.parametrize("codec", ["mp3", "aac", "opus"])
def test_found_after_lossy_coding_resampling_and_noise_at_10_db(codec: str) -> None:
    rng = np.random.default_rng(45438)
    tone = rhythm_tone(RATE)
    signal = np.concatenate([np.zeros(RATE // 2, np.float32), tone, np.zeros(RATE // 2,
                                                                               np.float32)])
    power = float(np.mean(tone[np.abs(tone) > 0] ** 2))
    noisy = signal + rng.normal(0, math.sqrt(power / 10), len(signal)).astype(np.float32)
    decoded = mp3_round_trip(noisy, RATE, out_rate=16000, codec=codec)
    match = find_rhythm(decoded, 16000)
    assert match is not None
    assert match.start == pytest.approx(0.6, abs=0.08)


def test_found_over_a_programme_at_10_db() -> None:
    talk = programme(4.0, 7)
    tone = rhythm_tone(RATE)
    mix = talk.copy()
    at = RATE
    gain = math.sqrt(10 * float(np.mean(talk ** 2)) / float(np.mean(tone[tone != 0] ** 2)))
    mix[at : at + len(tone)] += tone * gain  # the cue 10 dB above the programme's power
    assert find_rhythm(mp3_round_trip(mix, RATE), RATE) is not None


def test_no_false_positives_on_programmes_and_noise() -> None:
    """Measured: 40 synthetic programmes (speech-like syllables, chords, melody) and 10 noise
    signals, each 4 s, through MP3 -- the detector must not fire on any."""
    rng = np.random.default_rng(1)
    signals = [programme(4.0, seed) for seed in range(40)]
    signals += [rng.normal(0, 0.2, RATE * 4).astype(np.float32) for _ in range(10)]
    fired = [i for i, s in enumerate(signals) if find_rhythm(mp3_round_trip(s, RATE), RATE)]
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
    from aiglabel.errors import CarrierUnsupportedError
    from aiglabel.explicit.audio import add_audio_label

    with pytest.raises(CarrierUnsupportedError, match="gets the video label"):
        add_audio_label((MEDIA / "mp4" / "plain.mp4").read_bytes(), name="plain.mp4")
    # This PyAV build decodes Vorbis but has no libvorbis encoder.
    av = pytest.importorskip("av")
    if "libvorbis" not in av.codecs_available:
        with pytest.raises(CarrierUnsupportedError, match="no libvorbis encoder"):
            add_audio_label((MEDIA / "ogg" / "plain.ogg").read_bytes(), name="plain.ogg")


def _talk_with_pause(seconds: float, rate: int = RATE) -> np.ndarray:
    """Speech-like noise bursts with a 300 ms pause 0.7 s after the middle."""
    rng = np.random.default_rng(3)
    signal = rng.normal(0, 0.1, int(seconds * rate)).astype(np.float32)
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3 * np.arange(signal.size) / rate)
    signal *= envelope
    pause = int((seconds / 2 + 0.7) * rate)
    signal[pause : pause + int(0.3 * rate)] = 0
    return signal


def _wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def test_middle_cue_goes_into_a_pause_and_several_places_combine() -> None:
    from aiglabel.explicit.audio import add_audio_label

    programme = _talk_with_pause(8.0)
    out = add_audio_label(_wav(programme), name="p.wav", places=("start", "middle", "end"))
    import wave

    with wave.open(io.BytesIO(out)) as decoded:
        samples = np.frombuffer(decoded.readframes(decoded.getnframes()), "<i2") / 32768
    cue = 0.86  # seconds: 660 ms of rhythm and 100 ms of silence on each side
    assert samples.size / RATE == pytest.approx(8.0 + 3 * cue, abs=0.01)
    # The middle cue sits in the pause (4.7 s .. 5.0 s of the programme), after the first cue.
    middle = find_rhythm(samples[int((cue + 3.0) * RATE) : int((cue + 6.5) * RATE)], RATE)
    assert middle is not None
    assert cue + 3.0 + middle.start == pytest.approx(cue + 4.7 + 0.1, abs=0.2)
    assert find_rhythm(samples[: int(1.2 * RATE)], RATE) is not None
    assert find_rhythm(samples[-int(1.2 * RATE) :], RATE) is not None
    with pytest.raises(InvalidLabelError, match="must be among"):
        add_audio_label(_wav(programme), places=("after",))


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


def test_rhythm_settings_reach_the_file_and_are_bounded(tmp_path: Path) -> None:
    from tests.conftest import PRODUCER
    from typer.testing import CliRunner

    import aiglabel
    from aiglabel.cli.main import app
    from aiglabel.explicit.files import ExplicitLabel

    with pytest.raises(InvalidLabelError, match="rhythm unit 150"):
        ExplicitLabel(rhythm_unit_ms=150)
    src = MEDIA / "wav" / "plain.wav"
    result = CliRunner().invoke(app, ["label", "--explicit", "--rhythm-unit-ms", "90",
                                      "--rhythm-hz", "1500", "--rhythm-db", "-6",
                                      "--producer", PRODUCER, str(src), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    import wave

    with wave.open(str(tmp_path / "plain.wav")) as out:
        rate = out.getframerate()
        frames = np.frombuffer(out.readframes(out.getnframes()), "<i2")
        samples = frames.reshape(-1, out.getnchannels())[:, 0] / 32768
    match = find_rhythm(samples[: int(1.5 * rate)].astype(np.float32), rate)
    assert match is not None
    assert match.unit_ms == pytest.approx(90, abs=8)
    assert match.frequency == pytest.approx(1500, abs=60)
    assert float(np.max(np.abs(samples[: int(1.0 * rate)]))) == pytest.approx(0.5, abs=0.03)
    assert len(aiglabel.read_labels(tmp_path / "plain.wav")) == 1
    bad = CliRunner().invoke(app, ["label", "--explicit", "--rhythm-hz", "9000", str(src),
                                   "-o", str(tmp_path / "b")])
    assert bad.exit_code == 2
    assert "--rhythm-hz" in bad.output


@pytest.mark.parametrize("fixture", ["mp3/old-label.mp3", "flac/plain.flac", "mp4/itunes.m4a"])
def test_cover_art_is_kept(tmp_path: Path, fixture: str) -> None:
    """Cover pictures (attached_pic streams) travel through the re-encode unchanged."""
    import subprocess

    av = pytest.importorskip("av")
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    from PIL import Image

    from aiglabel.explicit.audio import add_audio_label

    Image.new("RGB", (32, 32), (200, 10, 10)).save(tmp_path / "cover.jpg")
    src = tmp_path / f"covered{(MEDIA / fixture).suffix}"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(MEDIA / fixture), "-i",
                    str(tmp_path / "cover.jpg"), "-map", "0:a", "-map", "1", "-c", "copy",
                    "-disposition:v", "attached_pic", str(src)], check=True)

    def covers(data: bytes) -> list[bytes]:
        with av.open(io.BytesIO(data)) as container:
            pics = [s for s in container.streams.video
                    if s.disposition & av.stream.Disposition.attached_pic]
            return [bytes(p) for p in container.demux(*pics) if p.size] if pics else []

    before = covers(src.read_bytes())
    assert len(before) == 1
    out = add_audio_label(src.read_bytes(), name=src.name)
    assert covers(out) == before
