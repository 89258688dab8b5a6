"""Benchmark ``aiglabel label`` on a 1 GiB MP4 and MP3/FLAC batches against cp, ffmpeg, mutagen.

Usage::

    python benchmarks/bench_av.py [--mp4-mib 1024] [--count 200] [--reps 3] [--workdir DIR]
                                  [--quick] [--skip-mp4] [--skip-audio] [--json PATH]

An MP4 of ``--mp4-mib`` MiB in three layouts (moov last; moov first; moov first + 4 KiB
``free``) and ``--count`` MP3 and FLAC files each, generated once with PyAV and cached, are
labelled by the CLI and the library (copy and in place), next to ``cp``, ``ffmpeg -c copy
-metadata AIGC=...`` (MP4) and mutagen (audio). One untimed warm-up round, then ``--reps``
interleaved rounds: median seconds, ratio to cp, bytes written; the targets (copy mode <= 1.3x cp,
in place with padding < 1 MiB written) are printed, never asserted. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import imageio_ffmpeg  # type: ignore[import-untyped]
import mutagen.flac
import mutagen.id3
import numpy as np

import aiglabel
from aiglabel.verify import verify

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = REPO / "benchmarks" / ".data" / "av"
PRODUCER = "001191110102MACQD9K64010000"
KIB, MIB = 1 << 10, 1 << 20
DATA_VERSION = 1  # bump when generation changes, so cached inputs are rebuilt
FRAME_W, FRAME_H, NOISE_FRAMES = 1920, 1080, 8  # ~2.5 MB per intra frame at qscale 1
PAD_BYTES = 4 * KIB  # the free box after moov in the padded layout
RATE = 44100
COPY_TARGET = 1.3  # copy mode <= 1.3x cp
PATCH_TARGET = MIB  # in place with padding: < 1 MiB written
PRIME_EXTRA = 256 * MIB
LAYOUTS = {  # key: (title, PyAV muxer options; moov_size is set from the previous file's moov)
    "moov-last": ("MP4 moov last", {}),
    "moov-first": ("MP4 moov first, no padding", {"movflags": "faststart"}),
    "moov-first-free": ("MP4 moov first + 4 KiB free", {"moov_size": ""}),
}
AUDIO = {"mp3": "libmp3lame", "flac": "flac"}
FFMPEG: str = imageio_ffmpeg.get_ffmpeg_exe()


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Case:
    """One table: a single MP4 (``single``: the CLI gets the file) or a folder of audio files."""

    key: str
    title: str
    root: Path
    files: tuple[Path, ...]
    single: bool = False
    padded: bool = False  # the in-place target (< 1 MiB written) applies
    layout: str = ""

    @property
    def nbytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def top_boxes(path: Path) -> list[tuple[str, int]]:
    """The top-level ISO BMFF boxes of ``path`` as (type, size)."""
    boxes, size, pos = [], path.stat().st_size, 0
    with path.open("rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            n, kind = struct.unpack(">I4s", head[:8])
            n = struct.unpack(">Q", head[8:16])[0] if n == 1 else (size - pos if n == 0 else n)
            boxes.append((kind.decode("latin-1"), n))
            pos += n
    return boxes


def write_mp4(path: Path, nbytes: int, options: dict[str, str]) -> int:
    """Mux noise intra frames (cycled, rising pts) until ``nbytes`` of samples; return packets."""
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = FRAME_W, FRAME_H, "yuv420p"
        stream.gop_size, stream.codec_context.qscale = 1, True  # intra only, fixed quantiser
        rng = np.random.default_rng(7)
        frames: list[bytes] = []
        for i in range(NOISE_FRAMES):
            noise = rng.integers(0, 256, (FRAME_H, FRAME_W, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(noise, format="rgb24")
            frame.pts = i
            frames += [bytes(p) for p in stream.encode(frame)]
        frames += [bytes(p) for p in stream.encode(None)]
        count = total = 0
        while total < nbytes:
            packet = av.Packet(frames[count % len(frames)])
            packet.pts = packet.dts = count
            packet.time_base, packet.stream, packet.is_keyframe = Fraction(1, 25), stream, True
            out.mux(packet)
            total, count = total + packet.size, count + 1
    return count


def write_audio(path: Path, codec: str, seed: int) -> None:
    """2 to 5 s of a sine plus noise, stereo 16-bit, encoded by ``codec`` (PyAV/FFmpeg)."""
    rng = np.random.default_rng(seed)
    n = int(RATE * rng.uniform(2.0, 5.0))
    t = np.arange(n) / RATE
    x = 0.3 * np.sin(2 * np.pi * rng.uniform(110, 880) * t)[None, :] + rng.normal(0, 0.03, (2, n))
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=RATE, layout="stereo")
        assert isinstance(stream, av.AudioStream)
        if codec == "libmp3lame":
            stream.bit_rate = 128_000
        for i in range(0, n, 4096):
            chunk = np.ascontiguousarray(pcm[:, i : i + 4096].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            frame.sample_rate, frame.pts = RATE, i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def cached(data: Path, params: dict[str, Any],
           build: Callable[[dict[str, Any]], None]) -> tuple[dict[str, Any], float | None]:
    """Reuse ``data`` if its manifest matches ``params`` and every file its size, else call
    ``build(meta)`` (which records each file's size in ``meta["files"]``); return the manifest
    and the generation time (None: cached)."""
    manifest = data.with_suffix(".json")
    try:
        meta: dict[str, Any] = json.loads(manifest.read_text())
        if meta["params"] == params and all((data.parent / rel).stat().st_size == size
                                            for rel, size in meta["files"].items()):
            return meta, None
    except (OSError, ValueError, KeyError):
        pass  # no manifest, or a file missing: rebuild
    start = time.perf_counter()
    shutil.rmtree(data, ignore_errors=True)
    meta = {"params": params, "files": {}}
    build(meta)
    manifest.write_text(json.dumps(meta, indent=1))
    return meta, time.perf_counter() - start


def generate_mp4(workdir: Path, mib: int) -> tuple[list[Case], dict[str, int], float | None]:
    """Create (or reuse) the three MP4 layouts; return cases, packet counts, generation time."""
    data = workdir / f"mp4-{mib}m"

    def build(meta: dict[str, Any]) -> None:
        moov = 0
        for key, (_, options) in LAYOUTS.items():
            path = data / key / f"{key}.mp4"
            path.parent.mkdir(parents=True)
            if "moov_size" in options:  # reserve room for moov + PAD_BYTES of free box
                options = {"moov_size": str(moov + PAD_BYTES)}
            meta.setdefault("packets", {})[key] = write_mp4(path, mib * MIB, options)
            boxes = top_boxes(path)
            moov = dict(boxes)["moov"]
            meta.setdefault("layout", {})[key] = " ".join(f"{k}({s})" for k, s in boxes)
            meta["files"][str(path.relative_to(workdir))] = path.stat().st_size

    params = {"version": DATA_VERSION, "mib": mib, "frame": [FRAME_W, FRAME_H], "pad": PAD_BYTES}
    meta, seconds = cached(data, params, build)
    cases = []
    for key, (title, _) in LAYOUTS.items():
        path = data / key / f"{key}.mp4"
        if problems := [*check_stream(path, meta["packets"][key]), *check_labels([path], [])]:
            msg = f"generated {path} is unusable: {problems}"
            raise RuntimeError(msg)
        padded = key == "moov-first-free"
        cases.append(Case(key, title, path.parent, (path,), True, padded, meta["layout"][key]))
    return cases, meta["packets"], seconds


def generate_audio(workdir: Path, count: int) -> tuple[list[Case], float | None]:
    """Create (or reuse) ``count`` MP3 and ``count`` FLAC files, one folder per format."""
    data = workdir / f"audio-n{count}"

    def build(meta: dict[str, Any]) -> None:
        for fmt_index, (fmt, codec) in enumerate(AUDIO.items()):
            (data / fmt).mkdir(parents=True)
            for i in range(count):
                path = data / fmt / f"{fmt[0]}{i:05d}.{fmt}"
                write_audio(path, codec, 100_000 * fmt_index + i)
                meta["files"][str(path.relative_to(workdir))] = path.stat().st_size

    _, seconds = cached(data, {"version": DATA_VERSION, "count": count, "rate": RATE}, build)
    return [
        Case(fmt, f"{fmt.upper()} batch", data / fmt, tuple(sorted((data / fmt).iterdir())))
        for fmt in AUDIO
    ], seconds


# --------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Method:
    """One way of producing labelled (or, for cp, copied) files; :func:`run` does it."""

    key: str
    title: str
    kind: str  # "cp"; "copy" (copy-mode target); "inplace" (padding target); "other"
    in_place: bool = False  # gets a fresh copy of the input folder instead of an empty one
    only: str = ""  # "mp4" or "audio": the part it runs in (default both)


METHODS = (
    Method("cp", "cp (1 process)", "cp"),
    Method("cp+sync", "ref: cp + sync", "other"),
    Method("cli-copy", "aiglabel label -o", "copy"),
    Method("cli-inplace", "aiglabel label --in-place", "inplace", in_place=True),
    Method("lib-copy", "ref: aiglabel.label() copy", "copy"),
    Method("lib-inplace", "ref: aiglabel.label() in place", "inplace", in_place=True),
    Method("ffmpeg", "ffmpeg -c copy -metadata AIGC=", "other", only="mp4"),
    Method("mutagen-copy", "mutagen: copyfile + tag", "other", only="audio"),
    Method("mutagen-inplace", "mutagen: tag in place", "other", in_place=True, only="audio"),
)


def _call(argv: Sequence[str]) -> None:
    """Run a command, failing loudly (with its stderr) when it does not exit 0."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = f"{argv[0]} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)


