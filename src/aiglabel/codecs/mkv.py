"""Matroska / WebM codec.

Spec: RFC 9559 (Matroska) https://www.rfc-editor.org/rfc/rfc9559 , its tagging annex
https://www.matroska.org/technical/tagging.html ; RFC 8794 (EBML, see :mod:`._ebml`);
WebM https://www.webmproject.org/docs/container/ (a Matroska subset, DocType ``webm``).
GB carrier (TC260-PG-20257A, rules §C.2, [M]): ``Segment/Tags/Tag/SimpleTag`` with
``TagName`` = ``AIGC`` and ``TagString`` = the bare JSON, in a global Tag (``Targets`` without
UIDs, TargetTypeValue 50 or absent, no TargetType string: ffmpeg shows it as ``AIGC``).
Also reads: an AIGC SimpleTag in a Tag of any Targets level (track, chapter, attachment
UIDs), TagName in any case, ``TagBinary`` values. Writing moves such a label to the global
Tag (GB 6.1 c): one label per file).

Layout::

    EBML header (0x1A45DFA3: DocType "matroska" | "webm")
    Segment (0x18538067; known or unknown size)
      SeekHead (0x114D9B74) > Seek (0x4DBB) > SeekID (0x53AB), SeekPosition (0x53AC)
      Info, Tracks, Chapters, Attachments, Tags (0x1254C367), Cues, Void (0xEC) ...
      Cluster (0x1F43B675) ... (may have an unknown size)
    Tags > Tag (0x7373) > Targets (0x63C0), SimpleTag (0x67C8) > TagName (0x45A3),
                                           TagString (0x4487) | TagBinary (0x4485)

SeekPosition and CueClusterPosition are offsets from the Segment's data start, so bytes may
never move between that start and the last Cluster without rewriting the SeekHead and every
Cue. **The writer never moves an existing element** (only the Segment header's size field
may widen, which moves nothing relative to the data start). It rewrites the Tags element
where it is when the new one fits there or in the Void elements that follow it, or when it is
the last element of the Segment; otherwise it turns the old Tags into a Void of the same
length and places the new Tags in a Void run before the first Cluster (together with a
rewritten SeekHead when the run follows the SeekHead), else appends it at the end of the
Segment. The Segment size (when known) and the SeekHead's Tags entry are updated; a SeekHead
without room for a new entry keeps its old entries minus the one that would point at a Void.
CRC-32 elements of rewritten masters are recomputed; a CRC-32 of the whole Segment is
replaced by a Void. Other Tags elements lose only their AIGC SimpleTags (padded with a Void).
The labelled Tags gets a Void of :data:`TAGS_PADDING` bytes right after the labelled Tag and no
CRC-32, when that fits where it goes [project choice]: later updates then patch it in place,
crash-safe, without moving the Tags (:mod:`._mkvpatch`). Planning lives in :mod:`._mkvwrite`.

Reading walks the Segment's top-level element headers, seeking over every payload (Clusters
included; an unknown-size Cluster is crossed by its block headers), and reads only the
EBML header, SeekHead, Info and Tags payloads; so a Tags element at the end is found with or
without a SeekHead entry.
Essence: the Tracks element and every Cluster element (header and data), in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _ebml
from aiglabel.codecs._ebml import Budget, Element
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiglabel._patch import PatchPlan

# RFC 9559 element ids (marker bits kept).
SEGMENT, SEEKHEAD, SEEK, SEEK_ID, SEEK_POSITION = 0x18538067, 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
INFO, TRACKS, CLUSTER, CUES = 0x1549A966, 0x1654AE6B, 0x1F43B675, 0x1C53BB6B
CHAPTERS, ATTACHMENTS = 0x1043A770, 0x1941A469
TAGS, TAG, TARGETS, SIMPLE_TAG = 0x1254C367, 0x7373, 0x63C0, 0x67C8
TAG_NAME, TAG_STRING, TAG_BINARY = 0x45A3, 0x4487, 0x4485
TARGET_TYPE_VALUE, TARGET_TYPE = 0x68CA, 0x63CA
TAG_UIDS = {0x63C5: "track", 0x63C9: "edition", 0x63C4: "chapter", 0x63C6: "attachment"}
TITLE = 0x7BA9
DOC_TYPE = 0x4282
DOC_TYPES = ("matroska", "webm")
# Ids that end an unknown-size Cluster (RFC 8794 §6.2: an element that is not its child).
_LEVEL1 = frozenset({SEEKHEAD, INFO, TRACKS, CLUSTER, CUES, CHAPTERS, ATTACHMENTS, TAGS,
                     SEGMENT, _ebml.EBML})
CARRIER = "mkv:SimpleTag:AIGC"
TAGS_PADDING = 1024  # Void after the labelled Tag: room for in-place updates [project choice]
_TAGS_ID = _ebml.encode_id(TAGS)


@dataclass(frozen=True, slots=True)
class Layout:
    """The EBML header's DocType, the Segment and its top-level elements (sizes resolved)."""

    doctype: str
    segment: Element
    children: tuple[Element, ...]

    def rel(self, offset: int) -> int:
        """A file offset as a SeekPosition (relative to the Segment's data start)."""
        return offset - self.segment.data_offset

    def first_cluster(self) -> int:
        """Index of the first Cluster (``len(children)`` when there is none)."""
        return next((i for i, c in enumerate(self.children) if c.id == CLUSTER),
                    len(self.children))


