"""Benchmark ``aiglabel label`` against ``cp`` and ExifTool on a mixed JPEG/PNG corpus.

Usage::

    python benchmarks/bench_label.py [--count 200] [--workdir DIR] [--quick] [--json PATH]

The corpus (half JPEG, half PNG, 2 to 12 megapixels, smooth gradients plus noise) is generated
once and cached in the work folder. Every method then processes the same files in one run: one
untimed warm-up round, then ``--reps`` timed rounds (methods interleaved), reporting the median.
Before each run, output folders are emptied, in-place inputs restored from pristine copies,
free memory primed (see :func:`prime_memory`) and ``sync`` run; none of that is timed. Outputs
are verified after the last timed round.

The issue's targets (copy and atomic in-place mode <= 1.3x cp) are printed as ratios, never
asserted. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

import aiglabel

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = REPO / "benchmarks" / ".data"
PRODUCER = "001191110102MACQD9K64010000"
REPO_EXIFTOOL_CONFIG = REPO / "tests" / "exiftool" / "tc260.config"
EXIFTOOL_TAG = "XMP-TC260:AIGC"

# Corpus shape. Bump DATA_VERSION when anything here changes so cached corpora are rebuilt.
DATA_VERSION = 1
SIZES: tuple[tuple[int, int], ...] = (
    (1600, 1250),  # 2.0 MP
    (1920, 1440),  # 2.8 MP
    (2240, 1680),  # 3.8 MP
    (2560, 1920),  # 4.9 MP
    (2880, 2160),  # 6.2 MP
    (3200, 2400),  # 7.7 MP
    (3600, 2700),  # 9.7 MP
    (4000, 3000),  # 12.0 MP
)
NOISE = 6  # +-6 uniform per channel: PNG ~1.9 bytes/pixel, JPEG q92 ~0.17 bytes/pixel
JPEG_QUALITY = 92
PRIME_EXTRA = 256 * 1024 * 1024  # bytes touched before each run beyond 1.5x the inputs
PNG_COMPRESS_LEVEL = 1

EXIFTOOL_CONFIG_TEXT = """\
# ExifTool config written by benchmarks/bench_label.py: the TC260 XMP namespace
# (GB 45438-2025 image guide), so ExifTool can write XMP-TC260:AIGC.
%Image::ExifTool::UserDefined = (
    'Image::ExifTool::XMP::Main' => {
        TC260 => { SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::TC260' } },
    },
);
%Image::ExifTool::UserDefined::TC260 = (
    GROUPS    => { 0 => 'XMP', 1 => 'XMP-TC260', 2 => 'Image' },
    NAMESPACE => { 'TC260' => 'http://www.tc260.org.cn/ns/AIGC/1.0/' },
    WRITABLE  => 'string',
    AIGC => { Name => 'AIGC' },
);
1;
"""


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Group:
    """One format's files: all directly inside ``root`` (the folder given to the CLI)."""

    name: str
    root: Path
    files: tuple[Path, ...]

    @property
    def nbytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def _base_pixels(width: int, height: int, seed: int) -> np.ndarray:
    """Return an RGB image: a bicubic blow-up of a tiny random image plus uniform noise."""
    rng = np.random.default_rng(seed)
    tiny = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    smooth = np.asarray(tiny.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.integers(-NOISE, NOISE + 1, (height, width, 3), dtype=np.int16)
    pixels: np.ndarray = np.clip(smooth + noise, 0, 255).astype(np.uint8)
    return pixels


def _encode(pixels: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    image = Image.fromarray(pixels)
    if fmt == "jpeg":
        image.save(buf, "JPEG", quality=JPEG_QUALITY)
    else:
        image.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def _jpeg_with_exif(base: bytes, index: int) -> bytes:
    """Insert an EXIF APP1 segment (distinct per file) after SOI and any JFIF APP0."""
    exif = Image.Exif()
    exif[0x010E] = f"aiglabel benchmark image {index:05d}"  # ImageDescription
    exif[0x0131] = "benchmarks/bench_label.py"  # Software
    payload = exif.tobytes()  # starts with b"Exif\0\0"
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    at = 2
    if base[2:4] == b"\xff\xe0":
        at = 4 + struct.unpack(">H", base[4:6])[0]
    return base[:at] + segment + base[at:]


def _png_with_text(base: bytes, index: int) -> bytes:
    """Insert a tEXt chunk (distinct per file) right after IHDR."""
    body = b"tEXt" + b"Comment\0" + f"aiglabel benchmark image {index:05d}".encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    at = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return base[:at] + chunk + base[at:]


def _file_names(count: int) -> dict[str, list[str]]:
    n_jpeg = (count + 1) // 2
    return {
        "jpeg": [f"j{i:05d}.jpg" for i in range(n_jpeg)],
        "png": [f"p{i:05d}.png" for i in range(count - n_jpeg)],
    }


def _cached(data: Path, manifest: Path, count: int) -> bool:
    """Return whether ``data`` already holds this corpus, per its manifest."""
    try:
        meta = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    if meta.get("version") != DATA_VERSION or meta.get("count") != count:
        return False
    sizes: dict[str, int] = meta.get("files", {})
    for rel, size in sizes.items():
        path = data / rel
        if not path.is_file() or path.stat().st_size != size:
            return False
    return len(sizes) == count


def generate_corpus(workdir: Path, count: int) -> tuple[dict[str, Group], float | None]:
    """Create (or reuse) the corpus; return its groups and the generation time (None: cached).

    Groups: ``jpeg`` and ``png`` (one folder each) and ``all``, their parent folder.

    Eight base images per format, one per size; file ``i`` reuses base ``i % 8`` with its own
    EXIF (JPEG) or tEXt (PNG) bytes, so every file is distinct without re-encoding.
    """
    data = workdir / f"data-n{count}"
    manifest = workdir / f"data-n{count}.json"
    names = _file_names(count)
    seconds: float | None = None
    if not _cached(data, manifest, count):
        start = time.perf_counter()
        shutil.rmtree(data, ignore_errors=True)
        sizes: dict[str, int] = {}
        for fmt_index, (fmt, fmt_names) in enumerate(names.items()):
            (data / fmt).mkdir(parents=True)
            mark = _jpeg_with_exif if fmt == "jpeg" else _png_with_text
            for b, (width, height) in enumerate(SIZES):
                base = _encode(_base_pixels(width, height, 1000 * fmt_index + b), fmt)
                for i in range(b, len(fmt_names), len(SIZES)):
                    blob = mark(base, i)
                    (data / fmt / fmt_names[i]).write_bytes(blob)
                    sizes[f"{fmt}/{fmt_names[i]}"] = len(blob)
        manifest.write_text(json.dumps({"version": DATA_VERSION, "count": count, "files": sizes}))
        seconds = time.perf_counter() - start
    groups = {
        fmt: Group(fmt.upper(), data / fmt, tuple(data / fmt / n for n in fmt_names))
        for fmt, fmt_names in names.items()
        if fmt_names
    }
    if len(groups) > 1:
        every = tuple(f for g in groups.values() for f in g.files)
        groups["all"] = Group("ALL", data, every)
    return groups, seconds


def evenly_spaced(files: Sequence[Path], k: int) -> list[Path]:
    """Return ``k`` files spread evenly over ``files`` (so every base size is represented)."""
    if k >= len(files):
        return list(files)
    return [files[i * len(files) // k] for i in range(k)]


# --------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Tools:
    """External programs and shared inputs for the methods."""

    aiglabel_cli: list[str] | None
    exiftool: str | None
    exiftool_config: Path
    label_json: str
    per_file_sample: int


@dataclass(frozen=True)
class Method:
    """One way of producing labelled (or, for cp, copied) files.

    ``run(group, target)`` gets an empty output folder, or for in-place methods a fresh copy of
    ``group.root``. ``sample`` limits the run to a subset whose time is extrapolated by count.
    Slow methods (``mixed_batch=False``) skip the mixed ALL batch: their ALL row is the sum of
    their JPEG and PNG runs, which saves minutes and changes little (one more process start).
    """

    key: str
    title: str
    run: Callable[[Group, Path], None]
    check: Callable[[Group, Path], list[str]]
    in_place: bool = False
    sample: int | None = None
    reference: bool = False  # an extra row, not one of the compared methods
    mixed_batch: bool = True  # also run once over both formats; else its ALL row is a sum

    def files(self, group: Group) -> list[Path]:
        """The files one run processes."""
        if self.sample is None:
            return list(group.files)
        return evenly_spaced(group.files, self.sample)

    def scale(self, group: Group) -> float:
        """The factor from a run's time to the whole group's (1 unless sampled)."""
        return len(group.files) / len(self.files(group))


def _call(argv: Sequence[str]) -> None:
    """Run a command, failing loudly (with its stderr) when it does not exit 0."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = f"{argv[0]} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)


def _in_copy(group: Group, target: Path) -> list[Path]:
    """The paths of the group's files inside an in-place copy ``target`` of ``group.root``."""
    return [target / f.relative_to(group.root) for f in group.files]


def _exiftool_argv(tools: Tools, out: Path, files: Sequence[Path]) -> list[str]:
    """One ExifTool command writing XMP-TC260:AIGC into copies of ``files`` in ``out``."""
    assert tools.exiftool is not None
    return [
        tools.exiftool,
        "-config",
        str(tools.exiftool_config),
        f"-{EXIFTOOL_TAG}={tools.label_json}",
        "-o",
        f"{out}/",
        *map(str, files),
    ]


def build_methods(tools: Tools, per_file: bool) -> list[Method]:
    """Return the methods to time, in table order; those whose tool is missing are left out."""
    methods = [
        Method(
            "cp",
            "cp (1 process)",
            cp,
            lambda g, out: check_copies(g.files, out),
        ),
        Method(
            "cp+sync",
            "ref: cp + sync",
            cp_sync,
            lambda g, out: check_copies(g.files, out),
            reference=True,
        ),
    ]
    cli = tools.aiglabel_cli
    if cli is not None:
        methods += cli_methods(cli)
    methods += [
        Method(
            "lib-copy",
            "ref: aiglabel.label() loop, copy",
            lambda g, out: library_loop(g.files, out),
            lambda g, out: check_aiglabel([out / f.name for f in g.files]),
            reference=True,
        ),
        Method(
            "lib-inplace",
            "ref: aiglabel.label() loop, in place",
            lambda g, tgt: library_loop(_in_copy(g, tgt), None),
            lambda g, tgt: check_aiglabel(_in_copy(g, tgt)),
            in_place=True,
            reference=True,
        ),
    ]
    if tools.exiftool is not None:
        methods.append(
            Method(
                "exiftool-batch",
                "exiftool -o (1 process)",
                lambda g, out: _call(_exiftool_argv(tools, out, g.files)),
                lambda g, out: check_exiftool(tools, [out / f.name for f in g.files]),
                mixed_batch=False,
            )
        )
        if per_file:
            methods.append(
                Method(
                    "exiftool-per-file",
                    "exiftool per file",
                    functools.partial(exiftool_per_file, tools),
                    lambda g, out: check_exiftool(
                        tools, [out / f.name for f in evenly_spaced(g.files, tools.per_file_sample)]
                    ),
                    sample=tools.per_file_sample,
                    mixed_batch=False,
                )
            )
    return methods


def cli_methods(cli: list[str]) -> list[Method]:
    """The CLI rows: copy and in place, with the default ``--workers`` and with ``-j 1``."""
    from aiglabel.cli._parallel import default_workers

    rows = []
    for jobs, note in ((None, f"default -j {default_workers()}"), ("1", "-j 1")):
        extra = ["--workers", jobs] if jobs else []
        suffix = "" if jobs is None else "-j1"
        rows += [
            Method(
                f"aiglabel-copy{suffix}",
                f"aiglabel label -o ({note})",
                lambda g, out, extra=extra: _call(
                    [*cli, "label", str(g.root), "-o", str(out), "--producer", PRODUCER, *extra]
                ),
                lambda g, out: check_aiglabel([out / f.relative_to(g.root) for f in g.files]),
            ),
            Method(
                f"aiglabel-inplace{suffix}",
                f"aiglabel label --in-place ({note})",
                lambda g, tgt, extra=extra: _call(
                    [*cli, "label", str(tgt), "--in-place", "--producer", PRODUCER, *extra]
                ),
                lambda g, tgt: check_aiglabel(_in_copy(g, tgt)),
                in_place=True,
            ),
        ]
    return rows


def cp(group: Group, out: Path) -> None:
    """One ``cp`` process copies the whole batch into ``out``."""
    _call(["cp", "--", *map(str, group.files), str(out)])


def cp_sync(group: Group, out: Path) -> None:
    """``cp``, then flush the copies to disk (what durable writing costs, for reference)."""
    cp(group, out)
    os.sync()


def exiftool_per_file(tools: Tools, group: Group, out: Path) -> None:
    """One ExifTool process per file, over the evenly spaced sample."""
    for src in evenly_spaced(group.files, tools.per_file_sample):
        _call(_exiftool_argv(tools, out, [src]))


def library_loop(files: Sequence[Path], out: Path | None) -> None:
    """Label ``files`` with in-process ``aiglabel.label`` calls: into ``out``, or in place
    through one :class:`aiglabel._io.DurableBatch` (as ``aiglabel label --in-place`` does)."""
    from aiglabel._io import DurableBatch

    with DurableBatch() as batch:
        for src in files:
            record = aiglabel.AIGCRecord.for_producer(PRODUCER)
            if out is None:
                aiglabel.label(src, None, record, in_place=True, batch=batch)
            else:
                aiglabel.label(src, out / src.name, record)


# --------------------------------------------------------------------------- verification


def check_copies(sources: Sequence[Path], out: Path) -> list[str]:
    """Every source has a same-size copy in ``out``."""
    return [
        f"{out / s.name}: missing or wrong size"
        for s in sources
        if not (out / s.name).is_file() or (out / s.name).stat().st_size != s.stat().st_size
    ]


def check_aiglabel(paths: Sequence[Path]) -> list[str]:
    """Every file carries exactly one label, with our producer."""
    problems = []
    for path in paths:
        try:
            found = aiglabel.read_labels(path)
        except (OSError, aiglabel.AiglabelError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        producers = [f.record.content_producer if f.record else None for f in found]
        if producers != [PRODUCER]:
            problems.append(f"{path}: expected one label by {PRODUCER}, found {producers}")
    return problems


def check_exiftool(tools: Tools, paths: Sequence[Path], spot: int = 3) -> list[str]:
    """All outputs exist and aiglabel reads our label; ExifTool reads it back on a few."""
    missing = [f"{p}: missing" for p in paths if not p.is_file()]
    if missing:
        return missing
    problems = check_aiglabel(paths)
    assert tools.exiftool is not None
    sample = evenly_spaced(paths, spot)
    argv = [tools.exiftool, "-config", str(tools.exiftool_config), "-j", f"-{EXIFTOOL_TAG}"]
    proc = subprocess.run([*argv, *map(str, sample)], capture_output=True, text=True, check=False)
    try:
        rows = json.loads(proc.stdout)
    except ValueError:
        return [*problems, f"exiftool -j gave no JSON: {proc.stderr.strip()}"]
    problems += [
        f"{row.get('SourceFile')}: exiftool reads AIGC={row.get('AIGC')!r}"
        for row in rows
        if row.get("AIGC") != tools.label_json
    ]
    return problems


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    """Timed runs of one method on one group (seconds already scaled by extrapolation)."""

    method: Method
    group: str
    files: int
    nbytes: int
    sampled: int  # files actually processed per run (per-file exiftool samples a subset)
    runs: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summed: bool = False  # an ALL row added up from the JPEG and PNG runs

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def _reset(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def prime_memory(nbytes: int) -> None:
    """Touch and free ``nbytes`` of memory so the next run finds hot free pages.

    On a VM that hands freed guest memory back to the host (virtio-balloon free page
    reporting), the first write to such a page costs a host fault: on the 2-core benchmark VM,
    ``cp`` of 1.1 GB took 1.1 s after a 5 s pause but 0.27 s right after a delete. Without
    this, whichever method runs after a long pause (``cp``, first in each group) is penalised.
    """
    block = np.ones(nbytes, dtype=np.uint8)
    del block


def prepare(method: Method, group: Group, scratch: Path) -> Path:
    """Untimed set-up: drop earlier outputs, give a fresh target, prime memory, flush."""
    out, inplace = scratch / "out", scratch / "inplace"
    _reset(out)
    _reset(inplace)
    if method.in_place:
        _call(["cp", "-R", "--", str(group.root), str(inplace)])
        target = inplace
    else:
        out.mkdir(parents=True)
        target = out
    prime_memory(group.nbytes * 3 // 2 + PRIME_EXTRA)
    os.sync()
    return target


def time_once(method: Method, group: Group, scratch: Path) -> tuple[float, Path]:
    """Prepare, then time one run; return (scaled seconds, target folder)."""
    target = prepare(method, group, scratch)
    start = time.perf_counter()
    method.run(group, target)
    elapsed = time.perf_counter() - start
    return elapsed * method.scale(group), target


def benchmark(
    methods: Sequence[Method], groups: Sequence[Group], scratch: Path, reps: int
) -> list[Timing]:
    """One warm-up round, then ``reps`` timed rounds; verify outputs after the last one."""
    plan = [(g, m) for g in groups for m in methods if g.name != "ALL" or m.mixed_batch]
    timings = {
        (g.name, m.key): Timing(m, g.name, len(g.files), g.nbytes, len(m.files(g))) for g, m in plan
    }
    for rnd in range(reps + 1):
        label = "warm-up" if rnd == 0 else f"run {rnd}/{reps}"
        for group, method in plan:
            print(f"  {label:>9}  {group.name:<4}  {method.key:<18}", end="", flush=True)
            seconds, target = time_once(method, group, scratch)
            print(f" {seconds:9.3f} s", flush=True)
            if rnd == 0:
                continue
            timing = timings[(group.name, method.key)]
            timing.runs.append(seconds)
            if rnd == reps:
                timing.problems = method.check(group, target)
    _reset(scratch)
    return list(timings.values())


def complete(timings: Sequence[Timing], methods: Sequence[Method]) -> list[Timing]:
    """Order the timings by group, then method, adding ALL rows for methods not run on ALL.

    Such a row adds the method's JPEG and PNG runs pairwise (two batches, two process starts).
    """
    found = {(t.group, t.method.key): t for t in timings}
    mixed = any(t.group == "ALL" for t in timings)
    rows = []
    for group in ("JPEG", "PNG", "ALL"):
        for m in methods:
            if (group, m.key) in found:
                rows.append(found[(group, m.key)])
            elif group == "ALL" and mixed:
                rows.append(_summed([found[("JPEG", m.key)], found[("PNG", m.key)]]))
    return rows


def _summed(parts: Sequence[Timing]) -> Timing:
    """One method's JPEG and PNG timings added into an ALL timing."""
    total = Timing(
        parts[0].method,
        "ALL",
        sum(p.files for p in parts),
        sum(p.nbytes for p in parts),
        sum(p.sampled for p in parts),
        summed=True,
    )
    total.runs = [sum(runs) for runs in zip(*(p.runs for p in parts), strict=True)]
    total.problems = [x for p in parts for x in p.problems]
    return total


# --------------------------------------------------------------------------- report


def _title(t: Timing) -> str:
    title = t.method.title
    if t.method.sample is not None:
        if t.sampled == t.files:
            title += f" (all {t.files})"
        else:
            title += f" (est. from {t.sampled}/{t.files})"
    return title + (" [J+P]" if t.summed else "")


def render(timings: Sequence[Timing], reps: int) -> str:
    """The plain-text tables, one section per group, with the ratio to cp."""
    lines: list[str] = []
    groups: dict[str, list[Timing]] = {}
    for t in timings:
        groups.setdefault(t.group, []).append(t)
    header = f"  {'method':<42} {'seconds':>9} {'MB/s':>9} {'x cp':>8}"
    for name, rows in groups.items():
        first = rows[0]
        lines.append(f"{name}: {first.files} files, {first.nbytes / 1e6:.1f} MB (median of {reps})")
        lines.append(header)
        cp_median = next(t.median for t in rows if t.method.key == "cp")
        for t in rows:
            mbps = t.nbytes / 1e6 / t.median if t.median > 0 else float("inf")
            flag = "  VERIFY FAILED" if t.problems else ""
            lines.append(
                f"  {_title(t):<42} {t.median:9.3f} {mbps:9.1f} {t.median / cp_median:7.2f}x{flag}"
            )
        lines.append("")
    return "\n".join(lines)


def environment(tools: Tools) -> dict[str, Any]:
    """Versions and machine facts worth keeping next to the numbers."""
    exiftool_version = None
    if tools.exiftool:
        exiftool_version = subprocess.run(
            [tools.exiftool, "-ver"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "aiglabel": aiglabel.__version__,
        "aiglabel_cli": tools.aiglabel_cli,
        "exiftool": exiftool_version,
        "exiftool_config": str(tools.exiftool_config),
    }


def to_json_report(timings: Sequence[Timing], env: dict[str, Any], extra: dict[str, Any]) -> str:
    """The results as JSON: environment, run parameters, and one object per table row."""
    cp_median = {t.group: t.median for t in timings if t.method.key == "cp"}
    rows = [
        {
            "group": t.group,
            "method": t.method.key,
            "title": _title(t),
            "reference": t.method.reference,
            "files": t.files,
            "bytes": t.nbytes,
            "runs_s": t.runs,
            "median_s": t.median,
            "mb_per_s": t.nbytes / 1e6 / t.median if t.median > 0 else None,
            "ratio_to_cp": t.median / cp_median[t.group],
            "files_timed": t.sampled,
            "summed_jpeg_png": t.summed,
            "problems": t.problems,
        }
        for t in timings
    ]
    return json.dumps({"environment": env, **extra, "results": rows}, indent=2)


# --------------------------------------------------------------------------- main


def precompile() -> None:
    """Byte-compile the ``aiglabel`` package, as ``pip install .`` does.

    An editable install under ``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile every
    module on each CLI start (~30 ms here), which a real installation never pays.
    """
    package = Path(aiglabel.__file__).parent
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)],
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )


def find_cli() -> list[str] | None:
    """The ``aiglabel`` console script beside this interpreter (not a pyenv shim), if any."""
    beside = Path(sys.executable).parent / "aiglabel"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("aiglabel")
    return [found] if found else None


def exiftool_config(workdir: Path) -> Path:
    """The project's TC260 config if present, else an equivalent one written to ``workdir``."""
    if REPO_EXIFTOOL_CONFIG.is_file():
        return REPO_EXIFTOOL_CONFIG
    path = workdir / "tc260.config"
    path.write_text(EXIFTOOL_CONFIG_TEXT)
    return path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="files, half JPEG (default 200)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"corpus cache and scratch space (default {DEFAULT_WORKDIR})",
    )
    parser.add_argument("--quick", action="store_true", help="20 files instead of --count")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (default 3)")
    parser.add_argument(
        "--per-file-exiftool",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time one exiftool process per file (sampled)",
    )
    parser.add_argument(
        "--per-file-sample",
        type=int,
        default=10,
        help="files per format for the per-file exiftool row (default 10)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.count = 20
    if args.count < 2 or args.reps < 1 or args.per_file_sample < 1:
        parser.error("--count must be >= 2, --reps and --per-file-sample >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wall = time.perf_counter()
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    groups, gen_seconds = generate_corpus(workdir, args.count)
    corpus_bytes = sum(g.nbytes for g in groups.values())
    if gen_seconds is None:
        print(f"corpus: cached in {workdir} ({corpus_bytes / 1e6:.1f} MB)")
    else:
        print(f"corpus: generated in {gen_seconds:.1f} s ({corpus_bytes / 1e6:.1f} MB)")
    free = shutil.disk_usage(workdir).free
    if free < 3 * corpus_bytes:
        print(
            f"not enough disk: {free / 1e9:.1f} GB free, need {3 * corpus_bytes / 1e9:.1f} GB",
            file=sys.stderr,
        )
        return 2

    precompile()
    record = aiglabel.AIGCRecord.for_producer(PRODUCER)
    tools = Tools(
        aiglabel_cli=find_cli(),
        exiftool=shutil.which("exiftool"),
        exiftool_config=exiftool_config(workdir),
        label_json=aiglabel.to_json(record),
        per_file_sample=args.per_file_sample,
    )
    if tools.aiglabel_cli is None:
        print("note: no `aiglabel` command found; CLI rows left out", file=sys.stderr)
    if tools.exiftool is None:
        print("note: no `exiftool` found; ExifTool rows left out", file=sys.stderr)
    methods = build_methods(tools, args.per_file_exiftool)

    bench_start = time.perf_counter()
    timings = benchmark(methods, list(groups.values()), workdir / "scratch", args.reps)
    bench_seconds = time.perf_counter() - bench_start
    timings = complete(timings, methods)

    print()
    print(render(timings, args.reps))
    print("notes: x cp = median seconds / median cp seconds of the same files. 'ref:' rows are")
    print("  references: cp + sync flushes the copies to disk (in-place mode syncs per batch);")
    print("  the aiglabel.label() loops run in this process (no start-up, imports already done).")
    print("  Per-file exiftool times are extrapolated by file count from evenly spaced samples.")
    print("  ALL rows are one batch over both formats, except [J+P]: JPEG time + PNG time.")
    problems = [p for t in timings if not t.summed for p in t.problems]
    print(f"verification: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    for p in problems[:20]:
        print(f"  {p}")
    total = time.perf_counter() - wall
    print(f"time: benchmark {bench_seconds:.1f} s, total {total:.1f} s")

    if args.json:
        extra = {
            "count": args.count,
            "reps": args.reps,
            "corpus_bytes": corpus_bytes,
            "generation_s": gen_seconds,
            "benchmark_s": bench_seconds,
        }
        args.json.write_text(to_json_report(timings, environment(tools), extra) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
