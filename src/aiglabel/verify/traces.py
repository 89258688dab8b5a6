"""Generation traces in ordinary metadata (generation-traces.md §1, §2, §3).

:func:`find_traces` reads the :class:`~aiglabel.codecs.base.MetadataItem` values a codec
exposes (PNG text chunks, EXIF strings, XMP packets, comments) and reports every trace the
specification lists, as :class:`Trace` values. Pure functions, no I/O.

Every trace is an **unsigned hint** (generation-traces.md, "the one rule"): the verifier lets a
trace contribute ``suspected`` at most. Capture and human-made claims (IPTC ``digitalCapture``
and friends) come back with claim ``"not-ai"`` so the verifier can report contradictions; they
never lower a verdict. Unknown IPTC codes come back with claim ``"unknown"``: reported, not
counted.

Matching is deliberately narrow, to avoid false positives: keys are compared exactly, the
A1111 text rule needs ``Steps:`` plus a second settings field, JSON rules need the documented
structure, and generator tokens match on word boundaries only.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from defusedxml import ElementTree as SafeET

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from xml.etree.ElementTree import Element

    from aiglabel.codecs.base import MetadataItem

__all__ = ["AI_EDITED", "AI_GENERATED", "GENERATOR_TOKENS", "MAX_VALUE", "NOT_AI", "UNKNOWN",
           "Trace", "find_traces"]  # fmt: skip

# Claims (the values of aiglabel.verify.model.Claim).
AI_GENERATED: Final = "ai-generated"
AI_EDITED: Final = "ai-edited"
NOT_AI: Final = "not-ai"  # a capture or human-made claim: only used to report contradictions
UNKNOWN: Final = "unknown"  # e.g. an unknown IPTC code: reported, not counted

# generation-traces.md §7 evidence tiers.
TIER_CLAIM: Final = 4  # unsigned AI claims: IPTC DigitalSourceType / AI fields, vendor schemas
TIER_TRACE: Final = 5  # generator traces (§1, §2)

MAX_VALUE: Final = 4 << 20  # values longer than this (characters) are ignored
DETAIL_LIMIT: Final = 160  # characters of a Trace.detail


@dataclass(frozen=True, slots=True)
class Trace:
    """One generation trace (or capture claim) found in a metadata value.

    Attributes:
        source: who or what the trace names (``"AUTOMATIC1111"``, ``"ComfyUI"``,
            ``"IPTC DigitalSourceType"``, ``"generator token"`` ...).
        carrier: the :attr:`MetadataItem.carrier` it sits in.
        key: the key or property inside the carrier (``"parameters"``,
            ``"Iptc4xmpExt:DigitalSourceType"``).
        detail: one short sentence with the matched value (at most about 160 characters).
        claim: ``"ai-generated"``, ``"ai-edited"``, ``"not-ai"`` (a capture / human claim,
            reported only for contradictions) or ``"unknown"`` (reported, not counted).
        tier: generation-traces.md §7: 4 for unsigned AI claims (IPTC fields), 5 for
            generator traces (§1, §2), 0 for ``not-ai`` and ``unknown``.
        weight: ``"strong"``, or ``"weak"`` where the signal says less than its name
            suggests (``hf-job-id``, ``compositeSynthetic``).
    """

    source: str
    carrier: str
    key: str
    detail: str
    claim: str = AI_GENERATED
    tier: int = TIER_TRACE
    weight: str = "strong"

    @property
    def is_ai(self) -> bool:
        """True for the two AI claims."""
        return self.claim in (AI_GENERATED, AI_EDITED)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready mapping of the fields."""
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

_SPACE_RE = re.compile(r"\s+")


def _clip(text: str, limit: int = 60) -> str:
    """Whitespace collapsed, cut to ``limit`` characters with an ellipsis, double-quoted."""
    text = _SPACE_RE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f'"{text}"'


def _detail(text: str) -> str:
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def _where(item: MetadataItem) -> str:
    return f"{item.carrier} {item.key!r}"


def _trace(source: str, item: MetadataItem, detail: str, **kw: Any) -> Trace:
    return Trace(source, item.carrier, item.key, _detail(detail), **kw)