def read_doctype(src: Source, budget: Budget) -> tuple[str, Element]:
    """Parse the EBML header; return its DocType and the header element.

    Raises:
        CorruptFileError: no EBML header, or a damaged one.
    """
    head = _ebml.read_header(src, 0, src.size)
    if head.id != _ebml.EBML or head.unknown:
        msg = "not an EBML file (no EBML header)"
        raise CorruptFileError(msg, path=src.name)
    data = src.read_metadata(head.data_offset, head.size, "EBML header")
    doctype = ""
    for el in _ebml.parse_children(data, 0, len(data), budget, base=head.data_offset):
        if el.id == DOC_TYPE:
            doctype = _ebml.read_string(data[el.data_offset : el.end])
    return doctype, head


def read_layout(src: Source, budget: Budget | None = None) -> Layout:
    """Walk the EBML header and the Segment's top-level element headers.

    Raises:
        CorruptFileError: not Matroska/WebM, damaged or truncated element headers.
        LimitExceededError: too many elements.
    """
    budget = budget or Budget.of(src)
    doctype, head = read_doctype(src, budget)
    pos = head.end
    while True:  # Void elements may precede the Segment
        seg = _ebml.read_header(src, pos, src.size)
        budget.tick()
        if seg.id != _ebml.VOID:
            break
        pos = seg.end
    if seg.id != SEGMENT:
        msg = f"expected a Segment at byte {pos}, found element {seg.id:#x}"
        raise CorruptFileError(msg, path=src.name)
    children: list[Element] = []
    pos = seg.data_offset
    while pos < seg.end:
        el = _ebml.read_header(src, pos, seg.end)
        budget.tick()
        if el.unknown:
            if el.id != CLUSTER:
                msg = f"element {el.id:#x} at byte {pos} has an unknown size"
                raise CorruptFileError(msg, path=src.name)
            el = _cluster_end(src, el, seg.end, budget)
        children.append(el)
        pos = el.end
    return Layout(doctype, seg, tuple(children))


def _cluster_end(src: Source, cluster: Element, end: int, budget: Budget) -> Element:
    """Resolve an unknown-size Cluster: it ends at the first top-level id (block headers only)."""
    pos = cluster.data_offset
    while pos < end:
        child = _ebml.read_header(src, pos, end)
        if child.id in _LEVEL1:
            break
        if child.unknown:
            msg = f"element {child.id:#x} at byte {pos} in a Cluster has an unknown size"
            raise CorruptFileError(msg, path=src.name)
        budget.tick()
        pos = child.end
    return Element(CLUSTER, cluster.offset, cluster.header_size, pos - cluster.data_offset,
                   True, cluster.size_width)