def _inputs(case: Case, target: Path) -> list[Path]:
    """The case's files inside an in-place copy ``target`` of ``case.root``."""
    return [target / f.relative_to(case.root) for f in case.files]


def new_json() -> str:
    """A fresh label (new ProduceID), as every method writes one per file."""
    return aiglabel.to_json(aiglabel.AIGCRecord.for_producer(PRODUCER))


def library_loop(files: Sequence[Path], out: Path | None) -> tuple[int, int]:
    """``aiglabel.label`` per file, into ``out`` or in place; return (patched, bytes written)."""
    patched = written = 0
    for src in files:
        record = aiglabel.AIGCRecord.for_producer(PRODUCER)
        result = aiglabel.label(src, out and out / src.name, record, in_place=out is None)
        patched, written = patched + result.patched, written + result.bytes_written
    return patched, written


def mutagen_tag(path: Path) -> None:
    """Add the label the way a mutagen user would: ID3 TXXX:AIGC, or a Vorbis comment AIGC."""
    if path.suffix == ".flac":
        flac = mutagen.flac.FLAC(path)  # type: ignore[no-untyped-call]
        flac["AIGC"] = new_json()
        flac.save()
        return
    try:
        tags = mutagen.id3.ID3(path)  # type: ignore[no-untyped-call]
    except mutagen.id3.ID3NoHeaderError:
        tags = mutagen.id3.ID3()  # type: ignore[no-untyped-call]
    txxx = mutagen.id3.TXXX(encoding=3, desc="AIGC", text=[new_json()])  # type: ignore[no-untyped-call]
    tags.add(txxx)  # type: ignore[no-untyped-call]
    tags.save(path)


