"""Markdown codec: the ``AIGC`` mapping in YAML front matter.

Spec: CommonMark (https://spec.commonmark.org/) has no metadata; front matter is the common
convention of Jekyll, Hugo, Pandoc and most Markdown tools: a YAML document
(YAML 1.2.2, https://yaml.org/spec/1.2.2/) between a ``---`` line at the very top of the file
and the next ``---`` or ``...`` line.
GB carrier (TC260-PG-20258A §6.5, rules §C.4 [M/H]): the top-level key ``AIGC`` whose value is a
block mapping of the seven Annex E keys, every value double-quoted [project choice, so ``"1"``
stays a string and ids keep leading zeros]; carrier id ``markdown:frontmatter:AIGC``, form bare.
Also reads (rules §H 14): any indentation; values double-quoted, single-quoted or plain
(plain scalars YAML types as numbers, booleans, dates or null are kept as written and reported,
rules §G 13); block scalars; the one-line flow form ``AIGC: {"Label": "1", ...}``; a JSON string
``AIGC: '{...}'`` (bare or wrapped); the key in another letter case (``aigc:``; YAML keys are
case-sensitive, so it is a tolerated carrier of its own, ``markdown:frontmatter:aigc``).

Writing (rules §B.10, §C.4): with front matter, only the ``AIGC`` entry changes: the first one
(the exact spelling preferred) is replaced in place by the block mapping, every other ``AIGC``
entry is removed, and when there is none the block is added just before the closing line; every
other byte stays identical. Without front matter a whole block is inserted at byte 0 (after a
UTF-8 BOM). The block uses the front matter's newline (CRLF files stay CRLF). A front matter that
is not closed is refused (:class:`CorruptFileError`): writing would create a second one.

Identification by bytes: STRONG when a ``---`` front matter opens the file and closes within
the head; WEAK for an unclosed one, and for UTF-8 text with Markdown block syntax (heading,
quote, bullet, fence, rule, table row, link) in its first 4 KiB, a claim :meth:`confirm`
withdraws for a file named as another text format (``.txt``, ``.py``...; rules §C.5 refuses
implicit writes to plain text).

Only the head is read: the front matter must close within ``Limits.max_metadata`` bytes.
Essence: every byte after the front matter's closing line (after the BOM when there is no front
matter). The front matter's other keys are metadata (:meth:`MarkdownCodec.metadata`).
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs._meta import Collector
from aiglabel.codecs._yaml import (
    Scalar,
    is_item,
    parse_value,
    split_key,
    to_json_text,
    typed_findings,
)
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGC_KEY, AIGCRecord, is_json, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["FrontMatter", "MarkdownCodec", "label_block", "read_front_matter"]

CARRIER = "markdown:frontmatter:AIGC"
CASE_CARRIER = "markdown:frontmatter:aigc"
META_CARRIER = "markdown:frontmatter"
BOM = codecs.BOM_UTF8
INDENT = "  "  # rules §C.4: the children of AIGC: two spaces, as the guide's example
SNIFF_WINDOW = 4096
_OPENER = re.compile(rb"---[ \t]*(\r?\n)")
_CLOSE = re.compile(rb"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.M)
# Block-level Markdown at a line start (ATX heading, quote, bullet, fence, rule or setext line,
# table row) or a link anywhere; every pattern contains one of the SCREENS substrings.
_SIGNAL = re.compile(rb"^(?:#{1,6}(?:[ \t]|\r?$)|>|[-*] |```|---|\|)|\]\(", re.M)
# Names whose format is not Markdown: a front matter would change what such a file means, and
# rules §C.5 refuses implicit writes to plain text. A WEAK claim on them is withdrawn.
_OTHER_TEXT = frozenset(
    ".txt .text .log .csv .tsv .json .jsonl .yaml .yml .toml .ini .cfg .conf .xml .svg .css "
    ".py .js .mjs .ts .sh .bash .ps1 .bat .c .h .cc .cpp .hpp .java .kt .go .rs .rb .pl .php "
    ".sql .r .tex .srt .vtt .po .properties".split())

# --- the front matter ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One front matter line: ``[offset, end)`` in the file (newline included), its text
    without the line ending."""

    offset: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Entry:
    """A top-level ``key: value`` of the front matter with its continuation lines (trailing
    blank and column-0 comment lines excluded)."""

    key: str
    rest: str
    lines: tuple[Line, ...]

    @property
    def start(self) -> int:
        """Offset of the key line."""
        return self.lines[0].offset

    @property
    def end(self) -> int:
        """Offset after the entry's last line."""
        return self.lines[-1].end

    @property
    def is_label(self) -> bool:
        """An ``AIGC`` key, in any letter case (Annex E a): the key names AIGC)."""
        return self.key.lower() == "aigc"

    @property
    def carrier(self) -> str:
        """The carrier id: the guide's spelling, or the tolerated case variant."""
        return CARRIER if self.key == AIGC_KEY else CASE_CARRIER


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """The file's layout: BOM length, newline, and the front matter when the file has one.

    Attributes:
        bom: 3 after a UTF-8 BOM, else 0.
        nl: the newline of the opening line (or of the first line without front matter).
        opened: the file starts with a ``---`` line.
        close: offset of the closing ``---``/``...`` line, ``None`` when there is none.
        end: offset after the closing line: where the essence starts.
        lines: the lines between the opening and the closing line (to the end when unclosed).
    """

    bom: int
    nl: bytes
    opened: bool
    close: int | None
    end: int
    lines: tuple[Line, ...]

    def entries(self) -> list[Entry]:
        """The top-level entries, in file order."""
        out: list[Entry] = []
        key: tuple[str, str] | None = None
        group: list[Line] = []
        for line in (*self.lines, None):
            text = line.text if line is not None else ""
            top = line is None or (text[:1] not in ("", " ", "\t", "#") and not is_item(text))
            split = split_key(text) if top and line is not None else None
            if line is None or split is not None:
                while group and (not group[-1].text.strip() or group[-1].text.startswith("#")):
                    group.pop()  # blank and comment lines after an entry belong to no entry
                if key is not None and group:
                    out.append(Entry(key[0], key[1], tuple(group)))
                key, group = split, []
            if line is not None and key is not None:
                group.append(line)
        return out