# --- Tags ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimpleTag:
    """A SimpleTag child of a Tag: its element (offsets index the Tags payload) and values."""

    element: Element
    name: str
    value: bytes
    binary: bool


@dataclass(frozen=True, slots=True)
class Tag:
    """A Tag: its element and children (offsets index the Tags payload), parsed SimpleTags,
    and the Targets scope (``"global"`` or a UID kind such as ``"track"``)."""

    element: Element
    children: tuple[Element, ...]
    simple: tuple[SimpleTag, ...]
    scope: str
    plain_global: bool  # global and no TargetType string / other TargetTypeValue

    def labels(self) -> list[SimpleTag]:
        return [s for s in self.simple if is_aigc(s.name)]


@dataclass(frozen=True, slots=True)
class TagsBlock:
    """A Tags element, its payload and parsed children."""

    element: Element
    payload: bytes
    children: tuple[Element, ...]
    tags: tuple[Tag, ...]

    def has_label(self) -> bool:
        return any(t.labels() for t in self.tags)


def is_aigc(name: str) -> bool:
    """TagName ``AIGC`` (Annex E a); any case is read (rules §H)."""
    return name.strip().upper() == "AIGC"


def read_tags(src: Source, el: Element, budget: Budget) -> TagsBlock:
    """Read and parse one Tags element.

    Raises:
        CorruptFileError: damaged children.
        LimitExceededError: too large or too many elements.
    """
    payload = src.read_metadata(el.data_offset, el.size, "Tags element")
    base = el.data_offset
    children = _ebml.parse_children(payload, 0, len(payload), budget, base=base)
    tags = tuple(_parse_tag(payload, c, budget, base) for c in children if c.id == TAG)
    return TagsBlock(el, payload, tuple(children), tags)


def _parse_tag(payload: bytes, el: Element, budget: Budget, base: int) -> Tag:
    children = _ebml.parse_children(payload, el.data_offset, el.end, budget, base=base)
    scope, plain = "global", True
    simple: list[SimpleTag] = []
    for c in children:
        if c.id == TARGETS:
            for t, data in _ebml.leaves(payload, c, budget, base=base):
                if t.id in TAG_UIDS and _ebml.read_uint(data):
                    scope, plain = TAG_UIDS[t.id], False
                # A TargetType string makes FFmpeg prefix the key ("MOVIE/AIGC").
                plain = plain and not (t.id == TARGET_TYPE and data.strip(b"\x00"))
                plain = plain and not (t.id == TARGET_TYPE_VALUE and _ebml.read_uint(data) != 50)
        elif c.id == SIMPLE_TAG:
            fields = {f.id: data for f, data in _ebml.leaves(payload, c, budget, base=base)}
            binary = TAG_STRING not in fields and TAG_BINARY in fields
            value = fields.get(TAG_STRING, fields.get(TAG_BINARY, b""))
            simple.append(SimpleTag(c, _ebml.read_string(fields.get(TAG_NAME, b"")), value,
                                    binary))
    return Tag(el, tuple(children), tuple(simple), scope, plain)


def simple_tag(label_json: str) -> bytes:
    """The SimpleTag this codec writes: TagName ``AIGC``, TagString = the JSON (UTF-8)."""
    return _ebml.element(SIMPLE_TAG, _ebml.element(TAG_NAME, b"AIGC")
                         + _ebml.element(TAG_STRING, label_json.encode("utf-8")))


