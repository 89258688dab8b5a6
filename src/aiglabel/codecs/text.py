"""Plain text codec: no metadata area, so the implicit label needs an opt-in carrier.

Rules §C.5 [project choice]: a ``.txt`` file has nowhere to keep metadata. A write is refused
by default (:class:`~aiglabel.errors.PlainTextError`, which a folder walk counts as a skip),
suggesting one of two opt-in carriers that :func:`aiglabel.label` offers with
``txt_carrier``:

- ``"sidecar"``: the text is left untouched and ``<file>.aigc.json`` next to it holds the
  wrapped form ``{"AIGC":{...}}``. This reader reports such a label with a warning: it is not
  in the file itself, and Measures Art. 5 speaks of the file's metadata.
- ``"frontmatter"``: the Markdown front-matter block of rules §C.4 at the head of the text
  (it changes the text; use it only where consumers tolerate it). The file is then read as
  Markdown, whose front matter decides by its bytes.

Identification: text bytes (no NUL; UTF-8, GB 18030 or UTF-16 with a BOM) in a file named
``.txt``/``.text`` -- plain text has no signature, and claiming every text file would make
source code and data files "labellable". The verifier reads the characters for an explicit
notice (``text_kind``). Essence: the whole file.
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel
from aiglabel.errors import PlainTextError
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiglabel.gb45438 import AIGCRecord

SIDECAR_CARRIER = "text:sidecar"
SIDECAR_SUFFIX = ".aigc.json"
EXTENSIONS = (".txt", ".text")
_SIDECAR_MAX = 64 * 1024


def sidecar_path(path: str | os.PathLike[str]) -> str:
    """The sidecar file of ``path``: ``<path>.aigc.json``."""
    return os.fspath(path) + SIDECAR_SUFFIX


def sidecar_bytes(record: AIGCRecord) -> bytes:
    """The sidecar's content: the wrapped form (rules §B.7) and a newline."""
    return b'{"AIGC":' + record.to_json().encode("utf-8") + b"}\n"


def _is_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = head[:65536]
    if not sample or b"\x00" in sample:
        return False
    for name in ("utf-8", "gb18030"):
        try:
            sample.decode(name)
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 3:  # a character cut at the end of the sample
                return True
            continue
        return True
    return False


@register
class TextCodec(CodecBase):
    """Plain text: refuses in-file labels; reads a ``.aigc.json`` sidecar."""

    name = "text"
    description = "Plain text (no metadata area; opt-in sidecar or front matter)"
    mimes = ("text/plain",)
    extensions = EXTENSIONS
    carriers = (CarrierInfo(SIDECAR_CARRIER, "read",
                            "<file>.aigc.json beside the file, wrapped form (opt-in, rules §C.5)",
                            form="wrapped"),)
    writable = False
    text_kind = "text"

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        return Confidence.WEAK if _is_text(head) else Confidence.NO

    def confirm(self, src: Source) -> Confidence:
        suffix = PurePath(src.name or "").suffix.lower()
        return self.sniff(src.head) if suffix in EXTENSIONS else Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        if not src.name or not os.path.isfile(sidecar_path(src.name)):
            return []
        path = sidecar_path(src.name)
        with open(path, "rb") as handle:
            raw = handle.read(_SIDECAR_MAX + 1)
        if len(raw) > _SIDECAR_MAX:
            raw = raw[:_SIDECAR_MAX]
        found = FoundLabel.from_text(SIDECAR_CARRIER, raw.decode("utf-8", errors="replace").strip())
        note = Finding("G3.carrier", Severity.WARNING,
                       f"label in the sidecar file {os.path.basename(path)}, not in the file "
                       "itself (plain text has no metadata area, rules §C.5)", SIDECAR_CARRIER)
        return [FoundLabel(found.carrier, found.form, found.record, found.raw,
                           (*found.findings, note), found.offset)]

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        msg = ("plain text has no metadata area for the implicit label (rules §C.5); choose a "
               "carrier: --txt-carrier sidecar (a .aigc.json file beside it) or frontmatter "
               "(a Markdown front matter at its head), or save it as Markdown")
        raise PlainTextError(msg, path=src.name)

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        yield Span(0, src.size)