def read_front_matter(src: Source, *, for_write: bool = False) -> FrontMatter:
    """Find the front matter at the head of ``src`` (rules §C.4: it must open the file).

    Raises:
        CorruptFileError: the front matter is not UTF-8 (nor the head, ``for_write``).
        LimitExceededError: the front matter does not close within ``Limits.max_metadata``
            bytes, or has more than ``Limits.max_items`` lines.
    """
    head = src.head
    bom = len(BOM) if head.startswith(BOM) else 0
    opener = _OPENER.match(head, bom)
    if opener is None:
        if for_write:  # a UTF-8 front matter must not go on top of other text
            _check_utf8(src, head[bom:], bom, final=len(head) == src.size)
        first = head.find(b"\n")
        nl = b"\r\n" if first > 0 and head[first - 1] == 0x0D else b"\n"
        return FrontMatter(bom, nl, False, None, bom, ())
    inner = opener.end()
    data, close = head, _find_close(head, inner, len(head) == src.size)
    if close is None and len(head) < src.size:
        limit = src.limits.max_metadata
        data = src.read_upto(0, min(src.size, limit + 1))
        close = _find_close(data, inner, len(data) == src.size)
        if close is None and src.size > limit:
            msg = f"front matter is not closed within the first {limit} bytes"
            raise LimitExceededError(msg, path=src.name)
    stop = close.start() if close is not None else len(data)
    _check_utf8(src, data[inner:stop], inner, final=True)
    lines: list[Line] = []
    pos = inner
    for raw in data[inner:stop].split(b"\n"):
        if pos >= stop:
            break
        end = min(pos + len(raw) + 1, stop)
        lines.append(Line(pos, end, raw.rstrip(b"\r").decode("utf-8")))
        pos = end
        if len(lines) > src.limits.max_items:
            msg = f"front matter has more than {src.limits.max_items} lines"
            raise LimitExceededError(msg, path=src.name)
    if close is None:
        return FrontMatter(bom, opener.group(1), True, None, bom, tuple(lines))
    return FrontMatter(bom, opener.group(1), True, close.start(), close.end(), tuple(lines))


def _find_close(data: bytes, start: int, at_eof: bool) -> re.Match[bytes] | None:
    # A line cut at the end of a partial read is not a closing line yet.
    endpos = len(data) if at_eof else data.rfind(b"\n") + 1
    return _CLOSE.search(data, start, endpos) if endpos > start else None


