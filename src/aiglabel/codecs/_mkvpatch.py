"""Crash-safe in-place Matroska label updates through a Void inside the Tags element.

The Tags element keeps its offset and size, so the SeekHead entries and the Segment size stay
valid; only bytes inside it change. Two layouts qualify (``kids`` are the Tags children;
offsets are relative to the Tags data, as :class:`~aiglabel.codecs.mkv.TagsBlock` gives
them)::

    labelled  [Tag(old label)] [Void V]            (what the writer leaves: TAGS_PADDING)
    prepare   inside V's data: Tag(new), Void(rest)                    (not yet reachable)
    switch    Tag(old) header -> Void header covering the old Tag and V's header
              -> [Void] [Tag(new)] [Void(rest)]                                (new label)
    cleanup   zero the old Tag's bytes after the new Void header

    unlabelled [Void V] with room for a new global Tag
    prepare   V's data from where the Tag header will end: Tag payload, Void(rest)
    switch    V's header -> the Tag's header (widened to cover V's header bytes)

The Tag header's size field is widened when needed (EBML allows non-minimal widths), so the
switch is one write of at most 10 bytes. A Tags element with a CRC-32 (any change makes it
stale), a Segment-level CRC-32, labels in several places or Tags, and layouts without room
are rewritten through a temporary file instead. See :mod:`aiglabel._patch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiglabel._patch import PatchPlan
from aiglabel.codecs import _ebml
from aiglabel.codecs.mkv import CARRIER, TAG, TARGETS, rebuild_tag

if TYPE_CHECKING:
    from aiglabel.codecs._ebml import Element
    from aiglabel.codecs.mkv import Layout, TagsBlock

__all__ = ["plan_tags_patch"]


def plan_tags_patch(layout: Layout, blocks: list[TagsBlock], insert: bytes) -> PatchPlan | None:
    """The patch that puts the SimpleTag ``insert`` in place of the file's label, or ``None``
    when the layout does not allow a crash-safe in-place update (see the module docstring)."""
    if layout.children and layout.children[0].id == _ebml.CRC32:
        return None  # a CRC-32 over the whole Segment
    labelled = [b for b in blocks if b.has_label()]
    if len(labelled) > 1:
        return None
    block = labelled[0] if labelled else (blocks[0] if blocks else None)
    if block is None or any(c.id == _ebml.CRC32 for c in block.children):
        return None
    try:
        if labelled:
            return _replace(block, insert)
        return _insert(block, insert)
    except ValueError:  # the switch would cross a sector boundary
        return None


def _replace(block: TagsBlock, insert: bytes) -> PatchPlan | None:
    hosts = [t for t in block.tags if t.labels()]
    if len(hosts) != 1 or len(hosts[0].labels()) != 1:
        return None
    host = hosts[0]
    kids = block.children
    i = kids.index(host.element)
    if i + 1 >= len(kids) or kids[i + 1].id != _ebml.VOID:
        return None
    pad = kids[i + 1]
    payload = rebuild_tag(block, host, insert)
    laid = _ebml.fill([(TAG, payload)], pad.end - pad.data_offset) if payload else None
    if laid is None:
        return None
    base = block.element.data_offset
    span = pad.data_offset - host.element.offset  # the old Tag and V's header
    header = _ebml.void_header(span)
    return PatchPlan(
        prepare=((base + pad.data_offset, laid),),
        switch=(base + host.element.offset, header),
        cleanup=((base + host.element.offset + len(header), bytes(span - len(header))),),
        carrier=CARRIER,
    )


def _insert(block: TagsBlock, insert: bytes) -> PatchPlan | None:
    payload = _ebml.element(TARGETS, b"") + insert
    base = block.element.data_offset
    for pad in block.children:
        if pad.id != _ebml.VOID:
            continue
        tag = _tag_over(pad, payload)
        if tag is None:
            continue
        head = len(tag) - len(payload)
        return PatchPlan(prepare=((base + pad.offset + head, tag[head:]),),
                         switch=(base + pad.offset, tag[:head]), carrier=CARRIER)
    return None


def _tag_over(pad: Element, payload: bytes) -> bytes | None:
    """A Tag element with ``payload`` plus a Void for the rest, exactly ``pad.span`` bytes,
    whose header is at least as long as ``pad``'s (so preparing never touches it)."""
    minimal = len(_ebml.encode_size(len(payload)))
    for width in range(max(minimal, pad.header_size - 2), _ebml.MAX_SIZE_LENGTH + 1):
        tag = _ebml.element(TAG, payload, width)
        gap = pad.span - len(tag)
        if gap == 0:
            return tag
        if gap >= 2:
            return tag + _ebml.void(gap)
    return None
