"""The codec protocol: identify a container, read its AIGC labels, plan a lossless write.

A codec is a small class registered with :func:`aiglabel.registry.register`. It never
decodes pixels or samples: reads walk container headers through :class:`~aiglabel._io.Source`
and writes return an :class:`~aiglabel._io.EditPlan` of copied spans and new metadata bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

from aiglabel._io import EditPlan, Source, Span
from aiglabel.gb45438 import AIGCRecord, ParsedLabel, parse_label

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiglabel._patch import PatchPlan
    from aiglabel.model import Finding

__all__ = ["CodecBase", "Confidence", "FoundLabel", "MetadataItem", "essence_hash"]


class Confidence(IntEnum):
    """How sure a codec is that the bytes are its format (ExifTool's weak/strong magic)."""

    NO = 0
    WEAK = 1
    STRONG = 2


@dataclass(frozen=True, slots=True)
class FoundLabel:
    """One AIGC label found in a file.

    Attributes:
        carrier: where it sits, e.g. ``"jpeg:app1:xmp"`` or ``"png:tEXt:AIGC"``.
        form: ``"bare"``, ``"wrapped"``, ``"xmp-attribute"``, ``"aigc-prefixed"`` or ``None``.
        record: the parsed fields, ``None`` when the value could not be parsed.
        raw: the value as stored, container escaping undone.
        findings: parse and conformance findings for this label (rules §G 8-24).
        offset: byte offset of the carrier structure in the file, when known.
    """

    carrier: str
    form: str | None
    record: AIGCRecord | None
    raw: str
    findings: tuple[Finding, ...] = ()
    offset: int | None = None

    @classmethod
    def from_text(
        cls, carrier: str, text: str | bytes, *, offset: int | None = None, form: str | None = None
    ) -> FoundLabel:
        """Parse a carrier value with :func:`aiglabel.gb45438.parse_label`."""
        parsed: ParsedLabel = parse_label(text, carrier)
        return cls(
            carrier=carrier,
            form=form if form is not None and parsed.form == "bare" else parsed.form,
            record=parsed.record,
            raw=parsed.text,
            findings=parsed.findings,
            offset=offset,
        )

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready mapping (``fields`` holds the seven Annex E keys)."""
        return {
            "carrier": self.carrier,
            "form": self.form,
            "offset": self.offset,
            "fields": self.record.to_dict() if self.record else None,
            "raw": self.raw,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class MetadataItem:
    """One metadata value other than the AIGC label, exposed to the verifier's detectors.

    Codecs report what they meet while walking headers; detectors (generation traces, capture
    claims) judge it. Values are text, already decoded from the container (zTXt inflated,
    EXIF strings decoded), and bounded by the source's limits.

    Attributes:
        carrier: where the value sits, e.g. ``"png:tEXt"``, ``"jpeg:app1:exif"``,
            ``"png:iTXt:xmp"``.
        key: the name inside the carrier: a PNG keyword (``"parameters"``), an EXIF tag name
            (``"Software"``, ``"UserComment"``), or ``"xmp"`` for a whole XMP packet.
        value: the text.
        offset: byte offset of the carrier structure in the file, when known.
    """

    carrier: str
    key: str
    value: str
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class CarrierInfo:
    """One carrier a codec knows (a row of ``aiglabel formats``).

    Attributes:
        carrier: the carrier id as reported in :attr:`FoundLabel.carrier`; ``N`` stands for a
            number (``jpeg:appN:AIGC`` matches ``jpeg:app11:AIGC``).
        role: ``"write"`` (the primary carrier, written), ``"alternative"`` (listed by a TC260
            guide, e.g. Annex B, read only) or ``"read"`` (tolerated, not in any guide).
        note: where the carrier comes from.
        form: the label form the guide gives for this carrier (``"bare"``/``"wrapped"``);
            ``None`` when no form is prescribed.
    """

    carrier: str
    role: str
    note: str = ""
    form: str | None = "bare"

    def matches(self, carrier: str) -> bool:
        """True when ``carrier`` is this carrier (``N`` matching any number)."""
        if "N" not in self.carrier.split(":", 1)[-1]:
            return carrier == self.carrier
        head, _, tail = self.carrier.partition("N")
        middle = carrier[len(head) : len(carrier) - len(tail)] if tail else carrier[len(head) :]
        return carrier.startswith(head) and carrier.endswith(tail) and middle.isdigit()


def essence_hash(codec: str, parts: Iterable[bytes | Span], src: Source) -> str:
    """Hash essence parts in file order: ``sha256:<hex>`` with a per-codec domain prefix."""
    h = hashlib.sha256(f"aiglabel-essence/1/{codec}\n".encode())
    for part in parts:
        if isinstance(part, Span):
            for chunk in src.iter_range(part.offset, part.length):
                h.update(chunk)
        else:
            h.update(part)
    return "sha256:" + h.hexdigest()


class CodecBase:
    """Base class of every container codec.

    Subclasses set the class attributes and implement :meth:`sniff`, :meth:`read_labels`,
    :meth:`plan_write` and :meth:`essence_parts`.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    mimes: ClassVar[tuple[str, ...]] = ()
    extensions: ClassVar[tuple[str, ...]] = ()
    # Carrier ids, the primary (written) one first; then the also-read ones.
    carriers: ClassVar[tuple[CarrierInfo, ...]] = ()
    writable: ClassVar[bool] = True
    # For codecs of text formats: how the verifier reads the file's characters for an
    # explicit notice ("text", "markdown" or "html", see aiglabel.verify.text); None otherwise.
    text_kind: ClassVar[str | None] = None

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        """Judge the first bytes (up to 64 KiB); never stricter than :meth:`read_labels`."""
        raise NotImplementedError

    def confirm(self, src: Source) -> Confidence:
        """Optional second look at the file; by default the :meth:`sniff` result."""
        return self.sniff(src.head)

    def read_labels(self, src: Source) -> list[FoundLabel]:
        """Return every AIGC label in the file, duplicates included; ``[]`` when none."""
        raise NotImplementedError

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        """Plan a write of ``record`` to the primary carrier, removing AIGC labels elsewhere.

        The record has been validated by the caller. The plan copies every essence byte
        verbatim.
        """
        raise NotImplementedError

    def plan_patch(self, src: Source, record: AIGCRecord) -> PatchPlan | None:
        """Plan a crash-safe in-place update that writes only the changed bytes.

        Return ``None`` (the default) when the file has no room for it; the caller then
        rewrites the whole file through a temporary file. A plan must leave the old or the new
        label after any prefix of its writes (see :mod:`aiglabel._patch`), keep the file's size,
        and leave exactly one label once complete.
        """
        return None

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        """The essence (payload without metadata) as spans and bytes, in file order."""
        raise NotImplementedError

    def essence_digest(self, src: Source) -> str:
        """SHA-256 over the essence, prefixed ``sha256:``; unchanged by any label write."""
        return essence_hash(self.name, self.essence_parts(src), src)

    def metadata(self, src: Source) -> list[MetadataItem]:
        """Other metadata the codec can expose (text chunks, EXIF strings, XMP packets).

        Header-only like :meth:`read_labels`; the default is none.
        """
        return []

    def container_findings(self, src: Source) -> list[Finding]:
        """Carrier-integrity findings (rules §G 5) the codec noticed; default none."""
        return []

    def visible_text(self, src: Source, limit: int) -> str | None:
        """The text a reader sees, in reading order, at most ``limit`` characters, for formats
        whose text is not plain bytes (a word-processing document, a PDF); ``None`` (the
        default) when the format has none or the codec does not extract it. The verifier
        looks there for an explicit notice (rules §A.1)."""
        del src, limit
        return None
