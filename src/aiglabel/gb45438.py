"""GB 45438-2025 Annex E: the implicit metadata label, and the explicit-label constants.

This module owns the standard. Everything else reads field names, value rules and numbers
from here. Clause references are to GB 45438-2025 and to ``shared/spec/labeling-rules.md``
(cited as "rules §X").
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from aiglabel.errors import InvalidLabelError
from aiglabel.model import Finding, Severity
from aiglabel.provider_code import code_problems, is_code_shaped

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "FIELDS",
    "LABEL_CODES",
    "MAX_LABEL_BYTES",
    "AIGCRecord",
    "ParsedLabel",
    "check",
    "is_json",
    "new_produce_id",
    "notice_elements",
    "parse_label",
    "to_json",
    "validate",
]

# Annex E b): the seven keys, exact spelling, in this order (rules §B.2).
FIELDS: tuple[str, ...] = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
# GB 6.1 a): the five mandatory elements; ReservedCode1/2 are reserved (rules §B.2).
MANDATORY_FIELDS: tuple[str, ...] = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ContentPropagator",
    "PropagateID",
)
# Annex E: 1 属于 (is), 2 可能为 (possibly), 3 疑似为 (suspected) generated content (rules §B.3).
LABEL_CODES: Mapping[str, str] = {"1": "属于", "2": "可能为", "3": "疑似为"}
# Annex E a): the extension field's name or keyword must contain "AIGC".
AIGC_KEY = "AIGC"
# rules §B.4 [project choice]: reject a whole label above 64 KiB, warn on a value above 2048 bytes.
MAX_LABEL_BYTES = 64 * 1024
FIELD_WARN_BYTES = 2048

# Annex E j): values "mainly consist of" GB 18030 0x21, 0x23-0x5B, 0x5D-0x7E plus the escape
# \" (rules §B.5). As decoded text that is printable ASCII without space and backslash.
_VALUE_RE = re.compile(r"[\x21-\x5B\x5D-\x7E]*")
_TEMPLATE_RE = re.compile(r"\$\{[^}]*\}")

# GB 45438 §5 explicit-label numbers (rules §A.8).
IMAGE_MIN_TEXT_HEIGHT_RATIO = 0.05  # GB 5.2 e)
VIDEO_MIN_TEXT_HEIGHT_RATIO = 0.05  # GB 5.4
VIDEO_MIN_DURATION_S = 2.0  # GB 5.4
SPEECH_RATE_CHARS_PER_MIN = (120, 160)  # GB 5.3 Note 4
AUDIO_RHYTHM = ".- .."  # GB 5.3 c): short-long-short-short, Morse "AI"


@dataclass(frozen=True, slots=True)
class AIGCRecord:
    """The seven Annex E fields, values kept exactly as given.

    Use :meth:`for_producer` to build the label a generation service writes; use
    :func:`validate` or :func:`check` to test a record against the standard.
    """

    label: str
    content_producer: str
    produce_id: str
    reserved_code1: str = ""
    content_propagator: str = ""
    propagate_id: str = ""
    reserved_code2: str = ""

    @classmethod
    def for_producer(
        cls,
        producer: str,
        produce_id: str | None = None,
        *,
        label: str = "1",
        reserved_code1: str = "",
        propagator: str | None = None,
        propagate_id: str | None = None,
    ) -> AIGCRecord:
        """Build a producer's first-write label.

        Annex E Note 1 (rules §B.8): on first write ``ContentPropagator`` equals
        ``ContentProducer`` and ``PropagateID`` equals ``ProduceID``, unless the caller passes
        a separate propagation code (e.g. the same entity's service-type-2 code).

        Args:
            producer: the 27-character provider code (or name) of the generation service.
            produce_id: the content number; a new UUIDv4 when omitted.
            label: ``"1"`` for generated content (the producer's normal case).
            reserved_code1: the producer's security data, if any.
            propagator: propagation code; defaults to ``producer``.
            propagate_id: propagation number; defaults to ``produce_id``.
        """
        pid = produce_id if produce_id is not None else new_produce_id()
        return cls(
            label=label,
            content_producer=producer,
            produce_id=pid,
            reserved_code1=reserved_code1,
            content_propagator=producer if propagator is None else propagator,
            propagate_id=pid if propagate_id is None else propagate_id,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> AIGCRecord:
        """Build a record from a mapping keyed by the Annex E names; absent keys become ``""``.

        Raises:
            InvalidLabelError: a value is not a string.
        """
        values: list[str] = []
        for key in FIELDS:
            value = data.get(key, "")
            if not isinstance(value, str):
                msg = f"{key}: Annex E values are strings, got {type(value).__name__}"
                raise InvalidLabelError(msg)
            values.append(value)
        return cls(*values)

    def to_dict(self) -> dict[str, str]:
        """Return the fields keyed by their Annex E names, in Annex E order."""
        return dict(zip(FIELDS, self.values(), strict=True))

    def values(self) -> tuple[str, ...]:
        """Return the seven values in Annex E order."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def to_json(self, *, allow_nonconforming: bool = False) -> str:
        """Shortcut for :func:`to_json`."""
        return to_json(self, allow_nonconforming=allow_nonconforming)


# Rules §A.0 (GB 5.1 b)): an explicit text or spoken label holds an AI element and a generation
# element. Matching [project choice]: NFKC first; "AI" only when no Latin letter flanks it.
AI_ELEMENT = re.compile(r"人工智能|(?<![A-Za-z])AI(?![A-Za-z])")
GENERATION_ELEMENT = re.compile(r"生成|合成")


def notice_elements(text: str) -> tuple[bool, bool]:
    """Whether ``text`` holds the AI element and the generation element (rules §A.0)."""
    norm = unicodedata.normalize("NFKC", text)
    return bool(AI_ELEMENT.search(norm)), bool(GENERATION_ELEMENT.search(norm))


def new_produce_id() -> str:
    """Return a new content number: a lower-case UUIDv4 (rules §B.9, inside the B.5 charset)."""
    return str(uuid.uuid4())


def _charset_problem(value: str) -> str | None:
    if _VALUE_RE.fullmatch(value):
        return None
    bad = next(c for c in value if _VALUE_RE.fullmatch(c) is None)
    return f"character {bad!r} (U+{ord(bad):04X}) is outside the Annex E j) charset"


def _producer_fields_optional(record: AIGCRecord) -> bool:
    # rules §E.3 [project choice]: a platform-created label ("2"/"3") may leave the producer
    # fields empty when the propagator fields are set.
    return (
        record.label in ("2", "3")
        and bool(record.content_propagator)
        and bool(record.propagate_id)
        and not record.content_producer
        and not record.produce_id
    )


def validate(record: AIGCRecord) -> None:
    """Check a record before writing it; the writer is strict (rules §B.5).

    Raises:
        InvalidLabelError: naming the first field and the rule it breaks.
    """
    errors = [f for f in check(record) if f.severity is Severity.ERROR]
    if errors:
        msg = "; ".join(f.message for f in errors)
        raise InvalidLabelError(msg)


def to_json(record: AIGCRecord, *, allow_nonconforming: bool = False) -> str:
    """Serialize a record as Annex E b) shows: compact, seven keys, Annex E order.

    Args:
        record: the label.
        allow_nonconforming: skip validation (the output may then break Annex E j)).

    Raises:
        InvalidLabelError: the record breaks Annex E and ``allow_nonconforming`` is false.
    """
    if not allow_nonconforming:
        validate(record)
    # Never sort_keys: the order is normative and signatures cover byte substrings (rules §B.6).
    return json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False)


def check(record: AIGCRecord, carrier: str | None = None) -> list[Finding]:
    """Check a record against the Annex E value rules and the provider-code rules.

    Covers rules §G items 14, 15, 18, 19, 20-24. Structural items (8-13, 16, 17) are reported by
    :func:`parse_label`, which sees the text.
    """
    out: list[Finding] = []

    def add(code: str, severity: Severity, message: str) -> None:
        out.append(Finding(code, severity, message, carrier))

    data = record.to_dict()
    if record.label not in LABEL_CODES:
        add("G14.label-value", Severity.ERROR, f'Label: {record.label!r} is not "1", "2" or "3"')
    for key, value in data.items():
        problem = _charset_problem(value)
        if problem:
            add("G15.charset", Severity.ERROR, f"{key}: {problem}")
        if len(value.encode()) > FIELD_WARN_BYTES:
            add("G15.length", Severity.WARNING, f"{key}: longer than {FIELD_WARN_BYTES} bytes")
    relaxed = _producer_fields_optional(record)
    for key in ("ContentProducer", "ProduceID", "ContentPropagator", "PropagateID"):
        if not data[key]:
            if relaxed and key in ("ContentProducer", "ProduceID"):
                add(
                    "G18.empty",
                    Severity.WARNING,
                    f"{key}: empty in a platform-created label (rules §E.3)",
                )
            else:
                add("G18.empty", Severity.ERROR, f"{key}: mandatory element is empty (GB 6.1 a)")
    _check_relation(record, add)
    for key in ("ContentProducer", "ContentPropagator"):
        _check_code(key, data[key], add)
    for key in ("ProduceID", "PropagateID"):
        value = data[key]
        if value and set(value) <= set("0-_"):
            add("G24.id", Severity.WARNING, f"{key}: all zeros is not a unique content number")
        elif _TEMPLATE_RE.search(value):
            add("G24.id", Severity.WARNING, f"{key}: holds an unexpanded template {value!r}")
    return out


def _check_code(key: str, value: str, add: Any) -> None:
    if not value:
        return
    if len(value) == 27 and value[:2] == "00" or is_code_shaped(value):
        for problem in code_problems(value):
            code = "G22.uscc-check" if "check character" in problem else "G21.code-layout"
            add(code, Severity.ERROR, f"{key}: provider code {problem}")
        if not code_problems(value):
            service = value[22]
            if key == "ContentProducer" and service == "2":
                add(
                    "G23.service-digit",
                    Severity.WARNING,
                    f"{key}: service type 2 (propagation) in a producer code",
                )
        return
    add("G20.not-a-code", Severity.WARNING, f"{key}: {value!r} is a name, not a provider code")


def _check_relation(record: AIGCRecord, add: Any) -> None:
    # rules §B.8: describe how the propagator relates to the producer (info only).
    prod, prop = record.content_producer, record.content_propagator
    if not prod or not prop:
        return
    if prod == prop and record.produce_id == record.propagate_id:
        add("G19.first-write", Severity.INFO, "first write: propagator fields equal the producer's")
    elif prod[:22] == prop[:22] and len(prop) == 27 and prop[22] == "2":
        add("G19.same-entity", Severity.INFO, "same entity, propagation service code")
    elif prod != prop:
        add("G19.redistributed", Severity.INFO, "redistributed: propagator differs from producer")
    if (
        len(prop) == 27
        and prop[22] == "1"
        and prop != prod
        and is_code_shaped(prop)
        and not code_problems(prop)
    ):
        add(
            "G23.service-digit",
            Severity.WARNING,
            "ContentPropagator: service type 1 (generation) in a propagator code",
        )


@dataclass(frozen=True, slots=True)
class ParsedLabel:
    """A label value as found in a carrier, parsed as far as possible.

    Attributes:
        record: the seven fields, or ``None`` when the value is not a usable JSON object.
        form: ``"bare"``, ``"wrapped"`` or ``None`` when unparseable; codecs may refine it
            (``"xmp-attribute"``, ``"aigc-prefixed"``).
        findings: every structural and value finding (rules §G 8-24).
        text: the value after container escaping was undone.
    """

    record: AIGCRecord | None
    form: str | None
    findings: tuple[Finding, ...]
    text: str


class _DuplicateKeys(dict[str, Any]):
    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _DuplicateKeys:
    obj = _DuplicateKeys()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def _maybe_base64(text: str) -> str | None:
    compact = "".join(text.split())
    if len(compact) < 16 or not re.fullmatch(r"[A-Za-z0-9+/_-]+=*", compact):
        return None
    try:
        decoded = base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=b"-_"
                                   if ("-" in compact or "_" in compact) else None)
        out = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return out if out.lstrip().startswith("{") else None