def _json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object, else ``None`` (never raises)."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


# EXIF UserComment starts with an 8-byte character code; a codec normally strips it.
_CHARSET_RE = re.compile(r"^(?:ASCII\0\0\0|UNICODE\0|JIS\0\0\0\0\0|\0{8})")

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID_RE = re.compile(rf"\s*{_UUID}\s*")

# --------------------------------------------------------------------------------------------
# §1 local and open generators
# --------------------------------------------------------------------------------------------

# §1 AUTOMATIC1111 / Forge / SD.Next: `Steps:\s*\d+` and one of Sampler:, CFG scale:, Seed:.
_A1111_STEPS_RE = re.compile(r"Steps:\s*\d+")
_A1111_OTHER_RE = re.compile(r"Sampler:|CFG scale:|Seed:")
_A1111_KEYS = frozenset({"parameters", "UserComment", "ImageDescription"})


def _a1111(item: MetadataItem) -> Trace | None:
    if item.key not in _A1111_KEYS:
        return None
    text = _CHARSET_RE.sub("", item.value)
    steps = _A1111_STEPS_RE.search(text)
    if steps is None or _A1111_OTHER_RE.search(text) is None:
        return None
    line_start = text.rfind("\n", 0, steps.start()) + 1
    line_end = text.find("\n", steps.end())
    settings = text[line_start : line_end if line_end >= 0 else len(text)]
    return _trace("AUTOMATIC1111", item,
                  f"{_where(item)} holds A1111/Forge generation settings: {_clip(settings, 90)}")


# §1 Fooocus: `parameters` JSON containing "fooocus", or key `fooocus_scheme`.
def _fooocus(item: MetadataItem) -> Trace | None:
    if item.key == "fooocus_scheme":
        return _trace("Fooocus", item, f"{_where(item)} = {_clip(item.value)} (Fooocus scheme)")
    if item.key == "parameters" and "fooocus" in item.value.lower():
        if _json_object(item.value) is not None:
            return _trace("Fooocus", item, f"{_where(item)} is Fooocus JSON metadata")
    return None


# §1 ComfyUI: `prompt` is a JSON object whose values carry `class_type`; `workflow` is a JSON
# object with a `nodes` list. ComfyUI's WebP saver puts the same JSON in EXIF as "prompt:{...}"
# (Model) and "workflow:{...}" (Make, then ImageDescription) [inferred from ComfyUI's source].
_COMFY_EXIF_KEYS = frozenset({"Make", "Model", "ImageDescription"})
_COMFY_PREFIX_RE = re.compile(r"\s*(prompt|workflow):")


def _comfy_json(kind: str, text: str) -> bool:
    obj = _json_object(text)
    if obj is None:
        return False
    if kind == "prompt":
        return any(isinstance(node, dict) and "class_type" in node for node in obj.values())
    return isinstance(obj.get("nodes"), list)


def _comfyui(item: MetadataItem) -> Trace | None:
    kind, text = item.key, item.value
    if item.key in _COMFY_EXIF_KEYS:
        m = _COMFY_PREFIX_RE.match(item.value)
        if m is None:
            return None
        kind, text = m.group(1), item.value[m.end() :]
    if kind not in ("prompt", "workflow") or not _comfy_json(kind, text):
        return None
    what = "API graph (nodes with class_type)" if kind == "prompt" else "UI workflow (nodes)"
    return _trace("ComfyUI", item, f"{_where(item)} holds a ComfyUI {what}")


# §1 InvokeAI: key present.
_INVOKEAI_KEYS = frozenset({"invokeai_metadata", "invokeai_graph", "sd-metadata", "Dream"})


def _invokeai(item: MetadataItem) -> Trace | None:
    if item.key not in _INVOKEAI_KEYS:
        return None
    return _trace("InvokeAI", item, f"InvokeAI key {item.key!r} present: {_clip(item.value, 70)}")


