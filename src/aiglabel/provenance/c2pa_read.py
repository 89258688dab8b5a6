"""Read and validate a file's C2PA manifest offline: state, AI claims, signer, GB label.

Spec: C2PA Technical Specification 2.x (https://c2pa.org/specifications/), chapters on
validation (status codes) and actions; IPTC digital source types. Library: c2pa-python 0.38
(c2pa-rs 0.91), imported only when :func:`read_c2pa` runs.

States (c2pa-rs ``validation_state``, plus one of ours):

- ``Trusted``: well formed, hashes match, and the signer chain ends in a configured anchor.
- ``Valid``: well formed and hashes match, signer not trusted (no anchors given, or another
  CA); ``validation_codes`` then holds ``signingCredential.untrusted``.
- ``Invalid``: a failure such as ``assertion.dataHash.mismatch`` (the content changed after
  signing) or a bad signature.
- ``Remote``: the file points to a manifest stored elsewhere (``remote_url``). It is never
  fetched, so nothing is validated and no claim is read.

Nothing is fetched (settings: :func:`aiglabel.provenance.c2pa_sign.c2pa_settings`): no remote
manifest, no OCSP, no network host allowed.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import asdict, dataclass, replace
from typing import IO, Any, Literal

from aiglabel._io import open_regular
from aiglabel.errors import CorruptFileError, InvalidLabelError
from aiglabel.gb45438 import FIELDS
from aiglabel.provenance._c2pacommon import (
    AI_SOURCE_TYPES,
    GB_ASSERTION_LABELS,
    HEAD_SIZE,
    READ_MIME_TYPES,
    c2pa_settings,
    detect_mime,
    load_c2pa,
)

__all__ = ["C2paReport", "C2paState", "is_ai_source_type", "read_c2pa", "report_from_store"]

C2paState = Literal["Trusted", "Valid", "Invalid", "Remote"]
MAX_INGREDIENT_DEPTH = 32  # manifests followed through ingredients, at most
_REMOTE_URL = re.compile(r"\burl\s+(\S+)")
_IPTC_PREFIXES = ("http://cv.iptc.org/newscodes/digitalsourcetype/",
                  "https://cv.iptc.org/newscodes/digitalsourcetype/")


def is_ai_source_type(uri: str) -> bool:
    """Whether a ``digitalSourceType`` claims generative AI: the IPTC codes
    ``trainedAlgorithmicMedia`` and ``compositeWithTrainedAlgorithmicMedia``, ``http`` or
    ``https``, compared case-sensitively on the last segment (generation-traces §3)."""
    for prefix in _IPTC_PREFIXES:
        if uri.startswith(prefix):
            return uri[len(prefix):] in AI_SOURCE_TYPES
    return False


@dataclass(frozen=True, slots=True)
class C2paReport:
    """What a file's C2PA manifest store says, as validated offline.

    Attributes:
        state: ``Trusted``, ``Valid``, ``Invalid`` or ``Remote`` (module docstring).
        validation_codes: failure status codes, active manifest first, then ingredients
            (``signingCredential.untrusted``, ``assertion.dataHash.mismatch``, ...), each once.
        validation_messages: the same failures as ``code: explanation``.
        active_label: the active manifest's label (``urn:c2pa:...``).
        claim_generator: the tool that wrote the manifest (``name version``, joined by ``; ``).
        signer: the signer certificate's common name (else its organisation).
        issuer: the signer certificate's organisation, as c2pa-rs reports it.
        alg: the signature algorithm (``Es256``, ``Ps256``, ``Ed25519``, ...).
        actions: the active manifest's actions, in order (``c2pa.created``, ...).
        source_types: the ``digitalSourceType`` URIs of the active manifest's actions.
        ingredient_source_types: those of the manifests reached through ingredients.
        software_agents: the ``softwareAgent`` names of the active manifest's actions.
        is_ai: an AI source type (:func:`is_ai_source_type`) in either list.
        remote_url: where a remote manifest lives (state ``Remote``); never fetched.
        gb_label: the GB 45438 label from the active manifest's ``cn.org.tc260.aigc``
            assertion, as compact JSON (the seven fields, no wrapper), or ``None``.
        mime: the MIME type the file was read as.
    """

    state: C2paState
    validation_codes: tuple[str, ...] = ()
    validation_messages: tuple[str, ...] = ()
    active_label: str | None = None
    claim_generator: str | None = None
    signer: str | None = None
    issuer: str | None = None
    alg: str | None = None
    actions: tuple[str, ...] = ()
    source_types: tuple[str, ...] = ()
    ingredient_source_types: tuple[str, ...] = ()
    software_agents: tuple[str, ...] = ()
    is_ai: bool = False
    remote_url: str | None = None
    gb_label: str | None = None
    mime: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action of every ``c2pa.actions`` / ``c2pa.actions.v2`` assertion (and their
    ``__N`` instances), in order."""
    out: list[dict[str, Any]] = []
    for assertion in _dicts(manifest.get("assertions")):
        label = assertion.get("label")
        if isinstance(label, str) and label.split("__")[0] in ("c2pa.actions",
                                                               "c2pa.actions.v2"):
            data = assertion.get("data")
            if isinstance(data, dict):
                out.extend(_dicts(data.get("actions")))
    return out


