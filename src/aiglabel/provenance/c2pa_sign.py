"""Sign a C2PA manifest into a media file: the AI claim and, optionally, the GB label.

Spec: C2PA Technical Specification 2.x (https://c2pa.org/specifications/), chapters on actions
and on the X.509 certificate profile; IPTC digital source types
(http://cv.iptc.org/newscodes/digitalsourcetype/). Library: c2pa-python 0.38 (c2pa-rs 0.91),
imported only when a function here runs, so the core package works without it.

What the manifest holds:

- ``c2pa.actions.v2``. A new work (no C2PA manifest in the source, a creation source type):
  one ``c2pa.created`` action with ``digitalSourceType`` (C2PA 2.x: the first action is
  ``c2pa.created`` or ``c2pa.opened``; c2pa-rs refuses to sign anything else, "first action must
  be created or opened"). An edit (the source already carries a manifest, or an edit source
  type such as ``compositeWithTrainedAlgorithmicMedia``): the source file becomes the
  ``parentOf`` ingredient (its manifest, if any, travels along), the first action is
  ``c2pa.opened`` naming it and a ``c2pa.edited`` action carries the source type. Signing a
  file that already carries a manifest as a new creation would drop that manifest, which
  ``intent="auto"`` avoids. No ``softwareAgent`` is written: aiglabel labels the content, it
  did not generate it.
- ``claim_generator_info``: ``{"name": "aiglabel", "version": <aiglabel version>}``.
- ``cn.org.tc260.aigc`` (:data:`GB_ASSERTION_LABEL`), when a GB label is given:
  ``{"AIGC": {<the seven GB 45438 Annex E fields>}}``, the wrapped form of the implicit label.
  The label is aiglabel's: TC260 has defined no C2PA assertion. It is the reverse DNS of
  ``tc260.org.cn``, the domain of the TC260 XMP namespace that the implicit label already uses
  (``http://www.tc260.org.cn/ns/AIGC/1.0/``); readers also accept ``cn.tc260.aigc``.

Offline: no timestamp authority (no ``tsa_url``), no OCSP, no remote manifests, no network host
allowed (:func:`c2pa_settings`). Without a trusted timestamp, validators check the signer
certificate against the current time, so a manifest stops validating once its signer
certificate expires.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from aiglabel._io import atomic_output, open_regular
from aiglabel.errors import (
    CarrierUnsupportedError,
    CorruptFileError,
    InvalidLabelError,
    OutputError,
    UnsupportedFormatError,
)
from aiglabel.provenance._c2pacommon import (
    EDIT_SOURCE_TYPES,
    GB_ASSERTION_LABEL,
    HEAD_SIZE,
    MISSING_CRYPTO,
    PASSPHRASE_ENV,
    SUPPORTED_MIME_TYPES,
    ZIP_MIME,
    Intent,
    c2pa_settings,
    detect_mime,
    load_c2pa,
    source_type_uri,
    supported_mime_types,
)

if TYPE_CHECKING:

    from aiglabel.gb45438 import AIGCRecord

__all__ = ["C2paSignResult", "sign_c2pa", "sign_c2pa_bytes"]

@dataclass(frozen=True, slots=True)
class C2paSignResult:
    """What :func:`sign_c2pa` wrote.

    Attributes:
        path: the signed file.
        mime: the asset's MIME type, from its bytes.
        alg: the signature algorithm (``es256``, ``es384``, ``es512``, ``ps256``, ``ed25519``).
        intent: ``"create"`` (``c2pa.created``) or ``"edit"`` (``c2pa.opened`` + ``c2pa.edited``
            with the source as parent ingredient).
        source_type: the ``digitalSourceType`` URI written.
        actions: the actions written, in order.
        assertions: the labels of the assertions written (before those c2pa-rs adds itself,
            such as the hash binding and the ingredient).
        manifest_size: size of the signed manifest store in bytes.
    """

    path: Path
    mime: str
    alg: str
    intent: Literal["create", "edit"]
    source_type: str
    actions: tuple[str, ...]
    assertions: tuple[str, ...]
    manifest_size: int


@dataclass(frozen=True, slots=True)
class _Credentials:
    alg: str
    chain_pem: str
    key_pem: str


def _pem_text(value: str | os.PathLike[str], what: str) -> tuple[str, str]:
    """(PEM text, display name) for a path or for PEM text passed as it is."""
    if isinstance(value, str) and "-----BEGIN" in value:
        return value, f"<{what}>"
    shown = os.fspath(value)
    try:
        with open(shown, "rb") as f:
            data = f.read(1 << 20)
    except OSError as exc:
        msg = f"cannot read the {what} ({exc.strerror or exc})"
        raise InvalidLabelError(msg, path=shown) from None
    return data.decode("ascii", "replace"), shown


def _alg_for(key: Any, shown: str) -> str:
    """The C2PA algorithm for a private key (C2PA allows ES256/384/512, PS256/384/512, Ed25519)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:  # c2pa-rs check_certificate_profile: at least 2048 bits
            msg = f"RSA key of {key.key_size} bits; C2PA needs at least 2048"
            raise InvalidLabelError(msg, path=shown)
        return "ps256"  # C2PA allows RSASSA-PSS only, not PKCS#1 v1.5
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(
            key.curve.name)
        if alg is not None:
            return alg
        msg = f"EC curve {key.curve.name} is not P-256, P-384 or P-521"
        raise InvalidLabelError(msg, path=shown)
    msg = f"unsupported key type {type(key).__name__} (use EC P-256, RSA or Ed25519)"
    raise InvalidLabelError(msg, path=shown)