# §1 NovelAI: `Software` exactly "NovelAI", or `Comment` JSON with `steps` and `sampler`.
def _novelai(item: MetadataItem) -> Trace | None:
    if item.key == "Software" and item.value.strip() == "NovelAI":
        return _trace("NovelAI", item, f'{_where(item)} = "NovelAI"')
    if item.key.lower() == "comment":
        obj = _json_object(item.value)
        if obj is not None and "steps" in obj and "sampler" in obj:
            return _trace("NovelAI", item, f"{_where(item)} is NovelAI generation JSON "
                          f"(steps {_clip(str(obj['steps']), 8)}, "
                          f"sampler {_clip(str(obj['sampler']), 30)})")
    return None


# §1 Hugging Face Jobs / Spaces: `hf-job-id` present; weak (where it ran, not what made it).
def _hugging_face(item: MetadataItem) -> Trace | None:
    if item.key != "hf-job-id":
        return None
    return _trace("Hugging Face", item, f"{_where(item)} = {_clip(item.value, 40)}: "
                  "made on Hugging Face Jobs/Spaces", weight="weak")


# §1 Luma AI: `Source` = "Luma AI"; `Comment` = "Generated by Luma AI's Uni-1 model (...)".
_LUMA_COMMENT_RE = re.compile(r"Generated by Luma AI's \S.*")


def _luma(item: MetadataItem) -> Trace | None:
    if item.key == "Source" and item.value.strip() == "Luma AI":
        return _trace("Luma AI", item, f'{_where(item)} = "Luma AI"')
    if item.key.lower() == "comment" and _LUMA_COMMENT_RE.fullmatch(item.value.strip()):
        return _trace("Luma AI", item, f"{_where(item)} = {_clip(item.value, 80)}")
    return None


# §1 generic generator tokens, case-insensitive, on word boundaries: no letter or digit
# before, no letter after (so "flux" matches "FLUX.1" and "flux1-dev" but neither "influx"
# nor "Fluxus") [project choice].
GENERATOR_TOKENS: Final = (
    "firefly", "dall-e", "midjourney", "stable diffusion", "comfyui", "automatic1111",
    "invokeai", "imagen", "gpt-image", "ideogram", "leonardo", "flux", "dreamstudio",
    "novelai", "nightcafe",
)  # fmt: skip


def _token_pattern(token: str) -> str:
    # "dall-e" also as "DALL·E"; "stable diffusion" also as "StableDiffusion"/"stable-diffusion"
    special = {
        "dall-e": r"dall[-\u00b7\u2010\u2011 ]e",
        "stable diffusion": r"stable[\s_-]?diffusion",
        "gpt-image": r"gpt[-_ ]image",
    }
    return special.get(token, re.escape(token))


_TOKEN_RE = re.compile(
    r"(?<![^\W_])(?:" + "|".join(_token_pattern(t) for t in GENERATOR_TOKENS) + r")(?![^\W\d_])",
    re.IGNORECASE,
)


def _token_trace(item: MetadataItem, key: str, value: str, field: str) -> Trace | None:
    m = _TOKEN_RE.search(value)
    if m is None:
        return None
    return Trace("generator token", item.carrier, key,
                 _detail(f"{field} {_clip(value, 70)} names a generator ({m.group(0)!r})"))


# --------------------------------------------------------------------------------------------
# §2 hosted generators (metadata rows)
# --------------------------------------------------------------------------------------------

# Midjourney: the prompt plus "Job ID: <uuid>" (XMP dc:description; PNG `Description` and EXIF
# ImageDescription carry the same text in Midjourney downloads [inferred]).
_JOB_ID_RE = re.compile(rf"Job ID:\s*({_UUID})")
_MJ_KEYS = frozenset({"Description", "ImageDescription"})


def _midjourney_detail(field: str, text: str) -> str | None:
    m = _JOB_ID_RE.search(text)
    return None if m is None else f"{field} carries a Midjourney Job ID {m.group(1)}"


def _midjourney(item: MetadataItem) -> Trace | None:
    if item.key not in _MJ_KEYS:
        return None
    detail = _midjourney_detail(_where(item), item.value)
    return None if detail is None else _trace("Midjourney", item, detail)