def _source_types(manifest: dict[str, Any]) -> list[str]:
    return [t for a in _actions(manifest) if (t := _text(a.get("digitalSourceType")))]


def _software_agents(manifest: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for action in _actions(manifest):
        agent = action.get("softwareAgent")
        name = _text(agent.get("name")) if isinstance(agent, dict) else _text(agent)
        if name:
            names.append(name)
    return names


def _ingredient_source_types(store: dict[str, Any], active: dict[str, Any]) -> list[str]:
    """Source types of every manifest reached through ingredients, breadth first, each
    manifest once (a manifest store is a graph; cycles and depth are bounded)."""
    manifests = store.get("manifests")
    if not isinstance(manifests, dict):
        return []
    found: list[str] = []
    seen: set[str] = set()
    frontier = [active]
    for _ in range(MAX_INGREDIENT_DEPTH):
        following: list[dict[str, Any]] = []
        for manifest in frontier:
            for ingredient in _dicts(manifest.get("ingredients")):
                label = _text(ingredient.get("active_manifest"))
                if label is None or label in seen or not isinstance(manifests.get(label), dict):
                    continue
                seen.add(label)
                following.append(manifests[label])
                found.extend(_source_types(manifests[label]))
        if not following:
            break
        frontier = following
    return found


def _gb_label(manifest: dict[str, Any]) -> str | None:
    for assertion in _dicts(manifest.get("assertions")):
        label = assertion.get("label")
        if not isinstance(label, str) or label.split("__")[0] not in GB_ASSERTION_LABELS:
            continue
        data = assertion.get("data")
        inner = data.get("AIGC") if isinstance(data, dict) else None
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict):
            # c2pa-rs hands maps back with sorted keys; Annex E order is normative (rules
            # §B.6), so the seven fields go first in that order, anything else after them.
            ordered = {k: inner[k] for k in FIELDS if k in inner}
            ordered.update((k, v) for k, v in inner.items() if k not in ordered)
            return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)
    return None


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    infos = _dicts(manifest.get("claim_generator_info"))
    parts = [" ".join(p for p in (_text(i.get("name")), _text(i.get("version"))) if p)
             for i in infos]
    joined = "; ".join(p for p in parts if p)
    return joined or _text(manifest.get("claim_generator"))


def _failures(results: object) -> list[tuple[str, str]]:
    """(code, explanation) of the active manifest's failures, then the ingredients'."""
    if not isinstance(results, dict):
        return []
    groups: list[object] = []
    active = results.get("activeManifest")
    if isinstance(active, dict):
        groups.append(active.get("failure"))
    for delta in _dicts(results.get("ingredientDeltas")):
        inner = delta.get("validationDeltas")
        if isinstance(inner, dict):
            groups.append(inner.get("failure"))
    out: list[tuple[str, str]] = []
    for group in groups:
        for status in _dicts(group):
            code = _text(status.get("code"))
            if code:
                out.append((code, _text(status.get("explanation")) or ""))
    return out


_STATES: dict[str, C2paState] = {"Trusted": "Trusted", "Valid": "Valid", "Invalid": "Invalid"}


def _state(store: dict[str, Any], failures: list[tuple[str, str]]) -> C2paState:
    state = store.get("validation_state")
    if isinstance(state, str) and state in _STATES:
        return _STATES[state]
    # Older stores without validation_state: untrusted alone still means Valid.
    hard = [c for c, _ in failures if c != "signingCredential.untrusted"]
    return "Invalid" if hard else "Valid"


def report_from_store(store: dict[str, Any], *, mime: str | None = None) -> C2paReport:
    """Build a :class:`C2paReport` from c2pa-python's ``Reader.json()`` mapping.

    Args:
        store: the parsed manifest store JSON (``active_manifest``, ``manifests``,
            ``validation_state``, ``validation_results``).
        mime: the MIME type the file was read as.
    """
    manifests = store.get("manifests")
    active_label = _text(store.get("active_manifest"))
    active: dict[str, Any] = {}
    if isinstance(manifests, dict) and active_label and isinstance(manifests.get(active_label),
                                                                   dict):
        active = manifests[active_label]
    failures = _failures(store.get("validation_results"))
    codes = list(dict.fromkeys(c for c, _ in failures))
    messages = list(dict.fromkeys(f"{c}: {e}" if e else c for c, e in failures))
    source_types = _source_types(active)
    ingredient_types = _ingredient_source_types(store, active) if active else []
    signature = active.get("signature_info")
    signature = signature if isinstance(signature, dict) else {}
    issuer = _text(signature.get("issuer"))
    return C2paReport(
        state=_state(store, failures),
        validation_codes=tuple(codes),
        validation_messages=tuple(messages),
        active_label=active_label,
        claim_generator=_claim_generator(active),
        signer=_text(signature.get("common_name")) or issuer,
        issuer=issuer,
        alg=_text(signature.get("alg")),
        actions=tuple(a for x in _actions(active) if (a := _text(x.get("action")))),
        source_types=tuple(source_types),
        ingredient_source_types=tuple(ingredient_types),
        software_agents=tuple(_software_agents(active)),
        is_ai=any(is_ai_source_type(t) for t in (*source_types, *ingredient_types)),
        gb_label=_gb_label(active),
        mime=mime,
    )


