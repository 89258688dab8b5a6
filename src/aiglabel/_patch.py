"""Crash-safe in-place label updates that write only the bytes that change.

A full in-place write (:func:`aiglabel._io.atomic_output`) copies the whole file to a
temporary file and renames it: safe, but it rewrites gigabytes to change a few hundred bytes.
When a container has room for the new label in padding (ID3 padding, a FLAC PADDING block, an
MP4 ``free`` box, an MKV ``Void``), a codec can instead return a :class:`PatchPlan`:

0. an optional **append** adds bytes at the end of the file that readers skip (an MP4
   ``free`` box after a final ``moov``), so a later write can pull them into the structure;
1. **prepare** writes land only in bytes no reader interprets (inside padding), so the file
   still plays and still carries the old label however many of them reached the disk;
2. one small **switch** write (at most :data:`SWITCH_MAX` bytes, inside one 512-byte sector,
   which disks write atomically) re-points the structure from the old label to the new one;
3. optional **cleanup** writes wipe bytes the switch left unreferenced (e.g. the old label's
   text, now inside padding); the file is already complete before them.

``fsync`` separates the phases, so a crash at any point leaves the old or the new label,
never both or neither. The file's size changes only by the append.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel.errors import OutputError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["SECTOR", "SWITCH_MAX", "PatchPlan", "apply_patch", "simulate"]

SECTOR = 512
SWITCH_MAX = 16  # bytes: a size field plus a type / flags field


@dataclass(frozen=True, slots=True)
class PatchPlan:
    """An in-place edit as ordered ``(offset, bytes)`` writes (see the module docstring).

    Attributes:
        prepare: writes into bytes no reader interprets yet.
        switch: the one write that makes the new label the file's label.
        cleanup: writes to bytes the switch made unreferenced.
        carrier: the carrier the new label is in.
        removed: carriers whose label the switch retired.
        append: ``(offset, bytes)`` written first at the end of the file (``offset`` is the
            file's size), or ``None``.
    """

    prepare: tuple[tuple[int, bytes], ...]
    switch: tuple[int, bytes]
    cleanup: tuple[tuple[int, bytes], ...] = ()
    carrier: str = ""
    removed: tuple[str, ...] = ()
    append: tuple[int, bytes] | None = None

    def __post_init__(self) -> None:
        offset, data = self.switch
        if not 0 < len(data) <= SWITCH_MAX:
            msg = f"switch write of {len(data)} bytes (1..{SWITCH_MAX} allowed)"
            raise ValueError(msg)
        if offset // SECTOR != (offset + len(data) - 1) // SECTOR:
            msg = f"switch write at {offset} crosses a {SECTOR}-byte sector boundary"
            raise ValueError(msg)

    @property
    def steps(self) -> list[tuple[int, bytes]]:
        """Every write in order: append, prepare, switch, cleanup."""
        return [*([self.append] if self.append else []), *self.prepare, self.switch,
                *self.cleanup]

    @property
    def switch_step(self) -> int:
        """How many writes come before the switch (the label changes after that many + 1)."""
        return len(self.prepare) + (1 if self.append else 0)

    @property
    def bytes_written(self) -> int:
        """Total bytes the plan writes."""
        return sum(len(data) for _, data in self.steps)

    def end(self) -> int:
        """One past the highest byte written (must not exceed the file size)."""
        return max(offset + len(data) for offset, data in self.steps)


def simulate(data: bytes, plan: PatchPlan, steps: int | None = None) -> bytes:
    """Apply the first ``steps`` writes of ``plan`` (all by default) to a copy of ``data``.

    Tests use it to check every state a crash could leave.
    """
    out = bytearray(data)
    for offset, chunk in plan.steps[: len(plan.steps) if steps is None else steps]:
        if offset > len(out):
            msg = f"write at {offset} beyond the end ({len(out)})"
            raise ValueError(msg)
        out[offset : offset + len(chunk)] = chunk
    return bytes(out)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def apply_patch(path: Path, plan: PatchPlan, *, expected_size: int) -> int:
    """Apply ``plan`` to ``path`` in place, with fsync between the phases.

    Args:
        path: the file, as planned.
        plan: the writes.
        expected_size: the size the plan was made for; a file that changed size since is
            left alone. The plan's append goes there.

    Returns:
        The number of bytes written.

    Raises:
        OutputError: the file changed, or a write failed (the file then holds the old or the
            new label, as the plan guarantees).
    """
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        msg = f"cannot open for writing ({exc.strerror})"
        raise OutputError(msg, path=str(path)) from exc
    try:
        size = os.fstat(fd).st_size
        grown = size + (len(plan.append[1]) if plan.append else 0)
        if size != expected_size or plan.end() > grown or (
                plan.append is not None and plan.append[0] != size):
            msg = "the file changed while it was being labelled; nothing was written"
            raise OutputError(msg, path=str(path))
        if plan.append is not None:
            _pwrite_all(fd, plan.append[1], plan.append[0])
            os.fsync(fd)
        for offset, data in plan.prepare:
            _pwrite_all(fd, data, offset)
        os.fsync(fd)
        _pwrite_all(fd, plan.switch[1], plan.switch[0])
        os.fsync(fd)
        for offset, data in plan.cleanup:
            _pwrite_all(fd, data, offset)
        if plan.cleanup:
            os.fsync(fd)
    except OSError as exc:
        msg = f"in-place write failed ({exc.strerror or exc}); the file keeps a complete label"
        raise OutputError(msg, path=str(path)) from exc
    finally:
        os.close(fd)
    return plan.bytes_written
