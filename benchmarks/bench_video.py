"""Benchmark the explicit video label (GB 5.4 burn-in) against ffmpeg's ``drawtext``.

Usage::

    python benchmarks/bench_video.py [--seconds 10] [--reps 3] [--sizes 1280x720,1920x1080]
                                     [--codecs h264] [--workdir DIR] [--json PATH] [--quick]

For each size and codec, a clip (``testsrc2`` pattern with motion plus a 440 Hz AAC/Opus track,
made once with the imageio-ffmpeg binary and cached) is labelled for its first 2.5 s by:

- ``ffmpeg drawtext``: the imageio-ffmpeg binary, ``drawtext`` with the bundled font, the same
  wording, size, plate and duration, ``enable='lt(t,2.5)'``, the same encoder and settings
  aiglabel uses (libx264 ``-crf 18 -preset medium``; libvpx-vp9 ``-crf 24 -b:v 0 -row-mt 1
  -cpu-used 4``),
  audio copied -- the reference of every ratio;
- ``ffmpeg, no label``: the same transcode without the filter (what the encoding alone costs);
- ``aiglabel add_video_label()``: the library call, in-process (includes its self-check);
- ``aiglabel label --explicit``: the CLI, a new process, also writing the implicit label.

One untimed warm-up round, then ``--reps`` interleaved rounds; the table shows the median
seconds and the ratio to ``ffmpeg drawtext`` in the same run (target <= 1.2x, printed, never
asserted), and, measured after the timing, each output's size and its luma PSNR against the
source over the frames after 3 s (no label there: the re-encoding's quality alone). Numbers
depend on the machine's cores: the encoders use all of them in both tools.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import imageio_ffmpeg  # type: ignore[import-untyped]

from aiglabel.explicit.image import bundled_font
from aiglabel.explicit.video import VideoLabel, add_video_label

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = REPO / "benchmarks" / ".data" / "video"
PRODUCER = "001191110102MACQD9K64010000"
TARGET = 1.2
CODECS = {  # name: (container extension, ffmpeg encoder arguments, source audio codec)
    "h264": (".mp4", ["-c:v", "libx264", "-crf", "18", "-preset", "medium"], "aac"),
    "vp9": (".webm", ["-c:v", "libvpx-vp9", "-crf", "24", "-b:v", "0", "-row-mt", "1",
                      "-cpu-used", "4"], "libopus"),
}


def make_clip(ffmpeg: str, path: Path, size: str, seconds: float, codec: str) -> None:
    """A clip with motion and detail (testsrc2) and a tone track, encoded at moderate quality."""
    if path.exists():
        return
    ext, _, audio = CODECS[codec]
    video = (["-c:v", "libx264", "-crf", "23", "-preset", "fast"] if codec == "h264"
             else ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1",
                   "-deadline", "realtime", "-cpu-used", "8"])
    tmp = path.with_suffix(".tmp" + ext)
    subprocess.run([ffmpeg, "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    *video, "-pix_fmt", "yuv420p", "-c:a", audio, "-b:a", "128k", str(tmp)],
                   check=True)
    tmp.rename(path)


def drawtext_filter(width: int, height: int) -> str:
    """``drawtext`` drawing what aiglabel draws: AI生成 in white with a black outline on a
    translucent black plate, ink about 6 % of the shortest side, 2 % margin, for 2.5 s."""
    short = min(width, height)
    size = round(0.06 * short / 0.86)  # the font's ink is about 0.86 of the em for AI生成
    margin, pad = round(0.02 * short), round(0.25 * 0.06 * short)
    font = bundled_font().replace(":", r"\:")
    return (f"drawtext=fontfile={font}:text='AI生成':fontsize={size}:fontcolor=white:"
            f"borderw={max(1, round(size / 18))}:bordercolor=black:box=1:boxcolor=black@0.59:"
            f"boxborderw={pad}:x=w-tw-{margin + pad}:y=h-th-{margin + pad}:"
            "enable='lt(t,2.5)'")


def quality(ffmpeg: str, output: Path, source: Path) -> float:
    """Average luma PSNR (dB) of ``output`` against ``source`` over the frames after 3 s."""
    run = subprocess.run([ffmpeg, "-v", "info", "-i", str(output), "-i", str(source),
                          "-lavfi", "[0:v]trim=start=3,setpts=PTS-STARTPTS[a];"
                          "[1:v]trim=start=3,setpts=PTS-STARTPTS[b];[a][b]psnr",
                          "-f", "null", "-"], capture_output=True, text=True, check=True)
    line = next(x for x in run.stderr.splitlines() if "PSNR y:" in x)
    return float(line.split("PSNR y:")[1].split()[0])


def run_methods(ffmpeg: str, src: Path, out_dir: Path, codec: str,
                size: tuple[int, int]) -> dict[str, Callable[[], None]]:
    ext, encoder, _ = CODECS[codec]
    common = [ffmpeg, "-v", "error", "-y", "-i", str(src)]

    def ffmpeg_drawtext() -> None:
        subprocess.run([*common, "-vf", drawtext_filter(*size), *encoder, "-c:a", "copy",
                        str(out_dir / f"ff-drawtext{ext}")], check=True)

    def ffmpeg_plain() -> None:
        subprocess.run([*common, *encoder, "-c:a", "copy", str(out_dir / f"ff-plain{ext}")],
                       check=True)

    def library() -> None:
        with (out_dir / f"lib{ext}").open("w+b") as out:
            add_video_label(src, out, label=VideoLabel())

    def cli() -> None:
        target = out_dir / "cli"
        shutil.rmtree(target, ignore_errors=True)
        command = shutil.which("aiglabel") or "aiglabel"
        subprocess.run([command, "label", "--explicit", "--quiet",
                        "--producer", PRODUCER, str(src), "-o", str(target)], check=True)

    return {"ffmpeg drawtext": ffmpeg_drawtext, "ffmpeg, no label": ffmpeg_plain,
            "aiglabel add_video_label()": library, "aiglabel label --explicit (CLI)": cli}


def outputs(out_dir: Path, src: Path, codec: str) -> dict[str, Path]:
    """Where each method leaves its file."""
    ext = CODECS[codec][0]
    return {"ffmpeg drawtext": out_dir / f"ff-drawtext{ext}",
            "ffmpeg, no label": out_dir / f"ff-plain{ext}",
            "aiglabel add_video_label()": out_dir / f"lib{ext}",
            "aiglabel label --explicit (CLI)": out_dir / "cli" / src.name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--codecs", default="h264")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="one 720p 4 s clip, 1 rep")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.reps, args.sizes = 4.0, 1, "1280x720"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
          f" ffmpeg {imageio_ffmpeg.get_ffmpeg_version()}; median of {args.reps}")
    results: list[dict[str, Any]] = []
    for codec in args.codecs.split(","):
        for size_text in args.sizes.split(","):
            width, height = (int(v) for v in size_text.split("x"))
            src = args.workdir / f"src-{codec}-{size_text}-{args.seconds:g}s{CODECS[codec][0]}"
            make_clip(ffmpeg, src, size_text, args.seconds, codec)
            out_dir = args.workdir / "out"
            out_dir.mkdir(exist_ok=True)
            methods = run_methods(ffmpeg, src, out_dir, codec, (width, height))
            times: dict[str, list[float]] = {name: [] for name in methods}
            for rep in range(args.reps + 1):
                for name, call in methods.items():
                    start = time.perf_counter()
                    call()
                    if rep:  # round 0 is the warm-up
                        times[name].append(time.perf_counter() - start)
            base = statistics.median(times["ffmpeg drawtext"])
            title = (f"{codec} {size_text}, {args.seconds:g} s at 30 fps "
                     f"({src.stat().st_size >> 10} KiB)")
            print(f"\n## {title}\n\n| method | median s | ratio to ffmpeg drawtext "
                  "| output KiB | PSNR-Y after 3 s |")
            print("|---|---|---|---|---|")
            files = outputs(out_dir, src, codec)
            for name, values in times.items():
                median = statistics.median(values)
                psnr = quality(ffmpeg, files[name], src)
                size_kib = files[name].stat().st_size >> 10
                print(f"| {name} | {median:.2f} | {median / base:.2f}x | {size_kib} "
                      f"| {psnr:.2f} dB |")
                results.append({"clip": title, "method": name, "seconds": values,
                                "median": median, "ratio": median / base,
                                "kib": size_kib, "psnr_y": psnr})
            lib = statistics.median(times["aiglabel add_video_label()"]) / base
            verdict = "MET" if lib <= TARGET else "NOT MET"
            print(f"\ntarget add_video_label() <= {TARGET}x ffmpeg drawtext: {verdict} "
                  f"({lib:.2f}x)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