def run(method: Method, case: Case, target: Path, cli: list[str]) -> tuple[int, int] | None:
    """Do ``method`` on ``case`` into the empty folder ``target`` (in place: on the copy there);
    the library rows return (files patched, ``LabelResult.bytes_written`` sum)."""
    files = _inputs(case, target) if method.in_place else list(case.files)
    cli_arg = str(files[0]) if case.single else str(target if method.in_place else case.root)
    label = [*cli, "label", cli_arg, "--producer", PRODUCER, "-q"]
    if method.key in ("cp", "cp+sync"):
        _call(["cp", "--", *map(str, files), str(target)])
        if method.key == "cp+sync":
            os.sync()
    elif method.key == "cli-copy":
        _call([*label, "-o", str(target)])
    elif method.key == "cli-inplace":
        _call([*label, "--in-place"])
    elif method.key in ("lib-copy", "lib-inplace"):
        return library_loop(files, None if method.in_place else target)
    elif method.key == "ffmpeg":
        _call([FFMPEG, "-nostdin", "-v", "error", "-y", "-i", str(files[0]), "-c", "copy",
               "-metadata", f"AIGC={new_json()}", "-movflags", "use_metadata_tags",
               str(target / files[0].name)])
    else:  # mutagen-copy, mutagen-inplace
        for src in files:
            if not method.in_place:
                shutil.copyfile(src, target / src.name)
            mutagen_tag(src if method.in_place else target / src.name)
    return None


