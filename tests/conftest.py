from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image, UnidentifiedImageError

from aiglabel._io import Source, emit
from aiglabel.gb45438 import AIGCRecord
from aiglabel.registry import default_registry

if TYPE_CHECKING:
    from aiglabel.codecs.base import CodecBase, FoundLabel

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT / "fixtures" / "media"
REAL = ROOT.parent / "shared" / "fixtures" / "real"
EXIFTOOL_CONFIG = ROOT / "tests" / "exiftool" / "tc260.config"
PRODUCER = "001191110102MACQD9K64010000"
CODEC_NAMES = {c.name for c in default_registry}


def fixture_files() -> list[Path]:
    """Every committed media fixture whose folder names a registered codec."""
    return sorted(
        p
        for p in MEDIA.glob("*/*")
        if p.is_file() and p.parent.name in CODEC_NAMES and not p.name.startswith(".")
    )


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def record(produce_id: str = "id-1", **kw: str) -> AIGCRecord:
    return AIGCRecord.for_producer(PRODUCER, produce_id, **kw)


def _register_heif() -> None:
    try:
        import pillow_heif  # type: ignore[import-untyped]
    except ImportError:
        return
    pillow_heif.register_heif_opener()


_register_heif()


# Formats whose content no media decoder shows: their essence digest and per-format tests
# (an independent reader of the text) stand in for "decoded frames".
TEXT_FORMATS = frozenset({"pdf", "markdown", "html"})


def decoded_frames(data: bytes) -> list[bytes]:
    """Decode every frame to raw bytes: images with Pillow (pillow-heif for HEIC), audio and
    video with PyAV (every stream's decoded frames and samples, in demuxing order), Office
    documents as their content parts inflated by zipfile (package metadata left out); ``[]``
    for text and PDF documents."""
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        name = default_registry.identify(Source.from_bytes(data)).name
        if name in ("ooxml", "epub"):
            return decoded_zip_parts(data)
        if name in TEXT_FORMATS:
            return []
        return decoded_av_frames(data)
    with img:
        frames = []
        for i in range(getattr(img, "n_frames", 1)):
            img.seek(i)
            frames.append(img.mode.encode() + repr(img.size).encode() + img.tobytes())
        return frames


def decoded_zip_parts(data: bytes) -> list[bytes]:
    """Every ZIP entry except document metadata (OOXML package parts and docProps, the EPUB
    package document), inflated by zipfile, name first."""
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(data))
    skip = ("[Content_Types].xml", "_rels/.rels")
    return [info.filename.encode() + b"\x00" + archive.read(info)
            for info in sorted(archive.infolist(), key=lambda i: i.filename)
            if info.filename not in skip and not info.filename.startswith("docProps/")
            and not info.filename.endswith(".opf")]


def decoded_av_frames(data: bytes) -> list[bytes]:
    """Decode an audio/video file with PyAV: one entry per decoded frame, tagged by stream."""
    import av

    out: list[bytes] = []
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(*container.streams):
            head = f"{frame.__class__.__name__}:{getattr(frame, 'pts', None)}:".encode()
            out.append(head + frame.to_ndarray().tobytes())
    assert out, "PyAV decoded no frames"
    return out


@pytest.fixture(scope="session")
def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is None:
        pytest.skip(
            "EXIFTOOL NOT INSTALLED: interop oracle missing; scripts/test.sh installs "
            "libimage-exiftool-perl, run the suite through it"
        )
    return path


class CodecHarness:
    """Drive one codec directly (no registry sniffing) on in-memory data."""

    def __init__(self, name: str) -> None:
        self.name = name

    def codec(self) -> CodecBase:
        return default_registry.get(self.name)()

    def write(self, data: bytes, rec: AIGCRecord) -> bytes:
        src = Source.from_bytes(data, f"in.{self.name}")
        plan = self.codec().plan_write(src, rec)
        out = io.BytesIO()
        assert emit(plan, src, out) == plan.output_size
        return out.getvalue()

    def labels(self, data: bytes) -> list[FoundLabel]:
        return self.codec().read_labels(Source.from_bytes(data, f"x.{self.name}"))

    def essence(self, data: bytes) -> str:
        return self.codec().essence_digest(Source.from_bytes(data, f"x.{self.name}"))


def fuzz_codec(codec: CodecBase, files: list[Path], alphabet: bytes, name: str,
               seed: int = 45438, rounds: int = 40) -> None:
    """Damage each file's bytes at random (1-6 bytes from ``alphabet``) and run every codec
    operation: only aiglabel errors may come out (no crash, no other exception)."""
    import random

    from aiglabel.errors import AiglabelError

    rng = random.Random(seed)
    for path in files:
        original = path.read_bytes()
        for _ in range(rounds):
            data = bytearray(original)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.choice(alphabet)
            src = Source.from_bytes(bytes(data), name)
            try:
                codec.read_labels(src)
                codec.metadata(src)
                codec.container_findings(src)
                codec.essence_digest(src)
                codec.plan_write(src, record("fuzz"))
            except AiglabelError:
                pass
