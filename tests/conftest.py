from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from aiglabel.gb45438 import AIGCRecord
from aiglabel.registry import default_registry

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


def decoded_frames(data: bytes) -> list[bytes]:
    """Decode every frame with Pillow (pillow-heif for HEIC) to raw pixel bytes."""
    with Image.open(io.BytesIO(data)) as img:
        frames = []
        for i in range(getattr(img, "n_frames", 1)):
            img.seek(i)
            frames.append(img.mode.encode() + repr(img.size).encode() + img.tobytes())
        return frames


@pytest.fixture(scope="session")
def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is None:
        pytest.skip(
            "EXIFTOOL NOT INSTALLED: interop oracle missing; scripts/test.sh installs "
            "libimage-exiftool-perl, run the suite through it"
        )
    return path