# Ideogram: EXIF Make = "Ideogram AI". Reve: Software / CreatorTool = "reve.com".
# Aphrodite AI: Make / Software = "Aphrodite AI". Google: IPTC Credit = "Made with Google AI".
def _exact(value: str, expected: str) -> bool:
    return value.strip().casefold() == expected.casefold()


def _vendor_fields(item: MetadataItem) -> Trace | None:
    key, value = item.key, item.value
    if key == "Make" and _exact(value, "Ideogram AI"):
        return _trace("Ideogram", item, f'{_where(item)} = "Ideogram AI"')
    if key == "Software" and _exact(value, "reve.com"):
        return _trace("Reve", item, f'{_where(item)} = "reve.com"')
    if key in ("Make", "Software") and _exact(value, "Aphrodite AI"):
        return _trace("Aphrodite AI", item, f'{_where(item)} = "Aphrodite AI"')
    if key == "Credit" and _exact(value, "Made with Google AI"):
        return _trace("Google AI credit", item, f'IPTC Credit {_where(item)} = '
                      '"Made with Google AI"')
    return None


# xAI Grok: EXIF Artist = a UUID AND ImageDescription = "Signature: <base64, >= 64 chars>",
# both required [project choice]; matched within one carrier (one EXIF block).
_GROK_SIGNATURE_RE = re.compile(r"\s*Signature:\s*([A-Za-z0-9+/_-]{64,}={0,2})\s*")


def _grok(items: list[MetadataItem]) -> list[Trace]:
    artists = {i.carrier: i for i in items if i.key == "Artist" and _UUID_RE.fullmatch(i.value)}
    out = []
    for item in items:
        if item.key != "ImageDescription" or item.carrier not in artists:
            continue
        m = _GROK_SIGNATURE_RE.fullmatch(item.value)
        if m is None:
            continue
        artist = artists[item.carrier].value.strip()
        out.append(Trace("xAI Grok", item.carrier, "Artist+ImageDescription", _detail(
            f"EXIF Artist is an image UUID ({artist}) and ImageDescription a "
            f"{len(m.group(1))}-character base64 Signature: a Grok export")))
    return out


_TEXT_RULES: tuple[Callable[[MetadataItem], Trace | None], ...] = (
    _a1111, _fooocus, _comfyui, _invokeai, _novelai, _hugging_face, _luma, _midjourney,
    _vendor_fields,
)  # fmt: skip


# Fields that name the producing software in the audio/video containers, read like EXIF
# `Software` for the generic generator tokens [project choice]: ID3 TSSE/TENC, RIFF INFO ISFT,
# Vorbis ENCODER, MP4 ©too/©swr and mdta encoder/software keys, Matroska ENCODER/WRITING_APP.
SOFTWARE_KEYS = frozenset({
    "Software", "TSSE", "TENC", "ISFT", "ENCODER", "encoder", "\xa9too", "\xa9swr",
    "com.apple.quicktime.software", "WRITING_APP", "WritingApp", "encoded_by", "ENCODED_BY",
})


def _text_traces(item: MetadataItem) -> list[Trace]:
    out = [t for rule in _TEXT_RULES if (t := rule(item)) is not None]
    # Generic tokens (§1) in Software only when no specific rule already named the generator.
    if not out and item.key in SOFTWARE_KEYS:
        token = _token_trace(item, item.key, item.value, _where(item))
        if token is not None:
            out.append(token)
    return out


# --------------------------------------------------------------------------------------------
# XMP (§1 CreatorTool tokens, §2 Midjourney / Google / Reve, §3 IPTC)
# --------------------------------------------------------------------------------------------

IPTC_EXT_NS: Final = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XMP_NS = "http://ns.adobe.com/xap/1.0/"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_PHOTOSHOP_NS = "http://ns.adobe.com/photoshop/1.0/"