def _check_utf8(src: Source, data: bytes, offset: int, *, final: bool) -> None:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
    except UnicodeDecodeError as exc:
        msg = (f"not UTF-8 text (invalid byte at offset {offset + exc.start}); Markdown front "
               "matter is read and written as UTF-8")
        raise CorruptFileError(msg, path=src.name) from None


# --- labels ----------------------------------------------------------------------------------


def _entry_label(entry: Entry, unclosed: bool) -> FoundLabel:
    carrier = entry.carrier
    cont = [line.text for line in entry.lines[1:]]
    head = entry.rest.strip()
    raw = "\n".join([head, *cont]).strip()
    extra: list[Finding] = []
    if entry.key != AIGC_KEY:
        extra.append(Finding("G6.field-case", Severity.WARNING, f"front matter key "
                             f"{entry.key!r}: YAML keys are case-sensitive, the guide writes "
                             "'AIGC'", carrier))
    if unclosed:
        # The front matter never closes: YAML front matter readers see none (rules §C.4).
        extra.append(Finding("G5.carrier", Severity.ERROR, "front matter is not closed by a "
                             "'---' line: the label is not in a readable front matter", carrier))
        return FoundLabel(carrier, None, None, raw, tuple(extra), entry.start)
    style = ("a flow mapping" if head.startswith("{") else "a string"
             if head[:1] in ("'", '"', "|", ">") else None)
    if style is not None:
        extra.append(Finding("G8.yaml-style", Severity.INFO, f"AIGC value is {style}; the text "
                             "guide shows a block mapping", carrier))
    text: str | None = None
    if head.startswith("{") and is_json(raw):
        text = raw  # JSON is YAML: parse_label sees the text as written (order, duplicates)
    else:
        try:
            node = parse_value(entry.rest, cont)
        except ValueError as exc:
            extra.append(Finding("G8.yaml", Severity.ERROR, f"AIGC value is not valid YAML: "
                                 f"{exc}", carrier))
            node = Scalar(raw)
        if isinstance(node, Scalar):
            text = node.text  # a string holding JSON, or a plain value parse_label rejects
        else:
            extra += typed_findings(node, carrier)
            text = to_json_text(node)
    found = FoundLabel.from_text(carrier, text, offset=entry.start)
    return FoundLabel(found.carrier, found.form, found.record, found.raw,
                      (*found.findings, *extra), found.offset)


def label_block(record: AIGCRecord, nl: bytes = b"\n") -> bytes:
    """The ``AIGC:`` block mapping of rules §C.4: seven keys in Annex E order, two-space
    indentation, every value double-quoted, each line ending in ``nl``."""
    # JSON string escapes are YAML double-quoted escapes (YAML 1.2.2 §5.7); a B.5 value
    # needs only \".
    lines = [f"{AIGC_KEY}:"] + [f"{INDENT}{key}: {json.dumps(value)}"
                                for key, value in record.to_dict().items()]
    return b"".join(line.encode("ascii") + nl for line in lines)


# --- the codec -------------------------------------------------------------------------------


def _is_text(sample: bytes, encoding: str = "utf-8") -> bool:
    """Whether ``sample`` (possibly cut inside a character) decodes, with at most 1 %
    control characters (as :func:`aiglabel.verify.text.sniff_text` judges text)."""
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return bool(text) and controls * 100 <= len(text)


def _layout(src: Source) -> FrontMatter | None:
    """:func:`read_front_matter`, or ``None`` when it fails (for the tolerant readers)."""
    try:
        with parse_errors(src.name, "Markdown"):
            return read_front_matter(src)
    except (CorruptFileError, LimitExceededError):
        return None


