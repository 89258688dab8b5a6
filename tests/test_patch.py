"""The crash-safe in-place patch machinery (aiglabel._patch) and the contract for codecs that
offer it: every prefix of a plan's writes leaves the old or the new label."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from tests.conftest import decoded_frames, fixture_files, fixture_id, record

import aiglabel
from aiglabel import _patch
from aiglabel._io import Source
from aiglabel._patch import PatchPlan, apply_patch, simulate
from aiglabel.errors import OutputError
from aiglabel.registry import default_registry

if TYPE_CHECKING:
    from pathlib import Path

DATA = bytes(range(256)) * 8  # 2 KiB


def plan() -> PatchPlan:
    return PatchPlan(prepare=((1024, b"NEW-LABEL"), (1500, b"tail")), switch=(8, b"SWCH"),
                     cleanup=((100, b"\x00" * 20),), carrier="test:carrier")


def test_plan_validation() -> None:
    with pytest.raises(ValueError, match="sector"):
        PatchPlan(prepare=(), switch=(510, b"abcd"))
    with pytest.raises(ValueError, match="switch write of 17 bytes"):
        PatchPlan(prepare=(), switch=(0, b"x" * 17))
    p = plan()
    assert p.bytes_written == 9 + 4 + 4 + 20
    assert [o for o, _ in p.steps] == [1024, 1500, 8, 100]
    assert p.end() == 1504


def test_simulate_prefixes() -> None:
    p = plan()
    assert simulate(DATA, p, 0) == DATA
    two = simulate(DATA, p, 2)
    assert two[1024:1033] == b"NEW-LABEL"
    assert two[8:12] == DATA[8:12]
    full = simulate(DATA, p)
    assert full[8:12] == b"SWCH"
    assert full[100:120] == b"\x00" * 20
    assert len(full) == len(DATA)


def _record_io(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record apply_patch's pwrite offsets (``w<offset>``) and fsyncs (``sync``) in order."""
    events: list[str] = []
    real_pwrite, real_fsync = os.pwrite, os.fsync

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        events.append(f"w{offset}")
        return real_pwrite(fd, data, offset)

    def fsync(fd: int) -> None:
        events.append("sync")
        real_fsync(fd)

    monkeypatch.setattr(_patch.os, "pwrite", pwrite)
    monkeypatch.setattr(_patch.os, "fsync", fsync)
    return events


def test_apply_orders_writes_and_syncs_between_phases(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    events = _record_io(monkeypatch)
    assert apply_patch(path, plan(), expected_size=len(DATA)) == plan().bytes_written
    assert events == ["w1024", "w1500", "sync", "w8", "sync", "w100", "sync"]
    assert path.read_bytes() == simulate(DATA, plan())


@pytest.mark.parametrize("fail_at", range(4))
def test_a_failed_write_leaves_a_prefix_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             fail_at: int) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    calls = 0
    real_pwrite = os.pwrite

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        nonlocal calls
        if calls == fail_at:
            raise OSError(5, "Input/output error")
        calls += 1
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(_patch.os, "pwrite", pwrite)
    with pytest.raises(OutputError, match="keeps a complete label"):
        apply_patch(path, plan(), expected_size=len(DATA))
    assert path.read_bytes() == simulate(DATA, plan(), fail_at)


def test_append_is_written_and_synced_first(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    grown = PatchPlan(prepare=((len(DATA) + 4, b"LABEL"),), switch=(0, b"SWCH"),
                      append=(len(DATA), b"FREE" + bytes(12)))
    events = _record_io(monkeypatch)
    assert grown.switch_step == 2
    apply_patch(path, grown, expected_size=len(DATA))
    assert events == [f"w{len(DATA)}", "sync", f"w{len(DATA) + 4}", "sync", "w0", "sync"]
    assert path.read_bytes() == simulate(DATA, grown)
    assert path.read_bytes()[len(DATA):] == b"FREELABEL" + bytes(7)
    with pytest.raises(ValueError, match="beyond the end"):
        simulate(DATA, PatchPlan(prepare=((len(DATA) + 1, b"x"),), switch=(0, b"y")))


def test_a_changed_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA + b"more")
    with pytest.raises(OutputError, match="changed"):
        apply_patch(path, plan(), expected_size=len(DATA))
    assert path.read_bytes() == DATA + b"more"


# --- the contract for codecs that offer in-place patches ---------------------------------------

PATCHABLE = []
for _path in fixture_files():
    _data = _path.read_bytes()
    _codec = default_registry.get(_path.parent.name)()
    if _codec.plan_patch(Source.from_bytes(_data, _path.name), record("patch")) is not None:
        PATCHABLE.append(_path)


def test_some_fixture_exercises_the_patch_contract() -> None:
    names = {p.parent.name for p in PATCHABLE}
    codecs_with_patch = {c.name for c in default_registry
                         if c.plan_patch is not aiglabel.codecs.base.CodecBase.plan_patch}
    assert codecs_with_patch <= names, "every codec with plan_patch needs a fixture that uses it"


@pytest.mark.parametrize("path", PATCHABLE, ids=[fixture_id(p) for p in PATCHABLE])
def test_every_crash_point_leaves_old_or_new_label(path: Path) -> None:
    data = path.read_bytes()
    codec = default_registry.get(path.parent.name)()
    new = record("patch")
    before = [lb.record for lb in codec.read_labels(Source.from_bytes(data, path.name))]
    patch = codec.plan_patch(Source.from_bytes(data, path.name), new)
    assert patch is not None
    frames = decoded_frames(data)
    essence = codec.essence_digest(Source.from_bytes(data, path.name))
    switch_step = patch.switch_step
    for k in range(len(patch.steps) + 1):
        state = simulate(data, patch, k)
        src = Source.from_bytes(state, path.name)
        labels = [lb.record for lb in codec.read_labels(src)]
        expected = before if k <= switch_step else [new]
        assert labels == expected, f"after {k} of {len(patch.steps)} writes"
        assert codec.essence_digest(Source.from_bytes(state, path.name)) == essence
        assert decoded_frames(state) == frames
    assert patch.end() <= len(data) + (len(patch.append[1]) if patch.append else 0)
    assert patch.append is None or patch.append[0] == len(data)


@pytest.mark.parametrize("path", PATCHABLE, ids=[fixture_id(p) for p in PATCHABLE])
def test_in_place_label_uses_the_patch(path: Path, tmp_path: Path) -> None:
    target = tmp_path / path.name
    target.write_bytes(path.read_bytes())
    inode = target.stat().st_ino
    result = aiglabel.label(target, None, record("patch"), in_place=True)
    assert result.patched
    assert result.bytes_written < 1 << 20
    assert target.stat().st_ino == inode  # same file, not a renamed copy
    assert [lb.record for lb in aiglabel.read_labels(target)] == [record("patch")]