# Clark name -> short property name used below (any prefix bound to the URI matches).
_XMP_PROPERTIES = {
    f"{{{IPTC_EXT_NS}}}DigitalSourceType": "Iptc4xmpExt:DigitalSourceType",
    f"{{{IPTC_EXT_NS}}}AISystemUsed": "Iptc4xmpExt:AISystemUsed",
    f"{{{IPTC_EXT_NS}}}AISystemVersionUsed": "Iptc4xmpExt:AISystemVersionUsed",
    f"{{{_XMP_NS}}}CreatorTool": "xmp:CreatorTool",
    f"{{{_DC_NS}}}description": "dc:description",
    f"{{{_PHOTOSHOP_NS}}}Credit": "photoshop:Credit",
}
_RDF_LI = f"{{{_RDF_NS}}}li"
_RDF_RESOURCE = f"{{{_RDF_NS}}}resource"
_PI_RE = re.compile(r"<\?(?:xpacket|xml)\b.*?\?>", re.DOTALL)


def _is_xmp(item: MetadataItem) -> bool:
    key = item.key.lower()
    return key in ("xmp", "xml:com.adobe.xmp") or item.carrier.lower().endswith("xmp")


def _parse_xmp(packet: str) -> Element | None:
    """The packet's root element; ``None`` when it is not well-formed (never raises)."""
    start, end = packet.find("<"), packet.rfind(">")
    if start < 0 or end < start:
        return None
    text = _PI_RE.sub("", packet[start : end + 1])  # xpacket wrapper, XML declaration
    try:
        root: Element = SafeET.fromstring(text)
    except Exception:  # ParseError, defusedxml's EntitiesForbidden/DTDForbidden, ...
        return None
    return root


def _element_value(el: Element) -> str:
    """A simple property's value: ``rdf:resource``, the ``rdf:li`` texts, or the text."""
    resource = el.get(_RDF_RESOURCE)
    if resource is not None:
        return resource.strip()
    items = [" ".join("".join(li.itertext()).split()) for li in el.iter(_RDF_LI)]
    if items:
        return " | ".join(i for i in items if i)
    return "".join(el.itertext()).strip()