def rebuild_tag(block: TagsBlock, tag: Tag, insert: bytes | None) -> bytes | None:
    """A Tag's payload without AIGC SimpleTags, the first one replaced by ``insert`` (or
    ``insert`` appended); ``None`` when no SimpleTag would be left (a Tag needs one)."""
    labels = {s.element for s in tag.labels()}
    out: list[bytes] = []
    for c in tag.children:
        if c in labels and insert is not None:
            out.append(insert)
            insert = None
        elif c not in labels and c.id != _ebml.CRC32:
            out.append(block.payload[c.offset : c.end])
    out += [insert] if insert is not None else []
    crc = any(c.id == _ebml.CRC32 for c in tag.children)
    left = len(out) - sum(c.id not in (SIMPLE_TAG, _ebml.CRC32) for c in tag.children)
    return _ebml.master(out, crc=crc) if left else None


def rebuild_tags(block: TagsBlock | None, insert: bytes | None, *, padding: int = 0) -> bytes:
    """A Tags payload with every AIGC SimpleTag removed and ``insert`` (a SimpleTag) added to
    the global Tag that held the label, else the first plain global Tag, else a new Tag with
    empty Targets at the end. Other bytes are kept as they are; CRC-32 is recomputed.
    ``b""`` means no Tag is left.

    With ``padding`` (and ``insert``), a Void of that many bytes follows the labelled Tag --
    room for crash-safe in-place updates (:mod:`._mkvpatch`) -- old Voids are dropped, and
    the Tags gets no CRC-32, which such an update would make stale."""
    if not insert:
        padding = 0
    pad = [_ebml.void(padding)] if padding else []
    if block is None:
        if not insert:
            return b""
        return _ebml.element(TAG, _ebml.element(TARGETS, b"") + insert) + b"".join(pad)
    plain = [t for t in block.tags if t.plain_global]
    host = next((t for t in plain if t.labels()), plain[0] if plain else None) if insert else None
    out: list[bytes] = []
    by_element = {t.element: t for t in block.tags}
    for c in block.children:
        tag = by_element.get(c)
        if c.id == _ebml.CRC32 or (padding and c.id == _ebml.VOID):
            continue
        if tag is None or (tag is not host and not tag.labels()):
            out.append(block.payload[c.offset : c.end])
        elif payload := rebuild_tag(block, tag, insert if tag is host else None):
            out.append(_ebml.element(TAG, payload))
            out += pad if tag is host else []
    if insert is not None and host is None:
        out += [_ebml.element(TAG, _ebml.element(TARGETS, b"") + insert), *pad]
    crc = not padding and any(c.id == _ebml.CRC32 for c in block.children)
    return _ebml.master(out, crc=crc) if out else b""


# --- SeekHead ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeekHead:
    """A SeekHead's payload, children and ``(child, SeekID, SeekPosition)`` entries."""

    payload: bytes
    children: tuple[Element, ...]
    entries: tuple[tuple[Element, bytes, int | None], ...]


def read_seekhead(src: Source, el: Element, budget: Budget) -> SeekHead:
    """Read and parse one SeekHead element.

    Raises:
        CorruptFileError: damaged children.
    """
    payload = src.read_metadata(el.data_offset, el.size, "SeekHead element")
    base = el.data_offset
    children = _ebml.parse_children(payload, 0, len(payload), budget, base=base)
    entries: list[tuple[Element, bytes, int | None]] = []
    for c in (c for c in children if c.id == SEEK):
        fields = {f.id: data for f, data in _ebml.leaves(payload, c, budget, base=base)}
        pos = fields.get(SEEK_POSITION)
        entries.append((c, fields.get(SEEK_ID, b""), None if pos is None else _ebml.read_uint(pos)))
    return SeekHead(payload, tuple(children), tuple(entries))


# --- the codec -----------------------------------------------------------------------------