def _load_credentials(cert_chain: str | os.PathLike[str],
                      key: str | os.PathLike[str]) -> _Credentials:
    """Read the chain and key, check they belong together, pick the algorithm."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
    except ImportError as exc:
        raise CarrierUnsupportedError(MISSING_CRYPTO) from exc

    key_text, key_shown = _pem_text(key, "private key")
    chain_text, chain_shown = _pem_text(cert_chain, "certificate chain")
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        private = serialization.load_pem_private_key(
            key_text.encode("ascii"), password=passphrase.encode() if passphrase else None)
    except (ValueError, TypeError) as exc:
        msg = f"not a usable PEM private key ({exc})"
        raise InvalidLabelError(msg, path=key_shown) from None
    alg = _alg_for(private, key_shown)
    try:
        certs = x509.load_pem_x509_certificates(chain_text.encode("ascii"))
    except ValueError as exc:
        msg = f"not a PEM certificate chain ({exc})"
        raise InvalidLabelError(msg, path=chain_shown) from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if certs[0].public_key().public_bytes(der, spki) != private.public_key().public_bytes(der,
                                                                                          spki):
        msg = "the first certificate of the chain does not match the private key"
        raise InvalidLabelError(msg, path=chain_shown)
    chain_pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)
    # c2pa-rs reads PKCS#8; SEC1 and PKCS#1 files and encrypted keys are converted in memory.
    key_pem = private.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
    return _Credentials(alg, chain_pem, key_pem)


def _gb_assertion_data(gb_label: str | AIGCRecord) -> dict[str, dict[str, str]]:
    """``{"AIGC": {...}}`` from a label in any form :func:`aiglabel.gb45438.parse_label` reads."""
    from aiglabel.gb45438 import AIGCRecord, parse_label

    if isinstance(gb_label, AIGCRecord):
        return {"AIGC": gb_label.to_dict()}
    parsed = parse_label(gb_label)
    if parsed.record is None:
        reasons = "; ".join(f.message for f in parsed.findings) or "not a GB 45438 label"
        msg = f"GB label for the C2PA assertion is unusable: {reasons}"
        raise InvalidLabelError(msg)
    return {"AIGC": parsed.record.to_dict()}


def _aiglabel_version() -> str:
    import aiglabel

    version = getattr(aiglabel, "__version__", None)
    if isinstance(version, str):
        return version
    from importlib import metadata

    try:
        return metadata.version("aiglabel")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class _Request:
    """The checked arguments of a signing call."""

    source_type: str  # the IPTC URI
    intent: Intent
    gb_data: dict[str, dict[str, str]] | None
    title: str | None
    thumbnail: bool

    @classmethod
    def check(cls, *, source_type: str, intent: Intent, gb_label: str | AIGCRecord | None,
              title: str | None, thumbnail: bool) -> _Request:
        uri = source_type_uri(source_type)
        if intent not in ("auto", "create", "edit"):
            msg = f"intent {intent!r} is not one of auto, create, edit"
            raise InvalidLabelError(msg)
        gb_data = _gb_assertion_data(gb_label) if gb_label is not None else None
        return cls(uri, intent, gb_data, title, thumbnail)


@dataclass(frozen=True, slots=True)
class _Plan:
    intent: Literal["create", "edit"]
    manifest: dict[str, Any]
    actions: tuple[str, ...]
    assertions: tuple[str, ...]


_PARENT_ID = "aiglabel-parent"


def _plan(req: _Request, *, has_manifest: bool) -> _Plan:
    """The manifest definition for c2pa-python's Builder."""
    code = req.source_type.rsplit("/", 1)[-1]
    chosen: Literal["create", "edit"]
    if req.intent == "auto":
        chosen = "edit" if has_manifest or code in EDIT_SOURCE_TYPES else "create"
    else:
        chosen = req.intent
    if chosen == "create":
        actions: list[dict[str, Any]] = [
            {"action": "c2pa.created", "digitalSourceType": req.source_type},
        ]
    else:
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": [_PARENT_ID]}},
            {"action": "c2pa.edited", "digitalSourceType": req.source_type},
        ]
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "data": {"actions": actions}},
    ]
    if req.gb_data is not None:
        assertions.append({"label": GB_ASSERTION_LABEL, "data": req.gb_data})
    manifest: dict[str, Any] = {
        "claim_generator_info": [{"name": "aiglabel", "version": _aiglabel_version()}],
        "assertions": assertions,
    }
    if req.title is not None:
        manifest["title"] = req.title
    return _Plan(chosen, manifest, tuple(a["action"] for a in actions),
                 tuple(a["label"] for a in assertions))


