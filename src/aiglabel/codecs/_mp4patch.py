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
When ``moov`` is the last box (QuickTime's and ffmpeg's default layout) and has no room, the
``free`` box is first appended at the end of the file (the new udta plus
:data:`mp4.MOOV_PADDING` bytes, then fsync); later updates use the room left inside ``moov``,
and append again when it is used up (the switch then also swallows that inner free box).
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
    # A free child ending moov (left by an earlier patch) is room; so is a top-level free box
    # right after moov, which the first prepare write pulls into moov.
    inner = (children[-1] if children and children[-1].type in _FREE
             and children[-1].header_size == 8 else None)
    body = children[:-1] if inner is not None else children
    end = inner.offset if inner is not None else moov.end  # where moov's real content ends
    data = src.read_metadata(moov.offset, moov.size, "moov box")
    buf = Buffer(data, moov.offset, src.name)
    root = _mp4meta.tree(buf, moov, src.limits, Budget(src.limits))
    removed = tuple(mp4.edit_labels(buf, root, to_json(record), src))
    new = _mp4meta.encode(buf, root)
    last = body[-1] if body else None
    old_udta = (last if last is not None and last.type == b"udta" and last.end == end
                and last.header_size == 8 else None)
    cut = (old_udta.offset if old_udta is not None else end) - moov.offset
    if inner is not None:
        if new[len(new) - inner.size:] != data[end - moov.offset:]:
            return None  # the inner free box was edited: not a patch
        tail = new[cut : len(new) - inner.size]
    else:
        tail = new[cut:]
    # Only the trailing udta may change (bytes 0-3, moov's size, always do).
    if new[4:cut] != data[4:cut] or len(tail) < 8 or tail[4:8] != b"udta":
        return None
    if struct.unpack(">I", tail[:4])[0] != len(tail):
        return None
    rooms: list[tuple[int, int, tuple[int, bytes] | None]] = []  # (at, size, appended box)
    index = lay.top.index(moov)
    if inner is not None:
        rooms.append((inner.offset, inner.size, None))
    elif index + 1 < len(lay.top):
        free = lay.top[index + 1]
        if free.type in _FREE and free.header_size == 8:
            rooms.append((moov.end, free.size, None))
    if moov.end == src.size:  # moov last: a free box can be appended (after an inner one)
        size = len(tail) + (8 if old_udta is not None else 0) + mp4.MOOV_PADDING
        rooms.append((moov.end, size, (src.size, _box_header(size, b"free") + bytes(size - 8))))
    for room_at, room, append in rooms:
        grow = room_at + room - moov.end  # bytes moov must take in after its current end
        if grow and moov.size + grow > _U32:
            continue
        prepare = [(moov.offset, struct.pack(">I", moov.size + grow))] if grow else []
        try:
            plan = _swallow(moov.offset + cut, old_udta is not None, tail, room_at, room,
                            prepare)
        except ValueError:  # the switch would cross a sector boundary
            continue
        if plan is not None:
            return PatchPlan(plan.prepare, plan.switch, plan.cleanup, mp4.CARRIER, removed,
                             append)
    return None


def _swallow(at: int, has_udta: bool, tail: bytes, room_at: int, room: int,
             prepare: list[tuple[int, bytes]]) -> PatchPlan | None:
    """The writes that put ``tail`` (the new udta) into the free box at ``room_at``.

    With an old udta at ``at``, the new one goes after the free box's header and the switch
    turns the old udta's header into a free header reaching it (swallowing the old udta, any
    free box between and the room's header); otherwise the room's own header becomes the
    udta's. The rest of the room stays a free box.
    """
    if has_udta:
        rest = room - 8 - len(tail)
        if rest < 0 or 0 < rest < 8:
            return None
        prepare.append((room_at + 8, tail))
        if rest:
            prepare.append((room_at + 8 + len(tail), _box_header(rest, b"free")))
        swallowed = room_at + 8 - at
        return PatchPlan(prepare=tuple(prepare), switch=(at, _box_header(swallowed, b"free")),
                         cleanup=((at + 8, bytes(swallowed - 16)),) if swallowed > 16 else ())
    rest = room - len(tail)
    if rest < 0 or 0 < rest < 8:
        return None
    prepare.append((room_at + 8, tail[8:]))
    if rest:
        prepare.append((room_at + len(tail), _box_header(rest, b"free")))
    return PatchPlan(prepare=tuple(prepare), switch=(room_at, tail[:8]))