def _xmp_properties(root: Element) -> dict[str, list[str]]:
    props: dict[str, list[str]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        name = _XMP_PROPERTIES.get(el.tag)
        if name is not None:
            props.setdefault(name, []).append(_element_value(el))
        for attr, value in el.attrib.items():  # attribute (shorthand) form
            name = _XMP_PROPERTIES.get(attr)
            if name is not None:
                props.setdefault(name, []).append(value.strip())
    return props


# §3 IPTC DigitalSourceType: compare the final code, case-sensitive; http and https.
_DST_URI_RE = re.compile(r"(?i:https?://cv\.iptc\.org/newscodes/digitalsourcetype/)([A-Za-z]+)/?")
_DST_BARE_RE = re.compile(r"[A-Za-z]+")
_DST_AI = {
    "trainedAlgorithmicMedia": (AI_GENERATED, "strong", "made by a trained model"),
    "compositeWithTrainedAlgorithmicMedia": (AI_EDITED, "strong",
                                             "a composite including trained-model output"),
    # its definition also covers non-ML synthetic parts: lower weight [M; weight inferred]
    "compositeSynthetic": (AI_EDITED, "weak", "a composite with synthetic elements"),
}
# Capture, conventional editing or human-made (§3 "not an AI claim"), retired codes included;
# algorithmicMedia (procedural, no learned model) must not be flagged, so it is a non-AI claim.
_DST_NOT_AI = frozenset({
    "digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print",
    "humanEdits", "minorHumanEdits", "algorithmicallyEnhanced", "compositeCapture",
    "digitalArt", "digitalCreation", "softwareImage", "dataDrivenMedia", "virtualRecording",
    "screenCapture", "algorithmicMedia",
})  # fmt: skip


def _dst_code(value: str) -> str | None:
    """The code of a vocabulary URI (http or https) or of a bare code, else ``None``."""
    m = _DST_URI_RE.fullmatch(value)
    if m is not None:
        return m.group(1)
    return value if _DST_BARE_RE.fullmatch(value) else None


def source_type_claim(value: str) -> str:
    """The claim of an IPTC digital source type URI or code (§3): ``ai-generated``,
    ``ai-edited``, ``not-ai`` (capture, human-made, procedural ``algorithmicMedia``) or
    ``unknown``."""
    code = _dst_code(value)
    if code in _DST_AI:
        return _DST_AI[code][0]
    return NOT_AI if code in _DST_NOT_AI else UNKNOWN


def _dst_trace(carrier: str, value: str) -> Trace:
    key, source = "Iptc4xmpExt:DigitalSourceType", "IPTC DigitalSourceType"
    code = _dst_code(value)
    if code in _DST_AI:
        claim, weight, meaning = _DST_AI[code]
        return Trace(source, carrier, key, _detail(f"XMP DigitalSourceType {code} ({meaning})"),
                     claim, TIER_CLAIM, weight)
    if code in _DST_NOT_AI:
        return Trace(source, carrier, key, _detail(
            f"XMP DigitalSourceType {code}: a capture, procedural or human-made claim, "
            "not an AI claim"), NOT_AI, 0)
    if code == "composite":
        return Trace(source, carrier, key, "XMP DigitalSourceType composite: makes no AI "
                     "claim either way; reported, not counted", UNKNOWN, 0)
    return Trace(source, carrier, key, _detail(
        f"XMP DigitalSourceType {_clip(value, 90)} is not a known IPTC code; reported, "
        "not counted"), UNKNOWN, 0)


def _xmp_traces(item: MetadataItem) -> list[Trace]:
    root = _parse_xmp(item.value)
    if root is None:
        return []
    props = _xmp_properties(root)
    carrier, out = item.carrier, []
    out += [_dst_trace(carrier, v) for v in props.get("Iptc4xmpExt:DigitalSourceType", []) if v]
    # §3 IPTC Photo Metadata 2025.1: a non-empty AISystemUsed counts as a trace [inferred].
    versions = [v for v in props.get("Iptc4xmpExt:AISystemVersionUsed", []) if v]
    for system in props.get("Iptc4xmpExt:AISystemUsed", []):
        if system:
            version = f" version {_clip(versions[0], 30)}" if versions else ""
            out.append(Trace("IPTC AISystemUsed", carrier, "Iptc4xmpExt:AISystemUsed", _detail(
                f"XMP AISystemUsed {_clip(system, 60)}{version}"), AI_GENERATED, TIER_CLAIM))
    for tool in props.get("xmp:CreatorTool", []):
        if _exact(tool, "reve.com"):  # §2 Reve
            out.append(Trace("Reve", carrier, "xmp:CreatorTool", 'XMP CreatorTool = "reve.com"'))
        elif (token := _token_trace(item, "xmp:CreatorTool", tool, "XMP CreatorTool")) is not None:
            out.append(token)  # §1 generic tokens
    for description in props.get("dc:description", []):  # §2 Midjourney
        detail = _midjourney_detail("XMP dc:description", description)
        if detail is not None:
            out.append(Trace("Midjourney", carrier, "dc:description", _detail(detail)))
    for credit in props.get("photoshop:Credit", []):  # §2 Google
        if _exact(credit, "Made with Google AI"):
            out.append(Trace("Google AI credit", carrier, "photoshop:Credit",
                             'XMP IPTC Credit (photoshop:Credit) = "Made with Google AI"'))
    return out


# --------------------------------------------------------------------------------------------


def find_traces(items: Iterable[MetadataItem]) -> list[Trace]:
    """Every generation trace and IPTC source claim in ``items`` (generation-traces.md §1-§3).

    Values longer than :data:`MAX_VALUE` characters are skipped; malformed XMP packets and
    JSON yield nothing. Identical traces are reported once, in the order found. Claims other
    than ``"ai-generated"``/``"ai-edited"`` (capture claims, unknown IPTC codes) are included
    for reporting; the caller decides what counts.
    """
    usable = [i for i in items if i.value and len(i.value) <= MAX_VALUE]
    out: list[Trace] = []
    for item in usable:
        out += _xmp_traces(item) if _is_xmp(item) else _text_traces(item)
    out += _grok([i for i in usable if not _is_xmp(i)])
    return list(dict.fromkeys(out))