def _c2pa_message(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _has_manifest(c2pa: Any, ctx: Any, mime: str, stream: IO[bytes], name: str) -> bool:
    """Whether the source already carries a C2PA manifest (embedded or remote)."""
    stream.seek(0)
    try:
        reader = c2pa.Reader.try_create(mime, stream, None, ctx)
    except c2pa.C2paError as exc:
        text = _c2pa_message(exc)
        if text.startswith("Remote"):
            return True
        msg = f"cannot read the existing C2PA data ({text})"
        raise CorruptFileError(msg, path=name) from None
    finally:
        stream.seek(0)
    if reader is None:
        return False
    reader.close()
    return True


def _sign_stream(src: IO[bytes], dst: IO[bytes], *, mime: str, name: str, creds: _Credentials,
                 req: _Request, ingredient_title: str) -> tuple[_Plan, int]:
    """Sign ``src`` into ``dst`` (readable and writable, empty). Returns the plan and the
    manifest store size."""
    c2pa = load_c2pa()
    if mime not in supported_mime_types():
        msg = f"C2PA signing does not support {mime} with the installed c2pa-python"
        raise UnsupportedFormatError(msg, path=name)
    with c2pa.Context.from_dict(c2pa_settings(thumbnail=req.thumbnail)) as ctx:
        has_manifest = req.intent == "auto" and _has_manifest(c2pa, ctx, mime, src, name)
        plan = _plan(req, has_manifest=has_manifest)
        try:
            with c2pa.Builder(plan.manifest, context=ctx) as builder:
                if plan.intent == "edit":
                    builder.add_ingredient({"title": ingredient_title,
                                            "relationship": "parentOf",
                                            "label": _PARENT_ID}, mime, src)
                    src.seek(0)
                info = c2pa.C2paSignerInfo(creds.alg.encode(), creds.chain_pem.encode(),
                                           creds.key_pem.encode(), None)
                with c2pa.Signer.from_info(info) as signer:
                    manifest = builder.sign(signer, mime, src, dst)
        except c2pa.C2paError as exc:
            text = _c2pa_message(exc)
            if text.startswith("NotSupported"):
                msg = f"C2PA signing does not support this {mime} file ({text})"
                raise UnsupportedFormatError(msg, path=name) from None
            if text.startswith("Signature") or "certificate" in text.lower():
                msg = f"C2PA signing rejected the credentials ({text})"
                raise InvalidLabelError(msg, path=name) from None
            msg = f"C2PA signing failed ({text})"
            raise CorruptFileError(msg, path=name) from None
    return plan, len(manifest)


def _detect(head: bytes, name: str) -> str:
    mime = detect_mime(head)
    if mime == ZIP_MIME:
        msg = ("C2PA signing of ZIP-based documents (DOCX, XLSX, PPTX, EPUB, ODF) is not "
               "supported by c2pa-python 0.38 (no deflate)")
        raise UnsupportedFormatError(msg, path=name)
    if mime is None or mime not in SUPPORTED_MIME_TYPES:
        what = "empty file" if not head else f"first bytes {head[:8].hex(' ')}"
        msg = f"not a format C2PA signing supports ({what})"
        raise UnsupportedFormatError(msg, path=name)
    return mime


def sign_c2pa(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    cert_chain: str | os.PathLike[str],
    key: str | os.PathLike[str],
    gb_label: str | AIGCRecord | None,
    source_type: str = "trainedAlgorithmicMedia",
    title: str | None = None,
    intent: Intent = "auto",
    thumbnail: bool = False,
    overwrite: bool = False,
) -> C2paSignResult:
    """Sign a C2PA manifest into a copy of ``src`` written to ``dst`` (never in place).

    The output goes to a temporary file next to ``dst``, renamed into place when complete; on
    any error no output remains.

    Args:
        src: the media file.
        dst: the signed copy.
        cert_chain: PEM file (or PEM text): the signer certificate, then its CA certificates.
        key: PEM file (or PEM text) of the signer's private key (PKCS#8, SEC1 or PKCS#1;
            encrypted keys take the passphrase from ``AIGLABEL_KEY_PASSPHRASE``). The
            algorithm follows the key: P-256 ES256, P-384 ES384, P-521 ES512, RSA PS256,
            Ed25519.
        gb_label: the GB 45438 implicit label (compact JSON text or a record) for the
            :data:`GB_ASSERTION_LABEL` assertion; ``None`` writes no such assertion.
        source_type: IPTC digital source type (code or URI) of the content.
        title: the manifest title (``dc:title``); none by default.
        intent: ``"auto"`` (an edit when ``src`` already carries a manifest or the source type
            describes an edit, else a creation), ``"create"`` or ``"edit"``.
        thumbnail: embed a thumbnail in the manifest (off: it adds tens of kilobytes).
        overwrite: replace an existing ``dst``.

    Returns:
        What was written.

    Raises:
        UnsupportedFormatError: not a format c2pa-python signs.
        InvalidLabelError: unusable credentials, GB label or source type.
        CorruptFileError: the input cannot be read or c2pa-python fails on it.
        OutputError: ``dst`` is ``src``, exists, or cannot be written.
        CarrierUnsupportedError: c2pa-python or cryptography is not installed.
    """
    src_path, dst_path = Path(src), Path(dst)
    name = str(src_path)
    if dst_path.exists() and src_path.exists() and os.path.samefile(src_path, dst_path):
        msg = "output is the input file; C2PA signing writes a new file"
        raise OutputError(msg, path=str(dst_path))
    if not overwrite and dst_path.exists():
        msg = "output exists (use overwrite)"
        raise OutputError(msg, path=str(dst_path))
    req = _Request.check(source_type=source_type, intent=intent, gb_label=gb_label,
                         title=title, thumbnail=thumbnail)
    creds = _load_credentials(cert_chain, key)
    try:
        src_file = open_regular(os.fspath(src_path), name)
    except OSError as exc:
        msg = f"cannot read the input ({exc.strerror or exc})"
        raise CorruptFileError(msg, path=name) from None
    with src_file:
        mime = _detect(src_file.read(HEAD_SIZE), name)
        src_file.seek(0)
        with atomic_output(dst_path, overwrite=overwrite, readable=True) as out:
            plan, size = _sign_stream(src_file, out, mime=mime, name=name, creds=creds,
                                      req=req, ingredient_title=src_path.name)
    return C2paSignResult(dst_path, mime, creds.alg, plan.intent, req.source_type,
                          plan.actions, plan.assertions, size)


def sign_c2pa_bytes(
    data: bytes,
    mime: str | None = None,
    *,
    cert_chain: str | os.PathLike[str],
    key: str | os.PathLike[str],
    gb_label: str | AIGCRecord | None,
    source_type: str = "trainedAlgorithmicMedia",
    title: str | None = None,
    intent: Intent = "auto",
    thumbnail: bool = False,
) -> bytes:
    """Sign a C2PA manifest into an in-memory asset; see :func:`sign_c2pa` for the arguments.

    Args:
        data: the asset's bytes.
        mime: its MIME type; ``None`` detects it from the bytes (a given type must agree with
            the bytes' family as c2pa-rs parses them).

    Returns:
        The signed asset's bytes.

    Raises:
        UnsupportedFormatError, InvalidLabelError, CorruptFileError, CarrierUnsupportedError:
            as :func:`sign_c2pa`.
    """
    name = "<bytes>"
    if mime is None:
        mime = _detect(bytes(data[:HEAD_SIZE]), name)
    elif mime not in SUPPORTED_MIME_TYPES:
        msg = f"C2PA signing does not support {mime}"
        raise UnsupportedFormatError(msg, path=name)
    req = _Request.check(source_type=source_type, intent=intent, gb_label=gb_label,
                         title=title, thumbnail=thumbnail)
    creds = _load_credentials(cert_chain, key)
    out = io.BytesIO()
    _sign_stream(io.BytesIO(bytes(data)), out, mime=mime, name=name, creds=creds, req=req,
                 ingredient_title="parent")
    return out.getvalue()