@register
class MarkdownCodec(CodecBase):
    """Markdown: an ``AIGC:`` block mapping in the YAML front matter."""

    name = "markdown"
    description = "Markdown text with YAML front matter"
    mimes = ("text/markdown",)
    extensions = (".md", ".markdown")
    carriers = (
        CarrierInfo(CARRIER, "write", "front matter key AIGC, block mapping of the seven keys "
                    "(20258A §6.5); flow and JSON-string values read too"),
        CarrierInfo(CASE_CARRIER, "read", "front matter key AIGC in another letter case"),
    )
    text_kind = "markdown"

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        """STRONG: a ``---`` front matter opens the file and closes within ``head``; WEAK: an
        unclosed one, or UTF-8 text with Markdown block syntax in its first 4 KiB."""
        if not head or b"\x00" in head:
            return Confidence.NO
        bom = len(BOM) if head.startswith(BOM) else 0
        opener = _OPENER.match(head, bom)
        window = head[bom : bom + SNIFF_WINDOW]
        if opener is None:
            return Confidence.WEAK if _is_text(window) and _SIGNAL.search(window) else (
                Confidence.NO)
        close = _find_close(head, opener.end(), at_eof=False)
        if close is not None and _is_text(head[bom : close.start()]):
            return Confidence.STRONG
        # Text in another encoding is claimed too, so that a read says "not UTF-8".
        return Confidence.WEAK if _is_text(window, "latin-1") else Confidence.NO

    def confirm(self, src: Source) -> Confidence:
        """:meth:`sniff`, except that a WEAK claim on a file without front matter is withdrawn
        when the file is named as another text format (``.txt``, ``.py``, ``.json``...)."""
        head = src.head
        level = self.sniff(head)
        if level is not Confidence.WEAK or _OPENER.match(head, len(BOM) if head.startswith(
                BOM) else 0):
            return level
        suffix = PurePath(src.name or "").suffix.lower()
        return Confidence.NO if suffix in _OTHER_TEXT else level

    def read_labels(self, src: Source) -> list[FoundLabel]:
        with parse_errors(src.name, "Markdown"):
            fm = read_front_matter(src)
            unclosed = fm.opened and fm.close is None
            return [_entry_label(e, unclosed) for e in fm.entries() if e.is_label]

    def metadata(self, src: Source) -> list[MetadataItem]:
        """Top-level front matter keys other than ``AIGC`` (carrier ``markdown:frontmatter``):
        scalars as text, collections as compact JSON."""
        out = Collector(src.limits)
        fm = _layout(src)
        for entry in fm.entries() if fm is not None else ():
            if out.full:
                break
            if entry.is_label:
                continue
            cont = [line.text for line in entry.lines[1:]]
            try:
                node = parse_value(entry.rest, cont)
                value = node.text if isinstance(node, Scalar) else to_json_text(node)
            except ValueError:
                value = "\n".join([entry.rest.strip(), *cont]).strip()
            out.add(META_CARRIER, entry.key, value, entry.start)
        return out.items

    def container_findings(self, src: Source) -> list[Finding]:
        fm = _layout(src)
        if fm is not None and fm.opened and fm.close is None:
            return [Finding("G5.carrier", Severity.WARNING, "the file starts with a '---' line "
                            "that no '---' or '...' line closes: it has no front matter")]
        return []

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        to_json(record)  # Annex E checks (InvalidLabelError)
        with parse_errors(src.name, "Markdown"):
            fm = read_front_matter(src, for_write=True)
        plan = EditPlan(carrier=CARRIER)
        if not fm.opened:
            # rules §C.4: no front matter: add one at byte 0 (after the BOM).
            plan.copy(0, fm.bom)
            plan.add(b"---" + fm.nl + label_block(record, fm.nl) + b"---" + fm.nl)
            plan.copy(fm.bom, src.size)
            return plan
        if fm.close is None:
            msg = ("the front matter opened by the first line is not closed by a '---' line; "
                   "close it (or remove it) before labelling")
            raise CorruptFileError(msg, path=src.name)
        block = label_block(record, fm.nl)
        labels = [e for e in fm.entries() if e.is_label]
        # GB 6.1 c) / rules §B.10: rewrite the label where it is (the exact key preferred),
        # remove any other; only AIGC entries change.
        keep = next((e for e in labels if e.key == AIGC_KEY), labels[0] if labels else None)
        pos = 0
        for entry in labels:
            plan.copy(pos, entry.start)
            if entry is keep:
                plan.add(block)
            if entry is not keep or entry.carrier != CARRIER:
                plan.removed.append(entry.carrier)
            pos = entry.end
        if keep is None:
            plan.copy(0, fm.close)
            plan.add(block)
            pos = fm.close
        plan.copy(pos, src.size)
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        with parse_errors(src.name, "Markdown"):
            fm = read_front_matter(src)
        start = fm.end if fm.close is not None else fm.bom
        return [Span(start, src.size - start)] if src.size > start else []