# --------------------------------------------------------------------------- verification


def check_labels(paths: Sequence[Path], expect: list[str] | None = None) -> list[str]:
    """Every file carries exactly the labels ``expect`` (default: one, by our producer)."""
    expect = [PRODUCER] if expect is None else expect
    problems = []
    for path in paths:
        try:
            found = [f.record and f.record.content_producer for f in aiglabel.read_labels(path)]
        except (OSError, aiglabel.AiglabelError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        if found != expect:
            problems.append(f"{path}: expected labels by {expect}, found {found}")
    return problems


def check_stream(path: Path, packets: int) -> list[str]:
    """PyAV opens ``path``, decodes its first frame and demuxes ``packets`` video packets."""
    try:
        with av.open(str(path)) as container:
            next(container.decode(video=0))
            container.seek(0)
            count = sum(1 for p in container.demux(video=0) if p.size)
    except (av.FFmpegError, StopIteration) as exc:
        return [f"{path}: PyAV: {exc!r}"]
    return [] if count == packets else [f"{path}: {count} packets, expected {packets}"]


def check(method: Method, case: Case, target: Path, packets: dict[str, int]) -> list[str]:
    """Outputs of the last timed run: sizes for cp, labels (and the stream for MP4) otherwise."""
    outputs = _inputs(case, target) if method.in_place else [target / f.name for f in case.files]
    if method.key.startswith("cp"):
        return [f"{o}: wrong size" for o, s in zip(outputs, case.files, strict=True)
                if not o.is_file() or o.stat().st_size != s.stat().st_size]
    problems = check_labels(outputs)
    if case.single:
        problems += check_stream(outputs[0], packets[case.key])
        verdict = verify(outputs[0]).verdict
        if verdict != "confirmed":
            problems.append(f"{outputs[0]}: verify() verdict {verdict}")
    return problems


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    """The timed runs of one method on one case."""

    method: Method
    case: Case
    runs: list[float] = field(default_factory=list)
    written: list[int] = field(default_factory=list)
    reported: tuple[int, int] | None = None  # last run's (patched, LabelResult bytes)
    problems: list[str] = field(default_factory=list)
    cp: float = 0.0  # the median of cp on the same case

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def ratio(self) -> float:
        return self.median / self.cp

    @property
    def median_written(self) -> int | None:
        return int(statistics.median(self.written)) if self.written else None


def written_now() -> int | None:
    """Bytes dirtied so far by this process and its reaped children (``/proc/self/io``)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return int(text.split("write_bytes:")[1].split()[0])


def prepare(method: Method, case: Case, scratch: Path) -> Path:
    """Untimed: drop earlier outputs, restore in-place inputs, prime memory, flush."""
    out, inplace = scratch / "out", scratch / "inplace"
    for folder in (out, inplace):
        shutil.rmtree(folder, ignore_errors=True)
    if method.in_place:
        _call(["cp", "-R", "--", str(case.root), str(inplace)])
    else:
        out.mkdir(parents=True)
    # On a VM that returns freed memory to the host, the first write to such pages is slow;
    # touching 1.5x the input first keeps that out of the timed run (see bench_label.py).
    np.ones(case.nbytes * 3 // 2 + PRIME_EXTRA, dtype=np.uint8)  # touched, then freed
    os.sync()
    return inplace if method.in_place else out


def benchmark(cli: list[str], cases: Sequence[Case], scratch: Path, reps: int,
              packets: dict[str, int]) -> list[Timing]:
    """One warm-up round, then ``reps`` timed rounds; verify the last round's outputs.

    ``cli``: the ``aiglabel`` command, empty to leave the CLI rows out."""
    plan = [(c, m) for c in cases for m in METHODS
            if m.only in ("", "mp4" if c.single else "audio") and (cli or m.key[:3] != "cli")]
    timings = {(c.key, m.key): Timing(m, c) for c, m in plan}
    for rnd in range(reps + 1):
        label = "warm-up" if rnd == 0 else f"run {rnd}/{reps}"
        for case, method in plan:
            print(f"  {label:>9}  {case.key:<16} {method.key:<16}", end="", flush=True)
            target = prepare(method, case, scratch)
            before = written_now()
            start = time.perf_counter()
            reported = run(method, case, target, cli)
            seconds = time.perf_counter() - start
            after = written_now()
            print(f" {seconds:8.3f} s", flush=True)
            if rnd == 0:
                continue
            timing = timings[(case.key, method.key)]
            timing.runs.append(seconds)
            if before is not None and after is not None:
                timing.written.append(after - before)
            timing.reported = reported
            if rnd == reps:
                timing.problems = check(method, case, target, packets)
    shutil.rmtree(scratch, ignore_errors=True)
    for t in timings.values():
        t.cp = timings[(t.case.key, "cp")].median
    return list(timings.values())


# --------------------------------------------------------------------------- report


def size(n: int | None) -> str:
    return "n/a" if n is None else f"{n / MIB:.1f} MiB" if n >= MIB else f"{n / KIB:.1f} KiB"


def target(t: Timing) -> tuple[str, bool | None]:
    """The issue's target for this row, and whether it is met (None: no target here)."""
    if t.method.kind == "copy":
        return f"<= {COPY_TARGET}x cp", t.ratio <= COPY_TARGET
    if t.method.kind == "inplace" and t.case.padded:
        written = t.median_written if t.written else t.reported and t.reported[1]
        return "writes < 1 MiB", None if written is None else written < PATCH_TARGET
    return "", None


def note(t: Timing) -> str:
    """What the library reported: how many files were patched and the bytes it says it wrote."""
    if t.reported is None:
        return ""
    patched, reported = t.reported
    mode = "full rewrite" if t.method.in_place else "copy"
    mode = f"patched {patched}/{len(t.case.files)}" if patched else mode
    return f"{mode}, label() says {size(reported)}"


def render(timings: Sequence[Timing], reps: int) -> str:
    """One plain-text table per case, then the ratios to cp side by side."""
    lines: list[str] = []
    cases: dict[str, list[Timing]] = {}
    for t in timings:
        cases.setdefault(t.case.key, []).append(t)
    for rows in cases.values():
        case = rows[0].case
        lines.append(f"{case.title}: {len(case.files)} file(s), {case.nbytes / 1e6:.1f} MB "
                     f"(median of {reps})" + f"\n  layout: {case.layout}" * bool(case.layout))
        lines.append(f"  {'method':<32} {'seconds':>8} {'x cp':>7} {'written':>11}  target")
        for t in rows:
            goal, met = target(t)
            verdict = "" if met is None else ("MET" if met else "NOT MET")
            extra = "; ".join(x for x in (f"{goal}: {verdict}" if goal else "", note(t)) if x)
            flag = "  VERIFY FAILED" if t.problems else ""
            lines.append(f"  {t.method.title:<32} {t.median:8.3f} {t.ratio:6.2f}x "
                         f"{size(t.median_written):>11}  {extra}{flag}")
        lines.append("")
    lines.append("x cp, side by side")
    lines.append(f"  {'method':<32}" + "".join(f" {k:>15}" for k in cases))
    for method in dict.fromkeys(t.method for t in timings):
        found = [next((t for t in rows if t.method is method), None) for rows in cases.values()]
        cells = "".join(f" {t.ratio:14.2f}x" if t else f" {'-':>15}" for t in found)
        lines.append(f"  {method.title:<32}{cells}")
    return "\n".join(lines)


def to_json_report(timings: Sequence[Timing], extra: dict[str, Any]) -> str:
    """The results as JSON: run parameters, environment and one object per table row."""
    rows = [{
        "case": t.case.key, "method": t.method.key, "title": t.method.title,
        "layout": t.case.layout, "files": len(t.case.files), "bytes": t.case.nbytes,
        "runs_s": t.runs, "median_s": t.median, "ratio_to_cp": t.ratio,
        "written_bytes": t.written, "median_written_bytes": t.median_written,
        "patched": t.reported and t.reported[0], "label_result_bytes": t.reported and t.reported[1],
        "target": target(t)[0] or None, "target_met": target(t)[1], "problems": t.problems,
    } for t in timings]
    return json.dumps({**extra, "results": rows}, indent=2)


# --------------------------------------------------------------------------- main


def find_cli() -> list[str]:
    """The ``aiglabel`` script beside this interpreter (not a pyenv shim), else on PATH."""
    beside = Path(sys.executable).parent / "aiglabel"
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which("aiglabel")
    return [found] if found else []


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--mp4-mib", type=int, default=1024, help="MP4 size (default 1024)")
    parser.add_argument("--count", type=int, default=200, help="files per audio format (200)")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (default 3)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"input cache and scratch space (default {DEFAULT_WORKDIR})")
    parser.add_argument("--quick", action="store_true", help="128 MiB MP4, 20 files per format")
    parser.add_argument("--skip-mp4", action="store_true", help="leave out the MP4 part")
    parser.add_argument("--skip-audio", action="store_true", help="leave out the MP3/FLAC part")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.mp4_mib, args.count = 128, 20
    if args.mp4_mib < 16 or args.count < 1 or args.reps < 1:
        parser.error("--mp4-mib must be >= 16, --count and --reps >= 1")
    return args


