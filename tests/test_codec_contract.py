"""The codec contract: every fixture through every codec operation (architecture §10)."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

import pytest
from tests.conftest import PRODUCER, decoded_frames, fixture_files, fixture_id, record

import aiglabel
from aiglabel import _api
from aiglabel.registry import default_registry

if TYPE_CHECKING:
    from pathlib import Path

    from aiglabel._io import EditPlan, Source

FIXTURES = fixture_files()
pytestmark = pytest.mark.parametrize("path", FIXTURES, ids=[fixture_id(p) for p in FIXTURES])


def codec_of(path: Path) -> str:
    return path.parent.name


def test_fixture_set_covers_every_image_codec(path: Path) -> None:
    assert path.stat().st_size < 200_000
    assert codec_of(path) in {c.name for c in default_registry}


def test_identify_by_bytes_not_extension(path: Path) -> None:
    data = path.read_bytes()
    assert aiglabel.detect_format(path) == codec_of(path)
    assert aiglabel.detect_format(data) == codec_of(path)
    assert aiglabel.detect_format(data, name="misnamed.wav") == codec_of(path)
    assert aiglabel.detect_format(data, name="noextension") == codec_of(path)


def test_plain_fixtures_carry_no_label(path: Path) -> None:
    labels = aiglabel.read_labels(path)
    if path.stem.startswith("plain"):
        assert labels == []
    for found in labels:
        assert found.carrier.startswith(codec_of(path) + ":")


def test_write_then_read_returns_the_record(path: Path) -> None:
    rec = record("write-read")
    out = aiglabel.label_bytes(path.read_bytes(), rec, name=path.name)
    labels = aiglabel.read_labels(out)
    assert len(labels) == 1, [lb.carrier for lb in labels]
    primary = default_registry.get(codec_of(path)).carriers[0].carrier
    assert labels[0].carrier == primary
    assert labels[0].record == rec
    assert labels[0].form == "bare"
    assert aiglabel.inspect(out).status == "compliant"


def test_writing_twice_gives_identical_bytes(path: Path) -> None:
    rec = record("twice")
    once = aiglabel.label_bytes(path.read_bytes(), rec)
    twice = aiglabel.label_bytes(once, rec)
    assert once == twice


def test_old_label_is_replaced_not_appended(path: Path) -> None:
    before = aiglabel.read_labels(path)
    rec = record("replacement")
    out = aiglabel.label_bytes(path.read_bytes(), rec)
    after = aiglabel.read_labels(out)
    assert [lb.record for lb in after] == [rec]
    if before:
        assert all(lb.record != rec for lb in before)


def test_propagator_update_keeps_producer_fields(path: Path) -> None:
    first = record("prod-1")
    second = record("prod-1", propagator="001191440300MA5G49LC9K2YO01", propagate_id="plat-9")
    once = aiglabel.label_bytes(path.read_bytes(), first)
    updated = aiglabel.label_bytes(once, second)
    (found,) = aiglabel.read_labels(updated)
    prefix = f'"Label":"1","ContentProducer":"{PRODUCER}","ProduceID":"prod-1","ReservedCode1":""'
    assert prefix in found.raw
    assert found.record == second


def test_essence_and_pixels_unchanged(path: Path) -> None:
    data = path.read_bytes()
    out = aiglabel.label_bytes(data, record("essence"))
    assert aiglabel.essence_digest(out) == aiglabel.essence_digest(data)
    assert decoded_frames(out) == decoded_frames(data)


def test_copy_mode_leaves_input_untouched(path: Path, tmp_path: Path) -> None:
    src = tmp_path / path.name
    src.write_bytes(path.read_bytes())
    dst = tmp_path / "out" / path.name
    dst.parent.mkdir()
    result = aiglabel.label(src, dst, record("copy"))
    assert src.read_bytes() == path.read_bytes()
    assert result.destination == str(dst)
    assert [lb.record for lb in aiglabel.read_labels(dst)] == [record("copy")]
    with pytest.raises(aiglabel.OutputError, match="exists"):
        aiglabel.label(src, dst, record("copy"))
    with pytest.raises(aiglabel.OutputError, match="in-place"):
        aiglabel.label(src, src, record("copy"))


def test_in_place_is_atomic(path: Path, tmp_path: Path) -> None:
    src = tmp_path / path.name
    src.write_bytes(path.read_bytes())
    os.chmod(src, 0o640)
    aiglabel.label(src, None, record("inplace"), in_place=True)
    assert [lb.record for lb in aiglabel.read_labels(src)] == [record("inplace")]
    assert oct(src.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_failure_mid_write_leaves_no_output(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / path.name
    original = path.read_bytes()
    src.write_bytes(original)

    def broken_emit(plan: EditPlan, source: Source, out: io.BufferedIOBase) -> int:
        out.write(b"partial output")
        raise OSError(28, "No space left on device")

    def broken_patch(*args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_api, "emit", broken_emit)
    # Codecs that patch in place fail in apply_patch instead (tests/test_patch.py covers a
    # failure after each of its writes).
    monkeypatch.setattr(_api, "apply_patch", broken_patch)
    with pytest.raises(OSError, match="No space"):
        aiglabel.label(src, tmp_path / "out.bin", record("fail"))
    with pytest.raises(OSError, match="No space"):
        aiglabel.label(src, None, record("fail"), in_place=True)
    assert src.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_stream_api_matches_bytes_api(path: Path) -> None:
    rec = record("stream")
    out = io.BytesIO()
    result = aiglabel.label_stream(io.BytesIO(path.read_bytes()), out, rec)
    assert out.getvalue() == aiglabel.label_bytes(path.read_bytes(), rec)
    assert result.bytes_written == len(out.getvalue())
    assert result.format == codec_of(path)


@pytest.mark.parametrize("overlay_min", [1, 1 << 40], ids=["overlay", "sequential"])
def test_file_output_matches_bytes_output(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overlay_min: int
) -> None:
    """The kernel-copy paths (sequential, or one copy from offset 0 overlaid with the changed
    pieces when a span keeps its offset) write exactly what the in-memory path writes."""
    from aiglabel import _io

    monkeypatch.setattr(_io, "OVERLAY_MIN", overlay_min)
    rec = record("file-vs-bytes")
    out = tmp_path / f"out{path.suffix}"
    aiglabel.label(path, out, rec)
    assert out.read_bytes() == aiglabel.label_bytes(path.read_bytes(), rec, name=path.name)
