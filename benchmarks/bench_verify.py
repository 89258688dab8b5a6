"""Benchmark ``aiglabel verify``: throughput on small mixed files, bytes read on 1 GiB files.

Usage::

    python benchmarks/bench_verify.py [--count 1000] [--reps 3] [--workdir DIR] [--quick]
                                      [--dense-gif-mib 1024] [--json PATH]

Part 1, throughput: a seeded corpus of small mixed images and texts, cached in the work folder,
is verified by an in-process ``verify()`` loop and by the CLI with 1 and with N workers (one
warm-up round, then ``--reps`` interleaved rounds, median); verdict counts must agree.
Part 2, bytes read: for every registered container a labelled ~1 GiB sparse file (images from
a Pillow encode, audio and video from ``fixtures/media``; and a 1 GiB text file) is verified;
``report.bytes_read`` must stay within 1 MiB + the label's JSON length.
Exit status 1 on a verdict mismatch or a failed row. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import io
import json
import os
import platform
import random
import re
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
from PIL import Image, PngImagePlugin

import aiglabel
from aiglabel.registry import default_registry
from aiglabel.verify import verify

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
    HAVE_HEIF = True
except ImportError:
    HAVE_HEIF = False

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = REPO / "benchmarks" / ".data" / "verify"
PRODUCER = "001191110102MACQD9K64010000"
TRACE = "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1"
NOTICE = "本内容由AI生成"
MIB, GIB = 1 << 20, 1 << 30
DATA_VERSION = 1
SEED = 20250901
EXT = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "tiff": "tif", "heic": "heic",
       "text": "txt", "markdown": "md", "html": "html"}
PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "tiff": "TIFF",
              "heic": "HEIF"}
WORDS = ("data model image label content platform verify metadata notice file pixel archive "
         "rule service record sample format chunk").split()

# --------------------------------------------------------------------------- corpus


def pixels(width: int, height: int, seed: int) -> Image.Image:
    """Smooth gradients (a bicubic blow-up of a tiny random image) plus a little noise."""
    rng = np.random.default_rng(seed)
    tiny = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
    smooth = np.asarray(tiny.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.integers(-4, 5, (height, width, 3), dtype=np.int16)
    return Image.fromarray(np.clip(smooth + noise, 0, 255).astype(np.uint8))


def encode(image: Image.Image, kind: str, trace: bool = False) -> bytes:
    """Encode with Pillow; ``trace`` adds A1111-style ``parameters`` (PNG tEXt, JPEG EXIF)."""
    buf, extra, info = io.BytesIO(), dict[str, Any](), PngImagePlugin.PngInfo()
    if trace and kind == "png":
        info.add_text("parameters", TRACE)
        extra["pnginfo"] = info
    elif trace and kind == "jpeg":
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + TRACE.encode("utf-16-be")  # UserComment
        extra["exif"] = exif.tobytes()
    if kind == "gif":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    image.save(buf, PIL_FORMAT[kind], **extra)
    return buf.getvalue()


def text_body(kind: str, rng: random.Random, notice: bool) -> bytes:
    paras = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 200))) + "."
             for _ in range(rng.randint(1, 12))]
    end = [NOTICE] if notice else []
    if kind == "html":
        body = "".join(f"<p>{p}</p>\n" for p in [*paras, *end])
        return f"<!DOCTYPE html>\n<html><body>\n{body}</body></html>\n".encode()
    head = ["# Notes\n"] if kind == "markdown" else []
    return "\n\n".join([*head, *paras, *end]).encode() + b"\n"


def make_file(i: int, kind: str) -> tuple[str, bytes]:
    """File ``i`` of the corpus: its role (labelled / trace / notice / plain) and bytes."""
    rng = random.Random(SEED * 7919 + i)
    roll = rng.random()
    if kind in ("text", "markdown", "html"):
        role = "notice" if roll < 1 / 3 else "plain"
        return role, text_body(kind, rng, role == "notice")
    role = "labelled" if roll < 1 / 3 else "plain"
    role = "trace" if 1 / 3 <= roll < 2 / 3 and kind in ("png", "jpeg") else role
    data = encode(pixels(rng.randint(32, 512), rng.randint(32, 512), i), kind, role == "trace")
    if role == "labelled":
        data = aiglabel.label_bytes(data, aiglabel.AIGCRecord.for_producer(PRODUCER, f"b{i:05d}"))
    return role, data


@dataclass(frozen=True)
class Corpus:
    root: Path
    files: tuple[Path, ...]
    roles: dict[str, int]
    kinds: dict[str, int]
    nbytes: int


def generate_corpus(workdir: Path, count: int) -> tuple[Corpus, float | None]:
    """Create (or reuse, per the manifest) the corpus; return it and the generation seconds."""
    all_kinds = [*(k for k in PIL_FORMAT if k != "heic" or HAVE_HEIF), "text", "markdown", "html"]
    root, manifest = workdir / f"corpus-n{count}", workdir / f"corpus-n{count}.json"
    try:
        meta = json.loads(manifest.read_text())
        ok = meta["version"] == DATA_VERSION and meta["kinds"] == all_kinds and all(
            (root / n).is_file() and (root / n).stat().st_size == size
            for n, size in meta["files"].items())
    except (OSError, ValueError, KeyError):
        ok = False
    seconds: float | None = None
    if not ok:
        start = time.perf_counter()
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        meta = {"version": DATA_VERSION, "kinds": all_kinds, "files": {}, "roles": {}}
        for i in range(count):
            kind = all_kinds[i % len(all_kinds)]
            role, data = make_file(i, kind)
            name = f"f{i:05d}-{role}.{EXT[kind]}"
            (root / name).write_bytes(data)
            meta["files"][name], meta["roles"][name] = len(data), f"{kind}/{role}"
        manifest.write_text(json.dumps(meta))
        seconds = time.perf_counter() - start
    names, tags = sorted(meta["files"]), [r.split("/") for r in meta["roles"].values()]
    return Corpus(root, tuple(root / n for n in names),
                  dict(collections.Counter(t[1] for t in tags)),
                  dict(collections.Counter(t[0] for t in tags)),
                  sum(meta["files"].values())), seconds


# --------------------------------------------------------------------------- part 1: throughput


@dataclass
class Method:
    key: str
    title: str
    workers: int
    run: Callable[[Method], collections.Counter[str]]
    runs: list[float] = field(default_factory=list)
    counts: list[dict[str, int]] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # a few error messages

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def tally(method: Method, reports: Iterable[dict[str, Any]]) -> collections.Counter[str]:
    """Count verdicts (``error`` for a report with errors), keeping a few error messages."""
    counts: collections.Counter[str] = collections.Counter()
    for report in reports:
        counts["error" if report["errors"] else report["verdict"]] += 1
        if report["errors"] and len(method.samples) < 3:
            method.samples.append(report["errors"][0])
    return counts


def cli_run(cli: list[str], corpus: Corpus, method: Method) -> collections.Counter[str]:
    argv = [*cli, "verify", str(corpus.root), "--ndjson", "-q", "--workers", str(method.workers)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):  # 1: some file could not be verified (counted as error)
        msg = f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)
    return tally(method, map(json.loads, proc.stdout.splitlines()))


def throughput(corpus: Corpus, cli: list[str] | None, reps: int, ncpu: int) -> list[Method]:
    methods = [Method("library", "verify() loop, in process", 1,
                      lambda m: tally(m, (verify(p).to_dict() for p in corpus.files)))]
    if cli is not None:
        run = functools.partial(cli_run, cli, corpus)
        methods += [Method(f"cli-w{w}", f"aiglabel verify --workers {w}", w, run)
                    for w in sorted({1, ncpu})]
    for rnd in range(reps + 1):
        label = "warm-up" if rnd == 0 else f"run {rnd}/{reps}"
        for m in methods:
            print(f"  {label:>9}  {m.key:<10}", end="", flush=True)
            start = time.perf_counter()
            counts = m.run(m)
            seconds = time.perf_counter() - start
            print(f" {seconds:8.3f} s", flush=True)
            if rnd:
                m.runs.append(seconds)
                m.counts.append(dict(sorted(counts.items())))
    return methods


def consistent(methods: Sequence[Method]) -> bool:
    return len({json.dumps(c) for m in methods for c in m.counts}) <= 1


def render_throughput(corpus: Corpus, methods: Sequence[Method], reps: int) -> str:
    n = len(corpus.files)
    lines = [f"THROUGHPUT: {n} files, {corpus.nbytes / 1e6:.1f} MB (median of {reps})",
             "  mix: " + ", ".join(f"{k} {v}" for k, v in sorted(corpus.kinds.items())),
             "  roles: " + ", ".join(f"{k} {v}" for k, v in sorted(corpus.roles.items())),
             f"  {'method':<34} {'workers':>7} {'seconds':>8} {'files/s':>9} {'files/s/core':>12}"]
    for m in methods:
        rate = n / m.median
        lines.append(f"  {m.title:<34} {m.workers:>7} {m.median:8.3f} {rate:9.1f} "
                     f"{rate / m.workers:12.1f}")
    counts = methods[0].counts[-1] if methods and methods[0].counts else {}
    status = "OK (identical across methods and runs)" if consistent(methods) else "MISMATCH"
    lines.append("  verdicts: " + ", ".join(f"{k} {v}" for k, v in counts.items())
                 + f" -- {status}")
    if not consistent(methods):
        lines += [f"    {m.key}: {c}" for m in methods for c in m.counts]
    samples = [s for m in methods for s in m.samples]
    lines += [f"  error: {s}" for s in dict.fromkeys(samples)][:5]
    return "\n".join(lines)


# --------------------------------------------------------------------------- part 2: bytes read


@dataclass
class BigRow:
    name: str
    note: str
    size: int = 0
    on_disk: int = 0
    bytes_read: int = 0
    budget: int = 0
    verdict: str = ""
    expected: str = ""
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    result: str = "UNTESTED"


def sparse(path: Path, *parts: bytes | int) -> Path:
    """Write the ``bytes`` parts and leave each ``int`` part as that many unwritten zero bytes."""
    with open(path, "wb") as f:
        for part in parts:
            if isinstance(part, int):
                f.seek(part, os.SEEK_CUR)
            else:
                f.write(part)
        f.truncate()  # at the current position: a trailing hole extends the file
    return path


def big_png(path: Path, small: bytes, hole: int) -> None:
    pos, after_idat = 8, 0
    while pos < len(small):  # end of the last IDAT chunk: the zlib stream stays valid
        length, ctype = struct.unpack(">I4s", small[pos : pos + 8])
        pos += 12 + length
        after_idat = pos if ctype == b"IDAT" else after_idat
    crc, zeros = zlib.crc32(b"IDAT"), bytes(16 * MIB)
    for start in range(0, hole, len(zeros)):
        crc = zlib.crc32(zeros[: hole - start], crc)
    head = small[:after_idat] + struct.pack(">I", hole) + b"IDAT"
    sparse(path, head, hole, struct.pack(">I", crc) + small[after_idat:])


def big_webp(path: Path, small: bytes, hole: int) -> None:
    vp8x, body = small[12:30], small[30:]
    if not vp8x.startswith(b"VP8X"):
        msg = "labelled WebP has no VP8X chunk"
        raise ValueError(msg)
    filler = b"JUNK" + struct.pack("<I", hole)
    size = 4 + len(vp8x) + len(filler) + hole + len(body)
    sparse(path, b"RIFF" + struct.pack("<I", size) + b"WEBP" + vp8x + filler, hole, body)


def big_tiff(path: Path, small: bytes, hole: int) -> None:
    """Grow the single uncompressed strip by ~``hole`` bytes of rows, fixing sizes and offsets."""
    if small[:4] != b"II*\0":
        msg = "not a little-endian classic TIFF"
        raise ValueError(msg)
    data, ifd = bytearray(small), struct.unpack_from("<I", small, 4)[0]
    entries = {}  # tag -> (entry offset, type, count, value or offset)
    for at in range(ifd + 2, ifd + 2 + 12 * struct.unpack_from("<H", data, ifd)[0], 12):
        tag, *rest = struct.unpack_from("<HHII", data, at)
        entries[tag] = (at, *rest)
    if any(t in entries for t in (324, 330, 34665, 34853)) or entries[273][2] != 1 or any(
            entries[t][1] != 4 for t in (257, 273, 278, 279)):
        msg = "a layout the builder does not handle (sub-IFDs, tiles, strips, SHORT sizes)"
        raise ValueError(msg)
    strip_end = entries[273][3] + entries[279][3]
    rowbytes = entries[279][3] // entries[257][3]
    grow = hole // rowbytes * rowbytes
    if ifd >= strip_end:
        struct.pack_into("<I", data, 4, ifd + grow)
    width = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
    for at, typ, count, value in entries.values():
        if width.get(typ, 1) * count > 4 and value >= strip_end:  # an offset past the strip
            struct.pack_into("<I", data, at + 8, value + grow)
    rows = entries[257][3] + grow // rowbytes
    for tag, value in ((257, rows), (278, rows), (279, entries[279][3] + grow)):
        struct.pack_into("<I", data, entries[tag][0] + 8, value)
    sparse(path, bytes(data[:strip_end]), grow, bytes(data[strip_end:]))


def grow_riff(path: Path, small: bytes, hole: int, target: bytes, junk: bool) -> None:
    """Grow the top-level chunk ``target`` (an id or a LIST type) by ``hole`` bytes at its end
    (inside a ``JUNK`` chunk when ``junk``), fixing its size and the RIFF size."""
    pos, grow = 12, hole + 8 * junk
    while pos + 12 <= len(small):
        cid, size = struct.unpack_from("<4sI", small, pos)
        if (small[pos + 8 : pos + 12] if cid == b"LIST" else cid) == target:
            end, data = pos + 8 + size, bytearray(small[: pos + 8 + size])
            struct.pack_into("<I", data, 4, len(small) - 8 + grow)
            struct.pack_into("<I", data, pos + 4, size + grow)
            sparse(path, bytes(data) + (b"JUNK" + struct.pack("<I", hole)) * junk, hole,
                   small[end:])
            return
        pos += 8 + size + (size & 1)
    msg = f"no top-level {target.decode()} chunk"
    raise ValueError(msg)


def big_mp4(path: Path, small: bytes, hole: int) -> None:
    """Grow ``mdat`` at its end: the sample offsets stay valid wherever ``moov`` is."""
    pos = 0
    while pos + 8 <= len(small):
        size, kind = struct.unpack_from(">I4s", small, pos)
        if kind == b"mdat" and 8 <= size < (1 << 32) - hole:
            data = bytearray(small[: pos + size])
            struct.pack_into(">I", data, pos, size + hole)
            sparse(path, bytes(data), hole, small[pos + size :])
            return
        if size < 8:
            break
        pos += size
    msg = "no mdat box with a 32-bit size"
    raise ValueError(msg)


def big_flv(path: Path, small: bytes, hole: int, body: int = 8 * MIB) -> None:
    """Append ``hole // body`` audio tags: the flags byte of the fixture's first audio tag, then
    zeros; the timestamp of its last tag."""
    pos = int.from_bytes(small[5:9], "big") + 4
    while small[pos] != 8:
        pos += 15 + int.from_bytes(small[pos + 1 : pos + 4], "big")
    last = len(small) - 4 - int.from_bytes(small[-4:], "big")
    head = (b"\x08" + body.to_bytes(3, "big") + small[last + 4 : last + 8] + bytes(3)
            + small[pos + 11 : pos + 12])
    prev = struct.pack(">I", 11 + body)
    sparse(path, small, *[p for _ in range(hole // body) for p in (head, body - 1, prev)])


def big_ogg(path: Path, small: bytes, hole: int) -> None:
    pos = 0  # header pages have granule position 0; the hole goes before the first audio page
    while small[pos : pos + 4] == b"OggS" and not any(small[pos + 6 : pos + 14]):
        pos += 27 + small[pos + 26] + sum(small[pos + 27 : pos + 27 + small[pos + 26]])
    sparse(path, small[:pos], hole, small[pos:])


def ebml(data: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Elements in ``data[pos:end]``: (id, start, payload start, end); known sizes only."""
    while pos < end:
        id_len = 9 - data[pos].bit_length()
        at = pos + id_len
        size_len = 9 - data[at].bit_length()
        size = int.from_bytes(data[at : at + size_len], "big") & ((1 << 7 * size_len) - 1)
        yield int.from_bytes(data[pos:at], "big"), pos, at + size_len, at + size_len + size
        pos = at + size_len + size


