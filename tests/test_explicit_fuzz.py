"""Hostile input for the explicit labels (ground rule: no crash on hostile files): damaged
copies of the bundled fixtures -- flipped bytes, cut files, zeroed runs -- through
``aiglabel.label(..., notice=ExplicitLabel())`` fail only with aiglabel's own errors and
leave no output or temporary file behind. Seeded, so every run tries the same files."""

from __future__ import annotations

import random
import warnings
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, record

import aiglabel
from aiglabel.explicit.files import ExplicitLabel

if TYPE_CHECKING:
    from pathlib import Path

pytest.importorskip("av")
pytest.importorskip("PIL")
SUFFIXES = (".mp3", ".wav", ".flac", ".opus", ".m4a", ".mp4", ".mov", ".mkv", ".webm", ".avi",
            ".flv", ".jpg", ".png", ".webp", ".tif", ".md", ".html", ".docx")
RUNS = 400


def _damaged(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    mode = rng.choice(("flip", "cut", "zero"))
    if mode == "flip":
        for _ in range(rng.randint(1, 20)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif mode == "cut":
        del out[rng.randrange(1, len(out)) :]
    else:
        at = rng.randrange(len(out))
        size = min(rng.randint(1, 200), len(out) - at)
        out[at : at + size] = bytes(size)
    return bytes(out)


def test_damaged_media_fail_cleanly(tmp_path: Path) -> None:
    fixtures = sorted(p for p in MEDIA.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    rng = random.Random(45438)
    outcomes = {"labelled": 0, "refused": 0}
    (tmp_path / "out").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about the corrupt EXIF it reads past
        for run in range(RUNS):
            fixture = rng.choice(fixtures)
            src = tmp_path / f"in{run}{fixture.suffix}"
            src.write_bytes(_damaged(rng, fixture.read_bytes()))
            dst = tmp_path / "out" / src.name
            message = None
            try:
                aiglabel.label(src, dst, record(f"f{run}"), notice=ExplicitLabel())
            except aiglabel.AiglabelError as exc:
                message = str(exc)
            if message is None:
                outcomes["labelled"] += 1
                continue
            assert message.startswith(str(src)), message  # one line naming the file
            assert "\n" not in message
            assert not dst.exists()
            outcomes["refused"] += 1
    assert sum(outcomes.values()) == RUNS
    assert outcomes["refused"] > 0
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