def is_json(text: str) -> bool:
    """True when ``text`` parses as JSON (any value)."""
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def parse_label(text: str | bytes, carrier: str | None = None) -> ParsedLabel:
    """Parse a label value: bare object, ``{"AIGC":{...}}``, HTML-escaped or Base64 forms.

    Never raises for bad content: problems become findings (rules §G 8-17) and the record is
    ``None`` when nothing usable remains. Container escaping of XML is undone by the codecs;
    HTML/XML entities left in the text (``&quot;``) are undone here.
    """
    findings: list[Finding] = []

    def add(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code, severity, message, carrier))

    if isinstance(text, bytes):
        raw = text
        if len(raw) > MAX_LABEL_BYTES:
            add("G7.limit", Severity.ERROR, f"label value is larger than {MAX_LABEL_BYTES} bytes")
            return ParsedLabel(None, None, tuple(findings), "")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", errors="replace")
            add("G8.encoding", Severity.ERROR, "label value is not UTF-8 text")
    elif len(text.encode("utf-8", errors="replace")) > MAX_LABEL_BYTES:
        add("G7.limit", Severity.ERROR, f"label value is larger than {MAX_LABEL_BYTES} bytes")
        return ParsedLabel(None, None, tuple(findings), "")
    value = text.strip().rstrip("\x00").strip()
    if value.startswith("AIGC{"):
        value = value[4:]
    if not value.startswith("{") or not is_json(value):
        if "&quot;" in value or "&#34;" in value or "&#x22;" in value:
            value = html.unescape(value)
            add("G8.escaped", Severity.INFO, "value was HTML/XML-escaped; escaping undone")
    if not value.startswith("{"):
        decoded = _maybe_base64(value)
        if decoded is not None:
            add("G17.base64", Severity.WARNING, "whole value is Base64-encoded (not in any guide)")
            value = decoded.strip()
    try:
        obj = json.loads(value, object_pairs_hook=_pairs_hook)
    except (ValueError, RecursionError):
        add("G8.not-json", Severity.ERROR, "label value is not a JSON object")
        return ParsedLabel(None, None, tuple(findings), value)
    if not isinstance(obj, dict):
        add("G8.not-json", Severity.ERROR, "label value is JSON but not an object")
        return ParsedLabel(None, None, tuple(findings), value)
    form = "bare"
    wrapper_keys = [k for k in obj if AIGC_KEY in k]
    if not any(k in FIELDS for k in obj) and len(obj) == 1 and wrapper_keys:
        inner = obj[wrapper_keys[0]]
        if isinstance(inner, dict):
            _note_duplicates(obj, add)
            obj = inner
            form = "wrapped"
            if wrapper_keys[0] != AIGC_KEY:
                add("G6.key", Severity.WARNING, f"wrapper key {wrapper_keys[0]!r} is not 'AIGC'")
        elif isinstance(inner, str):
            nested = parse_label(inner, carrier)
            return ParsedLabel(nested.record, "wrapped", (*findings, *nested.findings), value)
    assert isinstance(obj, _DuplicateKeys)
    _note_duplicates(obj, add)
    record = _record_from_object(obj, add)
    if record is None:
        return ParsedLabel(None, form, tuple(findings), value)
    present = [k for k in obj if k in FIELDS]
    if present != [k for k in FIELDS if k in obj]:
        add("G12.key-order", Severity.WARNING, "keys are not in Annex E order")
    try:
        canonical = json.dumps(
            {k: obj[k] for k in obj}, separators=(",", ":"), ensure_ascii=False
        )
    except (TypeError, ValueError):
        canonical = value
    inner_text = value if form == "bare" else None
    if inner_text is not None and inner_text != canonical and re.search(r"\s", inner_text):
        add("G16.not-compact", Severity.INFO, "JSON is not compact (whitespace between tokens)")
    findings.extend(check(record, carrier))
    return ParsedLabel(record, form, tuple(findings), value)