@register
class MkvCodec(CodecBase):
    """Matroska and WebM: ``AIGC`` SimpleTag in a global Tag."""

    name = "mkv"
    description = "Matroska / WebM video (EBML)"
    mimes = ("video/x-matroska", "video/webm", "audio/x-matroska", "audio/webm")
    extensions = (".mkv", ".webm", ".mka", ".mk3d")
    carriers = (
        CarrierInfo(CARRIER, "write",
                    "Segment/Tags/Tag/SimpleTag TagName AIGC, TagString (20257A); any Targets"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        return Confidence.STRONG if head.startswith(b"\x1a\x45\xdf\xa3") else Confidence.NO

    def confirm(self, src: Source) -> Confidence:
        """STRONG for DocType ``matroska``/``webm``; other EBML formats are not this codec.
        A header too damaged to read stays WEAK, so reads report the damage."""
        if self.sniff(src.head) is Confidence.NO:
            return Confidence.NO
        try:
            with parse_errors(src.name, "EBML"):
                doctype, _ = read_doctype(src, Budget.of(src))
        except (CorruptFileError, LimitExceededError):
            return Confidence.WEAK
        return Confidence.STRONG if doctype in DOC_TYPES else Confidence.NO

    def _blocks(self, src: Source) -> tuple[Layout, list[TagsBlock], Budget]:
        budget = Budget.of(src)
        layout = read_layout(src, budget)
        if layout.doctype not in DOC_TYPES:
            msg = f"EBML DocType {layout.doctype!r} is not Matroska or WebM"
            raise CorruptFileError(msg, path=src.name)
        blocks = [read_tags(src, el, budget) for el in layout.children if el.id == TAGS]
        return layout, blocks, budget

    def read_labels(self, src: Source) -> list[FoundLabel]:
        _, blocks, _ = self._blocks(src)
        out: list[FoundLabel] = []
        for block, tag, st in ((b, t, s) for b in blocks for t in b.tags for s in t.labels()):
            carrier = f"mkv:SimpleTag:{st.name}"
            found = FoundLabel.from_text(carrier, st.value.rstrip(b"\x00"),
                                         offset=block.element.data_offset + st.element.offset)
            extra = [Finding("G3.carrier", Severity.INFO,
                             f"label in a Tag targeted at a {tag.scope}, not a global Tag",
                             carrier)] if tag.scope != "global" else []
            if st.binary:
                extra.append(Finding("G5.carrier", Severity.WARNING,
                                     "label stored as TagBinary, not TagString", carrier))
            out.append(FoundLabel(found.carrier, found.form, found.record, found.raw,
                                  (*found.findings, *extra), found.offset))
        return out

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        layout, blocks, budget = self._blocks(src)
        kid = {el.offset: k for k, el in enumerate(layout.children)}
        labelled = [b for b in blocks if b.has_label()]
        primary = labelled[0] if labelled else (blocks[0] if blocks else None)
        insert = simple_tag(to_json(record))
        from aiglabel.codecs._mkvwrite import Writer

        writer = Writer(src, layout, budget)
        removed: list[str] = []
        for block in blocks:
            names = [f"mkv:SimpleTag:{s.name}" for t in block.tags for s in t.labels()]
            if block is primary:
                removed.extend(names[1:])
                continue
            if names:
                removed.extend(names)
                writer.shrink(kid[block.element.offset], rebuild_tags(block, None))
        payloads = (rebuild_tags(primary, insert, padding=TAGS_PADDING),
                    rebuild_tags(primary, insert))
        if primary is None or primary.payload not in payloads:
            where = None if primary is None else kid[primary.element.offset]
            writer.place(where, payloads)
        writer.fix_seekheads()
        return writer.plan(CARRIER, removed)

    def plan_patch(self, src: Source, record: AIGCRecord) -> PatchPlan | None:
        """Crash-safe in-place update through the Void the writer leaves after the labelled
        Tag (:mod:`aiglabel.codecs._mkvpatch`); ``None`` when the layout has no room."""
        from aiglabel.codecs._mkvpatch import plan_tags_patch

        layout, blocks, _ = self._blocks(src)
        return plan_tags_patch(layout, blocks, simple_tag(to_json(record)))

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        for el in read_layout(src).children:
            if el.id in (TRACKS, CLUSTER):
                yield Span(el.offset, el.span)

    def metadata(self, src: Source) -> list[MetadataItem]:
        """The Info ``Title`` (carrier ``mkv:Info``) and every SimpleTag of a global Tag that
        is not a label (``mkv:SimpleTag``, key = TagName; nested ones ``PARENT/CHILD``). The
        muxer names (MuxingApp/WritingApp, present in every file) and track, chapter and
        attachment tags (stream statistics) are not exposed. Damage ends the walk with what
        was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "Matroska"):
                budget = Budget.of(src)
                layout = read_layout(src, budget)
                for el in layout.children:
                    if out.full:
                        break
                    if el.id == INFO:
                        self._info(src, el, budget, out)
                    elif el.id == TAGS:
                        block = read_tags(src, el, budget)
                        for tag in (t for t in block.tags if t.scope == "global"):
                            for st in tag.simple:
                                _simple_items(block.payload, st.element, "", budget, 1, out,
                                              block.element.data_offset)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    @staticmethod
    def _info(src: Source, el: Element, budget: Budget, out: Collector) -> None:
        data = src.read_metadata(el.data_offset, el.size, "Info element")
        for c in _ebml.parse_children(data, 0, len(data), budget, base=el.data_offset):
            if c.id == TITLE:
                out.add("mkv:Info", "Title", _ebml.read_string(data[c.data_offset : c.end]),
                        el.offset)

    def container_findings(self, src: Source) -> list[Finding]:
        layout, blocks, budget = self._blocks(src)
        tags_at = {layout.rel(b.element.offset): b for b in blocks}
        listed = {pos for el in layout.children if el.id == SEEKHEAD
                  for _, sid, pos in read_seekhead(src, el, budget).entries if sid == _TAGS_ID}
        out = [Finding("G5.carrier", Severity.WARNING,
                       f"SeekHead lists Tags at {pos}, where there is none")
               for pos in sorted(p for p in listed if p is not None and p not in tags_at)]
        cluster = layout.first_cluster()
        first = layout.children[cluster].offset if cluster < len(layout.children) else None
        for pos, block in tags_at.items():
            carrier = CARRIER if block.has_label() else None
            if _bad_crc(block):
                severity = Severity.ERROR if carrier else Severity.WARNING
                out.append(Finding("G5.carrier", severity,
                                   f"CRC-32 mismatch in the Tags element at {pos}", carrier))
            if carrier and first is not None and block.element.offset > first \
                    and pos not in listed:
                out.append(Finding("G5.carrier", Severity.WARNING,
                                   "labelled Tags after the Clusters is not in the SeekHead; "
                                   "players that stop at the first Cluster miss it", carrier))
        if layout.segment.end < src.size:
            out.append(Finding("G5.carrier", Severity.WARNING,
                               f"{src.size - layout.segment.end} bytes after the Segment"))
        return out


def _bad_crc(block: TagsBlock) -> bool:
    """True when the Tags element or one of its Tags carries a CRC-32 that does not match."""
    return _ebml.crc_mismatch(block.payload, block.children, len(block.payload)) or any(
        _ebml.crc_mismatch(block.payload, t.children, t.element.end) for t in block.tags)


def _simple_items(payload: bytes, el: Element, prefix: str, budget: Budget, depth: int,
                  out: Collector, base: int) -> None:
    """Add a SimpleTag (not a label) and its nested SimpleTags, ``max_depth`` deep."""
    budget.enter(depth)
    name, value = prefix, ""
    nested: list[Element] = []
    for f, data in _ebml.leaves(payload, el, budget, base=base):
        if f.id == TAG_NAME:
            name = "/".join(filter(None, (prefix, _ebml.read_string(data))))
        elif f.id == TAG_STRING:
            value = _ebml.read_string(data)
        elif f.id == SIMPLE_TAG:
            nested.append(f)
    if name and not is_aigc(name.rsplit("/", 1)[-1]):
        out.add("mkv:SimpleTag", name, value, base + el.offset)
    for child in nested:
        _simple_items(payload, child, name, budget, depth + 1, out, base)
