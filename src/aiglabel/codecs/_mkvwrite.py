"""Planning a Matroska label write: where the new Tags goes and how the SeekHead follows.

The policy (never move an existing element; rewrite the Tags where it is, else in a Void run
before the first Cluster, else at the end of the Segment) is described in
:mod:`aiglabel.codecs.mkv`, which calls :class:`Writer` from ``MkvCodec.plan_write``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiglabel._io import EditPlan
from aiglabel.codecs import _ebml
from aiglabel.codecs.mkv import (
    _TAGS_ID,
    SEEK,
    SEEK_ID,
    SEEK_POSITION,
    SEEKHEAD,
    SEGMENT,
    TAGS,
    read_seekhead,
)
from aiglabel.errors import LimitExceededError

if TYPE_CHECKING:
    from aiglabel._io import Source
    from aiglabel.codecs._ebml import Budget
    from aiglabel.codecs.mkv import Layout, SeekHead

__all__ = ["Writer", "rebuild_seekhead"]


def _seek(position: int) -> bytes:
    return _ebml.element(SEEK, _ebml.element(SEEK_ID, _TAGS_ID)
                         + _ebml.element(SEEK_POSITION, _ebml.uint_bytes(position)))


def rebuild_seekhead(head: SeekHead, stale: set[int], new_pos: int | None, *, add: bool) -> bytes:
    """The SeekHead payload with Tags entries at ``stale`` positions moved to ``new_pos`` (the
    first one) or dropped, and an entry for ``new_pos`` added when ``add`` and none lists it."""
    out: list[bytes] = []
    had_crc = False
    listed = False
    by_child = {c: (sid, p) for c, sid, p in head.entries}
    for c in head.children:
        if c.id == _ebml.CRC32:
            had_crc = True
            continue
        sid, pos = by_child.get(c, (b"", None))
        if sid == _TAGS_ID and pos in stale:
            if new_pos is not None and not listed:
                out.append(_seek(new_pos))
                listed = True
            continue
        listed = listed or (sid == _TAGS_ID and pos == new_pos)
        out.append(head.payload[c.offset : c.end])
    if add and new_pos is not None and not listed:
        out.append(_seek(new_pos))
    return _ebml.master(out, crc=had_crc)


# --- writing -------------------------------------------------------------------------------


class Writer:
    """Plans one label write over a :class:`Layout` (see the module docstring)."""

    def __init__(self, src: Source, layout: Layout, budget: Budget) -> None:
        self.src = src
        self.layout = layout
        self.kids = layout.children
        self.edit = _ebml.Siblings(layout.children)
        self.append = b""
        self.stale: set[int] = set()  # SeekPositions of Tags elements that became Voids
        self.new_pos: int | None = None
        self.heads = {i: read_seekhead(src, el, budget)
                      for i, el in enumerate(self.kids) if el.id == SEEKHEAD}
        self.rebuilt_head: int | None = None

    def _voided(self, i: int) -> None:
        self.edit.put(i, i + 1, _ebml.void(self.kids[i].span))
        self.stale.add(self.layout.rel(self.kids[i].offset))

    def shrink(self, i: int, payload: bytes) -> None:
        """Rewrite ``kids[i]`` (a Tags) in its own bytes; an empty payload leaves a Void."""
        if not payload:
            self._voided(i)
        elif not self.edit.fit(i, i + 1, [(TAGS, payload)]):
            msg = f"cannot rewrite the Tags element at byte {self.kids[i].offset} in place"
            raise LimitExceededError(msg, path=self.src.name)

    def place(self, i: int | None, payloads: tuple[bytes, bytes]) -> None:
        """Write the labelled Tags -- padded if it fits, else plain (``payloads``) -- in
        place, in padding before the Clusters, or (padded) at the end."""
        if i is not None:
            stop = self.edit.run_end(i)
            if any(self.edit.fit(i, stop, [(TAGS, p)]) for p in payloads):
                return
            if stop == len(self.kids):  # the last element: it may grow
                self.edit.put(i, stop, _ebml.element(TAGS, payloads[0]))
                return
            self._voided(i)
        for start, stop in self.edit.void_runs(self.layout.first_cluster()):
            if any(self._into_run(start, stop, p) for p in payloads):
                return
        self.new_pos = self.layout.rel(self.layout.segment.end)
        self.append = _ebml.element(TAGS, payloads[0])

    def _into_run(self, a: int, stop: int, payload: bytes) -> bool:
        s = a - 1
        if s in self.heads and not self.edit.covered(s):
            # [SeekHead'][Tags'][Void]: the SeekHead's size decides where the Tags starts.
            start = self.layout.rel(self.kids[s].offset)
            pos, head, settled = start, b"", False
            for _ in range(4):
                head = rebuild_seekhead(self.heads[s], self.stale, pos, add=True)
                nxt = start + len(_ebml.element(SEEKHEAD, head))
                settled, pos = nxt == pos, nxt
                if settled:
                    break
            if not settled or not self.edit.fit(s, stop, [(SEEKHEAD, head), (TAGS, payload)]):
                return False
            self.new_pos, self.rebuilt_head = pos, s
            return True
        if not self.edit.fit(a, stop, [(TAGS, payload)]):
            return False
        self.new_pos = self.layout.rel(self.kids[a].offset)
        return True

    def fix_seekheads(self) -> None:
        """Point the SeekHeads' Tags entries at the new Tags; without room, only drop the
        entries that would point at a Void. Only the first SeekHead gains an entry."""
        add = self.rebuilt_head is None
        for s, head in self.heads.items():
            if s == self.rebuilt_head or self.edit.covered(s):
                continue
            for attempt in (self.new_pos, None):
                payload = rebuild_seekhead(head, self.stale, attempt, add=add)
                if payload == head.payload or self.edit.fit(s, self.edit.run_end(s),
                                                             [(SEEKHEAD, payload)]):
                    break
            add = False

    def plan(self, carrier: str, removed: list[str]) -> EditPlan:
        """Assemble the output: Segment header, edited children, appended Tags, the rest."""
        kids = self.kids
        if (self.edit.edits or self.append) and kids and kids[0].id == _ebml.CRC32:
            self.edit.put(0, 1, _ebml.void(kids[0].span))  # a whole-Segment CRC goes stale
        body = EditPlan()
        self.edit.emit(body)
        body.add(self.append)
        seg = self.layout.segment
        if seg.unknown:
            header = self.src.read_at(seg.offset, seg.header_size)
        else:
            size = body.output_size
            width = seg.size_width if size < (1 << (7 * seg.size_width)) - 1 else None
            header = _ebml.encode_id(SEGMENT) + _ebml.encode_size(size, width)
        plan = EditPlan(carrier=carrier, removed=removed)
        plan.copy(0, seg.offset)
        plan.add(header)
        plan.pieces.extend(body.pieces)
        plan.copy(seg.end, self.src.size)  # data after the Segment is kept as it is
        return plan