NOTES = """\
notes: x cp = median seconds / median cp seconds of the same input. written = bytes the
  method's processes dirtied in the page cache (write_bytes of /proc/self/io, children
  included; whole folios, so a 4-byte pwrite can count 64 KiB); 'label() says' = the sum of
  LabelResult.bytes_written. In place, aiglabel fsyncs (file and folder) unless it patches;
  cp, ffmpeg and mutagen never fsync, and mutagen rewrites in place without a temporary file.
  ffmpeg writes its default layout (moov last) whatever the input's."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wall = time.perf_counter()
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    packets: dict[str, int] = {}
    generation: dict[str, float | None] = {}
    if not args.skip_mp4:
        cases, packets, generation["mp4"] = generate_mp4(workdir, args.mp4_mib)
    if not args.skip_audio:
        audio_cases, generation["audio"] = generate_audio(workdir, args.count)
        cases += audio_cases
    print("; ".join(f"{k} inputs " + (f"generated in {v:.1f} s" if v else f"cached in {workdir}")
                    for k, v in generation.items()))
    need = 3 * max((c.nbytes for c in cases), default=0)
    if shutil.disk_usage(workdir).free < need:
        print(f"not enough disk: need {need / 1e9:.1f} GB free", file=sys.stderr)
        return 2

    package = Path(aiglabel.__file__).parent  # byte-compile as an install would (bench_label)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=False,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    cli = find_cli()
    if not cli:
        print("note: no `aiglabel` command found; CLI rows left out", file=sys.stderr)
    bench_start = time.perf_counter()
    timings = benchmark(cli, cases, workdir / "scratch", args.reps, packets)
    bench_seconds = time.perf_counter() - bench_start
    print(f"\n{render(timings, args.reps)}\n\n{NOTES}")
    problems = [p for t in timings for p in t.problems]
    print(f"verification: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    for p in problems[:20]:
        print(f"  {p}")
    print(f"time: benchmark {bench_seconds:.1f} s, total {time.perf_counter() - wall:.1f} s")
    if args.json:
        ffmpeg = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True,
                                check=False).stdout.split("\n")[0]
        env = {"python": platform.python_version(), "platform": platform.platform(),
               "cpus": os.cpu_count(), "aiglabel": aiglabel.__version__, "pyav": av.__version__,
               "mutagen": mutagen.version_string, "ffmpeg": ffmpeg, "aiglabel_cli": cli}
        extra = {"environment": env, "mp4_mib": args.mp4_mib, "count": args.count,
                 "reps": args.reps, "generation_s": generation, "benchmark_s": bench_seconds}
        args.json.write_text(to_json_report(timings, extra) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
