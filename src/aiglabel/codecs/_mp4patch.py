"""Crash-safe in-place MP4 label updates through a ``free`` box after (or appended to) ``moov``.

Applies when ``moov`` (8-byte header) is directly followed by a top-level ``free``/``skip``
box with room for the new ``udta``, the label lives (or will live) in a ``udta`` that is the
last child of ``moov``, and nothing else in ``moov`` changes. ``mdat`` never moves, so no chunk
offset changes. The writes (see :mod:`aiglabel._patch`)::

    before    [moov: ... udta(old)] [free F]
    prepare 1 moov size += F          -> [moov: ... udta(old) free(F)]      (valid, old label)
    prepare 2 inside free's payload:  udta(new), free(rest) header         (not yet reachable)
    switch    udta(old) header -> free(U + 8), swallowing the old udta and the free header
              -> [moov: ... free(U+8) udta(new) free(rest)]                (new label)
    cleanup   zero the old udta's payload

Without an old ``udta`` the switch turns the ``free`` child's own header into the new udta's.
When ``moov`` is the last box (QuickTime's and ffmpeg's default layout), the ``free`` box is
first appended at the end of the file (the new udta plus :data:`mp4.MOOV_PADDING` bytes, then
fsync): the file grows by that much once, and later updates reuse the room inside ``moov``.
Every prefix of these writes leaves a playable file with the old or the new label.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from aiglabel._patch import PatchPlan
from aiglabel.codecs import _mp4meta
from aiglabel.codecs._isobmff import Budget, Buffer, iter_boxes
from aiglabel.gb45438 import to_json

if TYPE_CHECKING:
    from aiglabel._io import Source
    from aiglabel.gb45438 import AIGCRecord

__all__ = ["plan_moov_patch"]

_FREE = (b"free", b"skip")
_U32 = 0xFFFFFFFF


def _box_header(size: int, box_type: bytes) -> bytes:
    return struct.pack(">I4s", size, box_type)


def plan_moov_patch(src: Source, record: AIGCRecord) -> PatchPlan | None:
    """The patch for ``src``, or ``None`` when the layout does not allow one."""
    from aiglabel.codecs import mp4  # the codec module imports this one lazily

    lay = mp4.layout(src)
    moov = lay.moov
    if moov.header_size != 8 or any(mp4.is_xmp_box(b) for b in lay.top):
        return None
    children = list(iter_boxes(src, moov.payload_offset, moov.end, Budget(src.limits),
                               nested=True))
    # Room is a free child ending moov (left by an earlier patch), else a top-level free box
    # right after moov, which the first prepare write pulls into moov.
    inner = (children[-1] if children and children[-1].type in _FREE
             and children[-1].header_size == 8 else None)
    grow: list[tuple[int, bytes]] = []
    room: int | None
    if inner is not None:
        room_at, room = inner.offset, inner.size
        body = children[:-1]
    else:
        index = lay.top.index(moov)
        if index + 1 < len(lay.top):
            free = lay.top[index + 1]
            if free.type not in _FREE or free.header_size != 8 or moov.size + free.size > _U32:
                return None
            room_at, room = moov.end, free.size
            grow = [(moov.offset, struct.pack(">I", moov.size + free.size))]
        elif moov.end == src.size:
            room_at, room = moov.end, None  # moov last: a free box is appended first
        else:
            return None
        body = children
    data = src.read_metadata(moov.offset, moov.size, "moov box")
    buf = Buffer(data, moov.offset, src.name)
    root = _mp4meta.tree(buf, moov, src.limits, Budget(src.limits))
    removed = mp4.edit_labels(buf, root, to_json(record), src)
    new = _mp4meta.encode(buf, root)
    last = body[-1] if body else None
    has_udta = (last is not None and last.type == b"udta" and last.end == room_at
                and last.header_size == 8)
    cut = (last.offset if has_udta and last is not None else room_at) - moov.offset
    keep_end = room_at - moov.offset  # bytes of the old moov the new one must repeat up to cut
    if inner is not None:
        if new[len(new) - inner.size:] != data[keep_end:]:
            return None  # the inner free box was edited: not a patch
        tail = new[cut : len(new) - inner.size]
    else:
        tail = new[cut:]
    # Only the trailing udta may change (bytes 0-3, moov's size, always do).
    if new[4:cut] != data[4:cut] or len(tail) < 8 or tail[4:8] != b"udta":
        return None
    if struct.unpack(">I", tail[:4])[0] != len(tail):
        return None
    append = None
    if room is None:
        room = len(tail) + (8 if has_udta else 0) + mp4.MOOV_PADDING
        if moov.size + room > _U32:
            return None
        append = (src.size, _box_header(room, b"free") + bytes(room - 8))
        grow = [(moov.offset, struct.pack(">I", moov.size + room))]
    try:
        if has_udta:
            rest = room - 8 - len(tail)
            if rest < 0 or 0 < rest < 8:
                return None
            prepare = [*grow, (room_at + 8, tail)]
            if rest:
                prepare.append((room_at + 8 + len(tail), _box_header(rest, b"free")))
            old_size = keep_end - cut
            at = moov.offset + cut
            return PatchPlan(
                prepare=tuple(prepare),
                switch=(at, _box_header(old_size + 8, b"free")),
                cleanup=((at + 8, bytes(old_size - 8)),) if old_size > 8 else (),
                carrier=mp4.CARRIER,
                removed=tuple(removed),
                append=append,
            )
        rest = room - len(tail)
        if rest < 0 or 0 < rest < 8:
            return None
        prepare = [*grow, (room_at + 8, tail[8:])]
        if rest:
            prepare.append((room_at + len(tail), _box_header(rest, b"free")))
        return PatchPlan(prepare=tuple(prepare), switch=(room_at, tail[:8]),
                         carrier=mp4.CARRIER, removed=tuple(removed), append=append)
    except ValueError:  # the switch would cross a sector boundary: rewrite instead
        return None
