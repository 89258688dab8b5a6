"""In-place batches (aiglabel._io.DurableBatch): rewritten files wait as complete temporary
files, then one filesystem sync and the renames make them durable together; targets are
untouched until the commit, and an aborted batch leaves them as they were."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, record

import aiglabel
from aiglabel._io import DurableBatch

if TYPE_CHECKING:
    from pathlib import Path

NAMES = ("jpeg/plain.jpg", "png/plain.png", "webp/lossless.webp", "tiff/plain.tif")


def _copies(tmp_path: Path) -> list[Path]:
    out = []
    for name in NAMES:
        target = tmp_path / name.replace("/", "-")
        shutil.copyfile(MEDIA / name, target)
        out.append(target)
    return out


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".aiglabel-tmp")]


def test_batch_commits_together(tmp_path: Path) -> None:
    files = _copies(tmp_path)
    before = {p: p.read_bytes() for p in files}
    with DurableBatch() as batch:
        for i, path in enumerate(files):
            result = aiglabel.label(path, None, record(f"b{i}"), in_place=True, batch=batch)
            assert not result.patched
            assert path.read_bytes() == before[path]  # untouched until the commit
        assert len(_temps(tmp_path)) == len(files)
    assert batch.committed == len(files)
    assert _temps(tmp_path) == []
    for i, path in enumerate(files):
        assert [x.record for x in aiglabel.read_labels(path)] == [record(f"b{i}")]
        assert aiglabel.essence_digest(path) == aiglabel.essence_digest(before[path])


def test_batch_commits_when_full_and_discards_on_error(tmp_path: Path) -> None:
    files = _copies(tmp_path)
    batch = DurableBatch(max_files=2)
    aiglabel.label(files[0], None, record("x0"), in_place=True, batch=batch)
    aiglabel.label(files[1], None, record("x1"), in_place=True, batch=batch)
    assert batch.committed == 2  # full: committed by itself
    assert len(aiglabel.read_labels(files[1])) == 1
    original = files[2].read_bytes()

    def interrupted() -> None:
        with batch:
            aiglabel.label(files[2], None, record("x2"), in_place=True, batch=batch)
            raise RuntimeError  # the run stops before the commit

    with pytest.raises(RuntimeError):
        interrupted()
    assert files[2].read_bytes() == original
    assert _temps(tmp_path) == []


def test_cli_in_place_batch(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    files = _copies(tmp_path)
    result = CliRunner().invoke(app, ["label", str(tmp_path), "--in-place", "--producer",
                                      record().content_producer])
    assert result.exit_code == 0, result.output
    assert all(len(aiglabel.read_labels(p)) == 1 for p in files)
    assert _temps(tmp_path) == []


def test_cli_in_place_batch_with_a_bad_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    files = _copies(tmp_path)
    bad = tmp_path / "broken.png"
    bad.write_bytes((MEDIA / "png" / "plain.png").read_bytes()[:100])
    result = CliRunner().invoke(app, ["label", str(tmp_path), "--in-place", "--producer",
                                      record().content_producer])
    assert result.exit_code == 1
    assert "broken.png" in result.output
    assert all(len(aiglabel.read_labels(p)) == 1 for p in files)
    assert bad.stat().st_size == 100
    assert _temps(tmp_path) == []
