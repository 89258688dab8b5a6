"""The explicit video label (GB 5.4, rules §A.4): burnt into the opening frames for >= 2 s at
>= 5 % of the shortest side, in the source's codec family, with audio copied packet for packet,
timestamps, rotation and other streams kept; checked with PyAV and the ffmpeg binary."""

from __future__ import annotations

import io
import subprocess
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from tests.conftest import PRODUCER, record

import aiglabel
from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, InvalidLabelError
from aiglabel.explicit.files import ExplicitLabel
from aiglabel.explicit.video import (
    VIDEO_MIN_TEXT_HEIGHT_RATIO,
    VideoLabel,
    add_video_label,
    check_video_label,
)

if TYPE_CHECKING:
    from pathlib import Path

av = pytest.importorskip("av")
RATE = 30


def make_clip(path: Path, *, codec: str = "libx264", fmt: str | None = None, width: int = 320,
              height: int = 240, frames: int = 90, rotation: int = 0, pix_fmt: str = "yuv420p",
              audio: str | None = "aac") -> Path:
    """A small clip: a moving gradient with noise (so the label has texture to sit on), an
    optional 440 Hz tone track, and a display rotation."""
    rng = np.random.default_rng(7)
    with av.open(str(path), "w", format=fmt) as container:
        video = container.add_stream(codec, rate=RATE)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        if codec == "libx265":
            video.options = {"x265-params": "log-level=error"}
        if rotation:
            video.set_display_rotation(rotation)
        sound = container.add_stream(audio, rate=48000) if audio else None
        for i in range(frames):
            picture = np.zeros((height, width, 3), np.uint8)
            picture[..., 0] = np.arange(width) * 255 // width
            picture[..., 1] = (i * 3) % 256
            picture[..., 2] = rng.integers(0, 64, (height, width), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            t = np.arange(48000 * frames // RATE) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
            frame.sample_rate = 48000
            ctx = sound.codec_context
            for piece in av.AudioResampler(format=ctx.format.name, layout=ctx.layout.name,
                                           rate=48000, frame_size=ctx.frame_size).resample(frame):
                for packet in sound.encode(piece):
                    container.mux(packet)
            for packet in sound.encode(None):
                container.mux(packet)
    return path


def _streams(path: Path) -> dict[str, Any]:
    """Per stream type: codec, packets' bytes (audio), frame pts, rotation, frame rate."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info: dict[str, Any] = {
            "video_codec": video.codec_context.name, "time_base": video.time_base,
            "rate": video.average_rate, "size": (video.width, video.height),
            "pix_fmt": video.codec_context.pix_fmt,
            "audio": [s.codec_context.name for s in container.streams.audio],
            "subtitles": len(container.streams.subtitles),
        }
        audio_packets = [bytes(p) for p in container.demux(audio=0) if p.size] if (
            container.streams.audio) else []
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
        info["pts"] = [f.pts for f in frames]
        info["rotation"] = frames[0].rotation
    info["audio_packets"] = audio_packets
    return info


def _label(src: Path, dst: Path, label: VideoLabel | None = None) -> Any:
    with dst.open("w+b") as out:
        return add_video_label(src, out, name=src.name, label=label)


CLIPS = {
    "h264-aac.mp4": {},
    "rotated.mov": {"rotation": 90},
    "vp9-opus.webm": {"codec": "libvpx-vp9", "fmt": "webm", "audio": "libopus"},
    "hevc-10bit.mkv": {"codec": "libx265", "pix_fmt": "yuv420p10le"},
    "mpeg4.avi": {"codec": "mpeg4", "audio": "libmp3lame"},
    "yuv444.mp4": {"pix_fmt": "yuv444p", "audio": None},
    "h264.flv": {"fmt": "flv"},
}


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_label_keeps_streams_timing_and_rotation(tmp_path: Path, name: str) -> None:
    src = make_clip(tmp_path / name, **CLIPS[name])
    dst = tmp_path / f"out-{name}"
    report = _label(src, dst)
    before, after = _streams(src), _streams(dst)
    for key in ("video_codec", "time_base", "rate", "size", "pix_fmt", "audio", "pts",
                "rotation"):
        assert after[key] == before[key], key
    # The sound track is copied packet for packet, never re-encoded.
    assert after["audio_packets"] == before["audio_packets"]
    assert report.frames == 90
    assert report.labelled_frames == 75  # pts in [0, 2.5 s) at 30 fps
    assert report.check.opening_seconds >= 2.0
    assert report.check.glyph_ratio >= VIDEO_MIN_TEXT_HEIGHT_RATIO
    assert report.warnings == ()


def _visible(path: Path, label: VideoLabel | None = None) -> list[bool]:
    """Per frame of a labelled file, whether the label shows (the self-check's test)."""
    from aiglabel.explicit._videoblend import label_visible, plan_frames

    flags = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            plan = plan_frames(frame.width, frame.height, frame.format,
                               int(frame.color_range or 0), int(frame.rotation or 0),
                               (label or VideoLabel()).image_label())
            flags.append(label_visible(frame, plan))
    return flags


def test_only_the_opening_frames_are_labelled_and_the_rest_is_near_identical(
        tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4", frames=120)
    dst = tmp_path / "b.mp4"
    _label(src, dst)
    flags = _visible(dst)
    assert flags == [True] * 75 + [False] * 45
    assert not any(_visible(src))
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    # Frames after the label: only CRF 18 re-encoding noise.
    late = [np.abs(x.to_ndarray(format="gray").astype(int) - y.to_ndarray(format="gray")).mean()
            for x, y in pairs[80:]]
    assert max(late) < 3.0


def test_middle_end_and_persistent_windows(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4", frames=240, audio=None)  # 8 s
    label = VideoLabel(seconds=2.0, at=("start", "middle", "end"))
    _label(src, tmp_path / "b.mp4", label)
    flags = _visible(tmp_path / "b.mp4")
    assert flags[:60] == [True] * 60
    assert not any(flags[60:90])
    assert flags[90:150] == [True] * 60  # the middle: 3 s .. 5 s
    assert not any(flags[150:180])
    assert all(flags[180:])  # the last 2 s
    _label(src, tmp_path / "c.mp4", VideoLabel(persistent=True))
    assert all(_visible(tmp_path / "c.mp4"))


def test_label_seconds_is_honoured_and_never_below_two(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4", frames=150, audio=None)
    report = _label(src, tmp_path / "b.mp4", VideoLabel(seconds=4.0))
    assert report.labelled_frames == 120
    assert report.check.opening_seconds == pytest.approx(4.0, abs=0.05)
    with pytest.raises(InvalidLabelError, match="below 2 s"):
        VideoLabel(seconds=1.9)
    with pytest.raises(InvalidLabelError, match="must include start"):
        VideoLabel(at=("end",))


def test_a_short_video_is_labelled_whole_with_a_warning(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4", frames=40)
    report = _label(src, tmp_path / "b.mp4")
    assert report.labelled_frames == 40
    assert report.check.opening_frames == 40
    assert any("1.33 s" in w for w in report.warnings)


def test_ffmpeg_sees_the_label_upright_at_the_bottom_right(tmp_path: Path) -> None:
    """The ffmpeg binary (imageio-ffmpeg) decodes with its own rotation handling: the changed
    pixels of the displayed frame lie in the bottom-right corner, at least 5 % tall."""
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    src = make_clip(tmp_path / "a.mov", rotation=90, audio=None)
    dst = tmp_path / "b.mov"
    _label(src, dst)

    def displayed(path: Path) -> np.ndarray:
        raw = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-frames:v", "1",
                              "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                             check=True, capture_output=True).stdout
        return np.frombuffer(raw, np.uint8).reshape(320, 240)  # shown turned: 240 x 320

    changed = np.abs(displayed(dst).astype(int) - displayed(src)) > 48
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    assert rows[0] > 320 * 0.8  # bottom-right as displayed
    assert cols[0] > 240 * 0.5
    assert rows[-1] - rows[0] + 1 >= VIDEO_MIN_TEXT_HEIGHT_RATIO * 240


def test_subtitles_are_carried_over(tmp_path: Path) -> None:
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    clip = make_clip(tmp_path / "a.mp4")
    (tmp_path / "s.srt").write_text("1\n00:00:00,000 --> 00:00:01,500\nhello\n", "utf-8")
    src = tmp_path / "subtitled.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(clip), "-i", str(tmp_path / "s.srt"),
                    "-c", "copy", "-c:s", "mov_text", str(src)], check=True)
    report = _label(src, tmp_path / "b.mp4")
    assert _streams(tmp_path / "b.mp4")["subtitles"] == 1
    assert "subtitle:mov_text" in report.copied_streams


def test_rgb_fallback_and_chroma_blend() -> None:
    """Frames in packed or semi-planar formats are converted for the labelled frames only;
    planar chroma is pulled to neutral under the plate."""
    from aiglabel.explicit._videoblend import blend, label_visible, plan_frames

    picture = np.full((120, 160, 3), (200, 40, 40), np.uint8)
    for fmt in ("nv12", "rgb24", "yuv420p"):
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format=fmt)
        plan = plan_frames(160, 120, frame.format, 0, 0, VideoLabel().image_label())
        assert bool(plan.planes) == (fmt == "yuv420p")
        assert not label_visible(frame, plan)
        out = blend(frame, plan)
        assert out.format.name == fmt
        assert label_visible(out, plan)
    x0, y0, x1, y1 = plan.box
    assert x0 % 2 == y0 % 2 == x1 % 2 == y1 % 2 == 0


def test_self_check_refuses_output_without_the_label(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_clip(tmp_path / "a.mp4", audio=None)
    monkeypatch.setattr("aiglabel.explicit._videoblend.blend", lambda frame, plan: frame)
    with pytest.raises(InvalidLabelError, match="self-check failed: the label shows for 0.00 s"):
        _label(src, tmp_path / "b.mp4")
    with pytest.raises(InvalidLabelError, match="self-check failed"):
        check_video_label(src)


def test_bad_inputs(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4", audio=None)
    truncated = tmp_path / "t.mp4"
    truncated.write_bytes(src.read_bytes()[:3000])
    with pytest.raises(CorruptFileError, match=r"t\.mp4"):
        _label(truncated, tmp_path / "out.mp4")
    sound = tmp_path / "s.m4a"
    with av.open(str(sound), "w", format="ipod") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 48000), np.float32), format="flt",
                                           layout="mono")
        frame.sample_rate = 48000
        ctx = stream.codec_context
        for piece in av.AudioResampler(format=ctx.format.name, layout="mono", rate=48000,
                                       frame_size=ctx.frame_size).resample(frame):
            for packet in stream.encode(piece):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(CarrierUnsupportedError, match="no video stream"):
        _label(sound, tmp_path / "out.m4a")


def test_label_api_burns_in_then_writes_the_implicit_label(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4")
    dst = tmp_path / "out" / "a.mp4"
    dst.parent.mkdir()
    result = aiglabel.label(src, dst, record(), notice=ExplicitLabel(position="start,end"))
    assert result.notice is not None
    assert result.notice.startswith("AI生成 for")
    labels = aiglabel.read_labels(dst)
    assert [x.record for x in labels] == [record()]
    assert all(_visible(dst)[:75])
    # Nothing but the output in the folder (the temporary video is gone).
    assert sorted(p.name for p in dst.parent.iterdir()) == ["a.mp4"]
    # In place: atomic, label replaced, still one implicit label.
    before = src.read_bytes()
    aiglabel.label(src, None, record(), in_place=True, notice=ExplicitLabel())
    assert src.read_bytes() != before
    assert len(aiglabel.read_labels(src)) == 1


def test_label_api_leaves_nothing_on_failure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    good = make_clip(tmp_path / "a.mp4", audio=None)
    bad.write_bytes(good.read_bytes()[:4000])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(aiglabel.AiglabelError):
        aiglabel.label(bad, out / "bad.mp4", record(), notice=ExplicitLabel())
    assert list(out.iterdir()) == []


def test_cli_explicit_video(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    (tmp_path / "in").mkdir()
    src = make_clip(tmp_path / "in" / "a.mp4", frames=40)
    result = CliRunner().invoke(app, ["label", "--explicit", "--producer", PRODUCER,
                                      "--label-seconds", "3",
                                      str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "labelled for its whole length" in result.output
    assert len(aiglabel.read_labels(tmp_path / "out" / "a.mp4")) == 1
    bad = CliRunner().invoke(app, ["label", "--explicit", "--label-seconds", "1.5", str(src),
                                   "-o", str(tmp_path / "o2")])
    assert bad.exit_code == 2
    assert "--label-seconds" in bad.output


def test_bytes_api_refuses_video() -> None:
    """The in-memory explicit path is for text, pictures and audio; video streams."""
    from aiglabel.explicit.files import add_explicit_label

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(CarrierUnsupportedError, match="burnt into the frames"):
        add_explicit_label(buffer.getvalue(), ExplicitLabel(), name="v.mp4")


def test_label_corner_for_video_and_pictures(tmp_path: Path) -> None:
    """--label-corner moves the label on video frames and pictures alike."""
    from tests.conftest import MEDIA
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    (tmp_path / "in").mkdir()
    clip = make_clip(tmp_path / "in" / "a.mp4", audio=None)
    picture = MEDIA / "png" / "plain.png"
    result = CliRunner().invoke(app, ["label", "--explicit", "--label-corner", "top-left",
                                      "--producer", PRODUCER, str(clip), str(picture), "-o",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    with av.open(str(tmp_path / "out" / "a.mp4")) as a, av.open(str(clip)) as b:
        changed = np.abs(next(a.decode(video=0)).to_ndarray(format="gray").astype(int)
                         - next(b.decode(video=0)).to_ndarray(format="gray")) > 48
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    assert rows[-1] < 240 * 0.3
    assert cols[-1] < 320 * 0.5
    from PIL import Image, ImageChops

    diff = ImageChops.difference(Image.open(picture).convert("RGB"),
                                 Image.open(tmp_path / "out" / "plain.png").convert("RGB"))
    box = diff.convert("L").point(lambda v: 255 if v > 48 else 0).getbbox()
    assert box is not None
    assert box[0] < diff.width * 0.2
    assert box[1] < diff.height * 0.2
    bad = CliRunner().invoke(app, ["label", "--explicit", "--label-corner", "middle",
                                   str(clip), "-o", str(tmp_path / "o2")])
    assert bad.exit_code == 2
    assert "--label-corner" in bad.output


def test_progress_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("aiglabel.explicit.video.PROGRESS_INTERVAL_S", 0.0)
    src = make_clip(tmp_path / "a.mp4", audio=None)
    seen: list[float] = []
    aiglabel.label(src, tmp_path / "b.mp4", record(), notice=ExplicitLabel(),
                   progress=seen.append)
    assert len(seen) >= 60
    assert seen == sorted(seen)
    assert 0.0 <= seen[0] < 0.1
    assert 0.9 < seen[-1] <= 1.0


def test_variable_frame_rate_holds_count(tmp_path: Path) -> None:
    """A frame shown for 2.6 s (a slideshow) carries the label for all that time."""
    from fractions import Fraction

    src = tmp_path / "vfr.mkv"
    with av.open(str(src), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.time_base = Fraction(1, 1000)
        for pts in (0, 2600, 2700, 2800):
            picture = np.full((240, 320, 3), pts // 20 % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    report = _label(src, tmp_path / "out.mkv")
    assert report.labelled_frames == 1
    assert report.check.opening_seconds == pytest.approx(2.6, abs=0.01)