def _anchors_text(anchors_pem: str | os.PathLike[str] | None) -> str | None:
    if anchors_pem is None:
        return None
    if isinstance(anchors_pem, str):
        text, shown = anchors_pem, "<anchors_pem>"
    else:
        shown = os.fspath(anchors_pem)
        try:
            with open(shown, "rb") as f:
                text = f.read(64 << 20).decode("ascii", "replace")
        except OSError as exc:
            msg = f"cannot read the trust anchors ({exc.strerror or exc})"
            raise InvalidLabelError(msg, path=shown) from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        msg = "trust anchors are not a PEM certificate bundle (pass a Path to read a file)"
        raise InvalidLabelError(msg, path=shown)
    return text


def read_c2pa(
    path_or_bytes: str | os.PathLike[str] | bytes | IO[bytes],
    *,
    anchors_pem: str | os.PathLike[str] | None = None,
    name: str | None = None,
    trust_config: str | None = None,
) -> C2paReport | None:
    """Read and validate the C2PA manifest store of a file, offline.

    Args:
        path_or_bytes: a path, the file's bytes, or a seekable binary stream (read from its
            first byte, whatever its position).
        anchors_pem: trust anchors: PEM text, or a path (``os.PathLike``) to a PEM bundle
            (e.g. the C2PA trust list). A signer chaining to one of them reads as
            ``Trusted``; without anchors a sound manifest is ``Valid``.
        name: display name for error messages (bytes and streams).
        trust_config: more accepted signer EKU OIDs, one per line (the CAI ``store.cfg``
            format), added to :data:`~aiglabel.provenance.c2pa_sign.C2PA_SIGNER_EKUS`.

    Returns:
        The report, or ``None`` when the file carries no C2PA manifest (including formats
        that cannot carry one, and ZIP-based documents, which this version does not read).

    Raises:
        CorruptFileError: a manifest or the container around it cannot be parsed.
        InvalidLabelError: ``anchors_pem`` is not a PEM bundle.
        CarrierUnsupportedError: c2pa-python is not installed.
    """
    anchors = _anchors_text(anchors_pem)
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        shown = name or "<bytes>"
        return _read(io.BytesIO(bytes(path_or_bytes)), shown, anchors, trust_config)
    if isinstance(path_or_bytes, str | os.PathLike):
        shown = name or os.fspath(path_or_bytes)
        try:
            f = open_regular(os.fspath(path_or_bytes), shown)
        except OSError as exc:
            msg = f"cannot read the file ({exc.strerror or exc})"
            raise CorruptFileError(msg, path=shown) from None
        with f:
            return _read(f, shown, anchors, trust_config)
    shown = name or str(getattr(path_or_bytes, "name", "") or "<stream>")
    return _read(path_or_bytes, shown, anchors, trust_config)


def _read(stream: IO[bytes], name: str, anchors: str | None,
          trust_config: str | None) -> C2paReport | None:
    # c2pa-rs reads the stream from byte 0, whatever its position.
    stream.seek(0)
    head = stream.read(HEAD_SIZE)
    stream.seek(0)
    mime = detect_mime(head)
    if mime is None or mime not in READ_MIME_TYPES:
        return None
    c2pa = load_c2pa()
    settings = c2pa_settings(anchors_pem=anchors, trust_config=trust_config)
    with c2pa.Context.from_dict(settings) as ctx:
        try:
            reader = c2pa.Reader.try_create(mime, stream, None, ctx)
        except c2pa.C2paError as exc:
            text = " ".join(str(exc).split())
            if text.startswith("Remote"):
                match = _REMOTE_URL.search(text)
                return C2paReport(state="Remote", remote_url=match[1] if match else None,
                                  mime=mime)
            if text.startswith("NotSupported"):
                return None
            msg = f"C2PA data cannot be read ({text})"
            raise CorruptFileError(msg, path=name) from None
        if reader is None:
            return None
        with reader:
            try:
                store = json.loads(reader.json())
                remote = reader.get_remote_url()
            except (c2pa.C2paError, ValueError) as exc:
                msg = f"C2PA manifest store cannot be decoded ({exc})"
                raise CorruptFileError(msg, path=name) from None
    if not isinstance(store, dict):
        msg = "C2PA manifest store is not a JSON object"
        raise CorruptFileError(msg, path=name)
    report = report_from_store(store, mime=mime)
    if isinstance(remote, str) and remote:
        return replace(report, remote_url=remote)
    return report