def _note_duplicates(obj: Mapping[str, Any], add: Any) -> None:
    for key in getattr(obj, "duplicates", []):
        add("G9.duplicate-key", Severity.ERROR, f"{key}: key appears more than once")


def _record_from_object(obj: Mapping[str, Any], add: Any) -> AIGCRecord | None:
    known = [k for k in obj if k in FIELDS]
    if not known:
        lowered = {k.lower(): k for k in obj}
        hits = [lowered[f.lower()] for f in FIELDS if f.lower() in lowered]
        if hits:
            add("G11.key-case", Severity.ERROR, f"keys differ from Annex E in case: {hits}")
        else:
            add("G10.no-fields", Severity.ERROR, "object has none of the Annex E keys")
        return None
    for key in obj:
        if key not in FIELDS:
            add("G11.unknown-key", Severity.WARNING, f"{key}: not an Annex E key")
    values: dict[str, str] = {}
    for key in FIELDS:
        if key not in obj:
            severity = Severity.WARNING if key.startswith("Reserved") else Severity.ERROR
            add("G10.missing-key", severity, f"{key}: key is missing")
            values[key] = ""
            continue
        value = obj[key]
        if isinstance(value, str):
            values[key] = value
            continue
        add("G13.not-string", Severity.ERROR, f"{key}: value is {type(value).__name__}, not string")
        if value is None:
            values[key] = ""
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            values[key] = str(value)
        else:
            values[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return AIGCRecord.from_dict(values)