def element(eid: int, payload: bytes, width: int = 0) -> bytes:
    width = width or next(w for w in range(1, 9) if len(payload) < (1 << 7 * w) - 1)
    return (eid.to_bytes((eid.bit_length() + 7) // 8, "big")
            + ((1 << 7 * width) | len(payload)).to_bytes(width, "big") + payload)


def big_mkv(path: Path, small: bytes, hole: int) -> None:
    """A 1 GiB Void before the Tags at the end; the SeekHead is rewritten (its Tags entry moves,
    CRC-32 recomputed) in the room of the Void after it; the Segment size grows."""
    (_, _, _, seg_at), (_, _, seg_data, seg_end) = list(ebml(small, 0, len(small)))[:2]
    seg = small[seg_data:seg_end]
    kids = list(ebml(seg, 0, len(seg)))
    tags = next(k for k in kids if k[0] == 0x1254C367)[1]
    head = next(i for i, k in enumerate(kids) if k[0] == 0x114D9B74)
    room = next((k[1] for k in kids[head + 1 :] if k[0] != 0xEC), len(seg)) - kids[head][1]
    void, seeks, crc = b"\xec" + (hole | 1 << 56).to_bytes(8, "big"), b"", False
    for cid, _, a, b in ebml(seg, kids[head][2], kids[head][3]):
        crc |= cid == 0xBF
        if cid == 0x4DBB:
            fields = {f[0]: seg[f[2] : f[3]] for f in ebml(seg, a, b)}
            at = int.from_bytes(fields[0x53AC], "big")
            at += (len(void) + hole) * (at >= tags)
            seeks += element(0x4DBB, element(0x53AB, fields[0x53AB])
                             + element(0x53AC, at.to_bytes(8, "big")))
    if crc:
        seeks = b"\xbf\x84" + struct.pack("<I", zlib.crc32(seeks)) + seeks
    seekhead = element(0x114D9B74, seeks)
    pad = room - len(seekhead)
    if pad == 1 or pad < 0:
        msg = "no room to rewrite the SeekHead"
        raise ValueError(msg)
    if pad:
        seekhead += element(0xEC, bytes(pad - 2 - 7 * (pad > 128)), 8 if pad > 128 else 1)
    start = kids[head][1]
    new, tail = seg[:start] + seekhead + seg[start + room : tags] + void, seg[tags:]
    size = (len(new) + hole + len(tail)) | 1 << 56
    sparse(path, small[: seg_at + 4] + size.to_bytes(8, "big") + new, hole, tail + small[seg_end:])


def dense_gif(path: Path, small: bytes, nbytes: int) -> None:
    """A real (not sparse) GIF: one more frame with ``nbytes`` of 255-byte LZW sub-blocks."""
    chunk = (b"\xff" + bytes(255)) * 4096
    with open(path, "wb") as f:  # small ends with the trailer; the frame goes before it
        f.write(small[:-1] + b"\x2c" + struct.pack("<4H", 0, 0, 32768, 32768) + b"\x00\x08")
        for _ in range(max(1, nbytes // len(chunk))):
            f.write(chunk)
        f.write(b"\x00\x3b")


def big_pdf(path: Path, small: bytes, hole: int) -> None:
    """An incremental update after the labelled PDF adding one object whose stream is a
    1 GiB hole; its trailer keeps /Root and /Info and chains to the previous xref (/Prev)."""
    trailer = small[small.rindex(b"trailer") : small.rindex(b"startxref")]
    root = re.search(rb"/Root\s+(\d+ \d+ R)", trailer)
    info = re.search(rb"/Info\s+(\d+ \d+ R)", trailer)
    size = re.search(rb"/Size\s+(\d+)", trailer)
    prev = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", small)
    if not (root and info and size and prev):
        msg = "the labelled PDF has no classic trailer to chain to"
        raise ValueError(msg)
    number = int(size.group(1))
    head = b"%d 0 obj\n<< /Length %d >>\nstream\n" % (number, hole)
    tail_at = len(small) + len(head) + hole
    body_end = b"\nendstream\nendobj\n"
    xref_at = tail_at + len(body_end)
    xref = (b"xref\n%d 1\n%010d 00000 n\r\ntrailer\n<< /Size %d /Root %s /Info %s /Prev %s >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (number, len(small), number + 1, root.group(1),
                                             info.group(1), prev.group(1), xref_at))
    sparse(path, small + head, hole, body_end + xref)


def big_zip(path: Path, small: bytes, hole: int) -> None:
    """One more stored member, ``big.bin``, of ``hole`` zero bytes (a hole) between the
    labelled archive's members and its central directory, which gains its entry."""
    eocd = small.rindex(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack("<HII", small[eocd + 10 : eocd + 20])
    crc, block = 0, bytes(16 << 20)
    for _ in range(hole // len(block)):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(bytes(hole % len(block)), crc)
    name = b"big.bin"
    local = struct.pack("<I5H3I2H", 0x04034B50, 20, 0, 0, 0, 0x21, crc, hole, hole,
                        len(name), 0) + name
    entry = struct.pack("<I6H3I5H2I", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, hole, hole,
                        len(name), 0, 0, 0, 0, 0, cd_offset) + name
    central = small[cd_offset : cd_offset + cd_size] + entry
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count + 1, count + 1, len(central),
                      cd_offset + len(local) + hole, 0)
    sparse(path, small[:cd_offset] + local, hole, central + end)


_TEXT_TAIL = (" ".join(("generated", "content", "sample", "words")) + ".\n").encode() * 8000

LAYOUTS: dict[str, tuple[Callable[[Path, bytes, int], object], str]] = {
    "avi": (functools.partial(grow_riff, target=b"movi", junk=True),
            "1 GiB JUNK chunk at the end of the movi LIST, idx1 after it"),
    "flac": (sparse, "1 GiB of zero bytes after the last frame (FLAC frames cannot be sparse)"),
    "flv": (big_flv, "128 MP3 audio tags of 8 MiB of zeros after the fixture's tags "
            "(onMetaData first)"),
    "gif": (sparse, "1 GiB trailing bytes after the trailer (GIF image data cannot be sparse)"),
    "heif": (lambda path, small, hole: sparse(
        path, small + struct.pack(">I4sQ", 1, b"mdat", 16 + hole), hole),
        "extra 1 GiB mdat (64-bit largesize) after meta and the image's mdat"),
    "jpeg": (lambda path, small, hole: sparse(path, small[:-2], hole, small[-2:]),
             "1 GiB of scan data before EOI"),
    "mkv": (big_mkv, "1 GiB Void between Cues and the Tags at the end; SeekHead points at Tags"),
    "mp3": (sparse, "1 GiB of zero bytes after the last frame, no trailing tag (MPEG frames "
            "cannot be sparse)"),
    "mp4": (big_mp4, "moov last: mdat grown by 1 GiB, moov after it"),
    "mp4-fast": (big_mp4, "moov first (faststart): the mdat at the end grown by 1 GiB"),
    "ogg": (big_ogg, "1 GiB of zero bytes between the header pages and the audio pages "
            "(Ogg pages cannot be sparse)"),
    "png": (big_png, "one 1 GiB IDAT (valid CRC) after the image's own"),
    "tiff": (big_tiff, "1 GiB strip (ImageLength grown), label IFD + XMP after it"),
    "wav": (functools.partial(grow_riff, target=b"data", junk=False),
            "data chunk grown by 1 GiB of silence, AIGC chunk before data"),
    "webp": (big_webp, "1 GiB JUNK chunk between VP8X and the image/XMP"),
    "ooxml": (big_zip, "a 1 GiB stored member between the members and the central directory"),
    "epub": (big_zip, "a 1 GiB stored member between the members and the central directory"),
    "pdf": (big_pdf, "an incremental update after the label's adding a 1 GiB stream object"),
    "markdown": (lambda path, small, hole: sparse(path, small + _TEXT_TAIL, hole, _TEXT_TAIL),
                 "front matter, ~128 KiB of text, a 1 GiB NUL hole, ~128 KiB of text"),
    "html": (lambda path, small, hole: sparse(
        path, small.replace(b"</body>", b"").replace(b"</html>", b"") + _TEXT_TAIL, hole,
        _TEXT_TAIL + b"</body></html>\n"),
             "labelled <head>, ~128 KiB of text, a 1 GiB NUL hole, ~128 KiB of text"),
}
# Rows named "<codec>-<variant>" are extra layouts of the same codec. Audio and video start
# from a small labelled fixture (fixtures/media/README.md), images from a 64x64 Pillow encode.
FIXTURES = {"ooxml": "ooxml/plain.docx", "epub": "epub/plain3.epub",
            "markdown": "markdown/plain.md", "html": "html/plain.html", "pdf": "pdf/plain.pdf",
            "avi": "avi/plain.avi", "flac": "flac/plain.flac", "flv": "flv/plain.flv",
            "mkv": "mkv/plain.mkv", "mp3": "mp3/plain.mp3", "mp4": "mp4/plain.mp4",
            "mp4-fast": "mp4/faststart.mp4", "ogg": "ogg/plain.ogg", "wav": "wav/plain.wav"}


def small_labelled(row: str, label: aiglabel.AIGCRecord) -> bytes:
    if row in FIXTURES:
        return aiglabel.label_bytes((REPO / "fixtures" / "media" / FIXTURES[row]).read_bytes(),
                                    label)
    kind = "heic" if row == "heif" else row
    if kind == "heic" and not HAVE_HEIF:
        msg = "pillow-heif is not installed"
        raise ValueError(msg)  # the row says "not built: ..." and counts as a failure
    return aiglabel.label_bytes(encode(pixels(64, 64, 7), kind), label)


def measure(row: BigRow, path: Path, budget: int) -> None:
    stat = path.stat()
    row.size, row.on_disk, row.budget = stat.st_size, stat.st_blocks * 512, budget
    report = verify(path)
    row.bytes_read, row.verdict, row.errors = report.bytes_read, report.verdict.value, report.errors
    row.seconds = report.seconds
    ok = not report.errors and row.verdict == row.expected and row.bytes_read <= budget
    row.result = "PASS" if ok else "FAIL"
    path.unlink()


def bytes_read(workdir: Path, dense_mib: int, hole: int = GIB) -> list[BigRow]:
    big = workdir / "big"
    shutil.rmtree(big, ignore_errors=True)
    big.mkdir(parents=True)
    label = aiglabel.AIGCRecord.for_producer(PRODUCER, "bench-big")
    budget = MIB + len(aiglabel.to_json(label).encode())
    rows: list[BigRow] = []
    try:
        for codec in sorted(c.name for c in default_registry):
            if codec == "text":
                continue  # no label inside plain text (a sidecar); the "text" row below reads it
            for name in [codec, *(n for n in LAYOUTS if n.startswith(f"{codec}-"))]:
                build, note = LAYOUTS.get(name, (None, "no sparse builder for it yet"))
                rows.append(row := BigRow(name, note, expected="confirmed"))
                fixture = FIXTURES.get(name, f"big.{EXT.get(codec, codec)}")
                path = big / f"big{Path(fixture).suffix}"
                try:
                    if build is not None:
                        build(path, small_labelled(name, label), hole)
                        measure(row, path, budget)
                except (ValueError, LookupError, StopIteration, OSError,
                        aiglabel.AiglabelError) as exc:
                    row.note = f"not built: {exc}"
        if dense_mib:
            dense_gif(big / "dense.gif", small_labelled("gif", label), dense_mib * MIB)
            rows.append(BigRow("gif-dense", f"NOT sparse: {dense_mib} MiB of real LZW "
                               "sub-blocks in one frame", expected="confirmed"))
            measure(rows[-1], big / "dense.gif", budget)
        text = (" ".join(WORDS) + ".\n").encode() * 1200  # ~128 KiB at each end of the hole
        tail = text + f"\n{NOTICE}\n".encode()
        rows.append(BigRow("text", "NUL hole mid-file, ~128 KiB of text at each end",
                           expected=verify(text + tail, name="small.txt").verdict.value))
        measure(rows[-1], sparse(big / "big.txt", text, hole, tail), budget)
    finally:
        shutil.rmtree(big, ignore_errors=True)
    return rows


def render_bytes(rows: Sequence[BigRow]) -> str:
    lines = ["BYTES READ: labelled ~1 GiB files, budget = 1 MiB + label JSON",
             f"  {'format':<9} {'size MiB':>9} {'disk MiB':>9} {'bytes read':>11} {'budget':>11} "
             f"{'verdict':<10} {'result':<8} layout"]
    for r in rows:
        verdict = f"{r.verdict}!={r.expected}" if r.verdict not in ("", r.expected) else r.verdict
        lines.append(f"  {r.name:<9} {r.size / MIB:9,.1f} {r.on_disk / MIB:9,.2f} "
                     f"{r.bytes_read:>11,} {r.budget:>11,} {verdict:<10} {r.result:<8} {r.note}")
        lines += [f"            error: {e}" for e in r.errors[:3]]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def precompile() -> None:
    """Byte-compile ``aiglabel`` as ``pip install .`` would, so CLI starts do not recompile."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(aiglabel.__file__).parent)],
                   check=False,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})


def find_cli() -> list[str] | None:
    """The ``aiglabel`` console script beside this interpreter (not a pyenv shim), if any."""
    beside = Path(sys.executable).parent / "aiglabel"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("aiglabel")
    return [found] if found else None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="corpus files (default 1000)")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (default 3)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"corpus cache and scratch space (default {DEFAULT_WORKDIR})")
    parser.add_argument("--quick", action="store_true",
                        help="100 files, 1 repetition, 64 MiB dense GIF")
    parser.add_argument("--dense-gif-mib", type=int, default=1024,
                        help="size of the real (not sparse) GIF row, 0 to skip (default 1024)")
    parser.add_argument("--skip-throughput", action="store_true", help="only part 2")
    parser.add_argument("--skip-bytes", action="store_true", help="only part 1")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.reps, args.dense_gif_mib = 100, 1, min(args.dense_gif_mib, 64)
    if args.count < 1 or args.reps < 1 or args.dense_gif_mib < 0:
        parser.error("--count and --reps must be >= 1, --dense-gif-mib >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wall = time.perf_counter()
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if not HAVE_HEIF:
        print("note: pillow-heif is not installed; HEIC left out of the corpus", file=sys.stderr)
    env = {"python": platform.python_version(), "platform": platform.platform(), "cpus": ncpu,
           "aiglabel": aiglabel.__version__, "pillow_heif": HAVE_HEIF}
    out: dict[str, Any] = {"environment": env, "count": args.count, "reps": args.reps}
    tables, failed = [], False
    if not args.skip_throughput:
        corpus, gen = generate_corpus(workdir, args.count)
        print(f"corpus: {'cached' if gen is None else f'generated in {gen:.1f} s'} "
              f"({len(corpus.files)} files, {corpus.nbytes / 1e6:.1f} MB) in {corpus.root}")
        precompile()
        cli = find_cli()
        if cli is None:
            print("note: no `aiglabel` command found; CLI rows left out", file=sys.stderr)
        methods = throughput(corpus, cli, args.reps, ncpu)
        tables.append(render_throughput(corpus, methods, args.reps))
        failed |= not consistent(methods)
        out["corpus"] = {"files": len(corpus.files), "bytes": corpus.nbytes, "kinds": corpus.kinds,
                         "roles": corpus.roles, "generation_s": gen}
        out["throughput"] = [{
            "method": m.key, "title": m.title, "workers": m.workers, "runs_s": m.runs,
            "median_s": m.median, "files_per_s": len(corpus.files) / m.median,
            "files_per_s_per_core": len(corpus.files) / m.median / m.workers,
            "verdicts": m.counts[-1], "consistent": consistent(methods)} for m in methods]
    if not args.skip_bytes:
        print("bytes read: building and verifying the large files ...", flush=True)
        rows = bytes_read(workdir, args.dense_gif_mib)
        tables.append(render_bytes(rows))
        failed |= any(r.result != "PASS" for r in rows)
        out["bytes_read"] = [r.__dict__ for r in rows]
    print("\n" + "\n\n".join(tables))
    print(f"\ntime: {time.perf_counter() - wall:.1f} s; result: {'FAIL' if failed else 'OK'}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
