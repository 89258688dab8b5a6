"""Shared C2PA ground: constants (assertion labels, IPTC source types, MIME types), loading
c2pa-python, the offline settings every read and write uses, and MIME detection from bytes.

Used by :mod:`aiglabel.provenance.c2pa_sign` and :mod:`aiglabel.provenance.c2pa_read`, which
re-export the public names.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Literal

from aiglabel.errors import CarrierUnsupportedError, InvalidLabelError

__all__ = [
    "AI_SOURCE_TYPES",
    "C2PA_SIGNER_EKUS",
    "EDIT_SOURCE_TYPES",
    "GB_ASSERTION_LABEL",
    "GB_ASSERTION_LABELS",
    "HEAD_SIZE",
    "IPTC_SOURCE_TYPE_PREFIX",
    "PASSPHRASE_ENV",
    "READ_MIME_TYPES",
    "SOURCE_TYPES",
    "SUPPORTED_MIME_TYPES",
    "ZIP_MIME",
    "Intent",
    "MISSING_CRYPTO",
    "c2pa_settings",
    "detect_mime",
    "load_c2pa",
    "source_type_uri",
    "supported_mime_types",
]

GB_ASSERTION_LABEL = "cn.org.tc260.aigc"
# Labels read as the GB label assertion: ours, and the shorter spelling some tools may use.
GB_ASSERTION_LABELS = (GB_ASSERTION_LABEL, "cn.tc260.aigc")
IPTC_SOURCE_TYPE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
_IPTC_PREFIXES = (IPTC_SOURCE_TYPE_PREFIX, "https://cv.iptc.org/newscodes/digitalsourcetype/")

# The IPTC digital source type vocabulary (codes current in 2025, plus the retired
# digitalCreation and the c2pa-python enum's composite): the values sign_c2pa accepts.
SOURCE_TYPES = frozenset({
    "algorithmicallyEnhanced", "algorithmicMedia", "composite", "compositeCapture",
    "compositeSynthetic", "compositeWithTrainedAlgorithmicMedia", "computationalCapture",
    "dataDrivenMedia", "digitalArt", "digitalCapture", "digitalCreation", "humanEdits",
    "minorHumanEdits", "negativeFilm", "positiveFilm", "print", "screenCapture",
    "trainedAlgorithmicMedia", "virtualRecording",
})
# Codes that describe changes to existing content: signed as c2pa.opened + c2pa.edited.
EDIT_SOURCE_TYPES = frozenset({
    "algorithmicallyEnhanced", "compositeSynthetic", "compositeWithTrainedAlgorithmicMedia",
    "humanEdits", "minorHumanEdits",
})
# Codes that claim generative AI (generation-traces §3): made by a trained model, or a
# composite that includes such parts. algorithmicMedia (procedural, no training data) is not AI;
# compositeSynthetic also covers non-ML synthetic parts and is left to the caller to weigh.
AI_SOURCE_TYPES = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"})

# MIME types this version signs: the c2pa-python 0.38.1 Builder list, less the ZIP-based
# documents (DOCX, XLSX, PPTX, EPUB, ODF, OXPS: its ZIP reader has no deflate, so any real
# document fails with "compression method not supported: 8"), sidecars and camera raw.
SUPPORTED_MIME_TYPES = (
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/heic",
    "image/heif", "image/avif", "image/jxl", "image/svg+xml",
    "audio/wav", "audio/mpeg", "audio/flac", "audio/mp4",
    "video/mp4", "video/quicktime", "video/x-m4v", "video/x-msvideo",
    "application/pdf",
)
# Reading also takes a bare manifest store (a .c2pa sidecar).
READ_MIME_TYPES = (*SUPPORTED_MIME_TYPES, "application/c2pa")
ZIP_MIME = "application/zip"

# Signer EKUs accepted when validating: c2pa-rs's list (sdk/src/crypto/cose/valid_eku_oids.cfg,
# as built into c2pa-rs 0.91), which the conformance program's claim-signing leaf profile uses.
C2PA_SIGNER_EKUS = (
    "1.3.6.1.5.5.7.3.4",  # id-kp-emailProtection
    "1.3.6.1.5.5.7.3.36",  # id-kp-documentSigning
    "1.3.6.1.5.5.7.3.8",  # id-kp-timeStamping
    "1.3.6.1.5.5.7.3.9",  # id-kp-OCSPSigning
    "1.3.6.1.4.1.311.76.59.1.9",  # Microsoft C2PA signing
    "1.3.6.1.4.1.62558.2.1",  # c2pa-kp-claimSigning
)

HEAD_SIZE = 64 * 1024
PASSPHRASE_ENV = "AIGLABEL_KEY_PASSPHRASE"  # the variable aiglabel.signing.keys also reads
_MISSING = "C2PA support needs c2pa-python: pip install 'aiglabel[c2pa]'"
MISSING_CRYPTO = "C2PA signing needs cryptography: pip install 'aiglabel[c2pa]'"

Intent = Literal["auto", "create", "edit"]


def load_c2pa() -> Any:
    """Import c2pa-python (untyped, hence ``Any``).

    Raises:
        CarrierUnsupportedError: c2pa-python is not installed or its native library fails.
    """
    try:
        return importlib.import_module("c2pa")
    except (ImportError, OSError) as exc:
        raise CarrierUnsupportedError(_MISSING) from exc


def c2pa_settings(*, anchors_pem: str | None = None, trust_config: str | None = None,
                  thumbnail: bool = False) -> dict[str, Any]:
    """c2pa-rs settings for offline use (the ``Settings``/``Context`` JSON of c2pa-python 0.38).

    Args:
        anchors_pem: PEM trust anchors (``trust.trust_anchors``); a chain ending in one of them
            validates as ``Trusted``.
        trust_config: more accepted signer EKU OIDs, one per line (the format of the CAI
            ``store.cfg``; other lines are ignored), added to :data:`C2PA_SIGNER_EKUS`.
        thumbnail: let the Builder embed a thumbnail of the asset and its ingredients.

    Returns:
        A settings mapping for ``c2pa.Context.from_dict``.
    """
    settings: dict[str, Any] = {
        "version": 1,
        "verify": {
            # Never fetch: a remote manifest is reported, not downloaded; revocation is not
            # checked over the network.
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
            "verify_trust": True,
        },
        # An empty allow-list: c2pa-rs may contact no host at all.
        "core": {"allowed_network_hosts": []},
        "builder": {"thumbnail": {"enabled": thumbnail}},
    }
    # Always set: without trust_config, c2pa-python 0.38.1 accepts only the EKUs c2pa-rs
    # hard-codes (emailProtection, timeStamping, OCSPSigning) and reads a documentSigning or
    # c2pa-kp-claimSigning signer as Invalid ("certificate missing required EKU"); a configured
    # list replaces its default list instead of adding to it.
    ekus = "\n".join((*C2PA_SIGNER_EKUS, *(trust_config or "").splitlines())) + "\n"
    trust: dict[str, str] = {"trust_config": ekus}
    if anchors_pem is not None:
        trust["trust_anchors"] = anchors_pem
    settings["trust"] = trust
    return settings


def supported_mime_types() -> frozenset[str]:
    """The MIME types :func:`sign_c2pa` accepts, as far as the installed c2pa-python signs them.

    Raises:
        CarrierUnsupportedError: c2pa-python is not installed.
    """
    c2pa = load_c2pa()
    offered = {str(m) for m in c2pa.Builder.get_supported_mime_types()}
    return frozenset(m for m in SUPPORTED_MIME_TYPES if m in offered)


# ISO BMFF major brands (ftyp, bytes 8-12) and the MIME type c2pa-rs handles them under.
_BMFF_BRANDS = {
    b"avif": "image/avif", b"avis": "image/avif",
    b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
    b"hevc": "image/heic", b"hevx": "image/heic",
    b"mif1": "image/heif", b"msf1": "image/heif",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4", b"M4B ": "audio/mp4", b"M4P ": "audio/mp4", b"F4A ": "audio/mp4",
    b"M4V ": "video/x-m4v", b"M4VH": "video/x-m4v", b"M4VP": "video/x-m4v",
}
_JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
# An XML declaration, comments and a DOCTYPE, then the <svg> root. A comment body cannot
# contain "-->", so every text has one parse (no backtracking blow-up on many comments).
_SVG_ROOT = re.compile(
    r"\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--(?:[^-]|-(?!->))*-->|<!DOCTYPE[^>]*>)\s*)*<svg[\s>/]")


def _bmff_mime(head: bytes) -> str:
    """MIME type of an ISO BMFF file from its ``ftyp`` box (u32be size, ``ftyp``, brands)."""
    major = head[8:12]
    mime = _BMFF_BRANDS.get(major, "video/mp4")
    if mime == "image/heif":
        size = int.from_bytes(head[0:4], "big")
        # Compatible brands: 4-byte codes from offset 16 to the end of the box.
        compatible = {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
        if compatible & {b"avif", b"avis"}:
            return "image/avif"
        if compatible & {b"heic", b"heix", b"hevc", b"hevx"}:
            return "image/heic"
    return mime


def _mpeg_audio_sync(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a defined version and a layer (not ADTS AAC,
    whose layer bits are 00). Weak magic: only used when nothing else matched."""
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    return version != 0b01 and layer != 0b00


def detect_mime(head: bytes) -> str | None:
    """The MIME type of a file, judged by its first bytes, for the formats C2PA covers.

    Args:
        head: the start of the file (64 KiB is plenty).

    Returns:
        A MIME type (one of :data:`READ_MIME_TYPES`, or ``"application/zip"`` for ZIP-based
        documents, which this version neither signs nor reads), or ``None``.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and len(head) >= 12:
        # RIFF: u32le size, then the form type; RF64/BW64 are not parsed by c2pa-rs 0.91.
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav",
                b"AVI ": "video/x-msvideo"}.get(head[8:12])
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith((_JXL_CONTAINER, b"\xff\x0a")):
        return "image/jxl"
    if head[4:8] == b"ftyp":
        return _bmff_mime(head)
    if head[4:8] == b"jumb":
        return "application/c2pa"  # a JUMBF superbox: a bare manifest store
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if b"%PDF-" in head[:1024]:  # readers accept the header anywhere in the first 1024 bytes
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return ZIP_MIME
    if _SVG_ROOT.match(head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")):
        return "image/svg+xml"
    if _mpeg_audio_sync(head):
        return "audio/mpeg"
    return None


def source_type_uri(source_type: str) -> str:
    """The full IPTC URI of a digital source type.

    Args:
        source_type: an IPTC code (``"trainedAlgorithmicMedia"``) or its URI (``http`` or
            ``https``).

    Raises:
        InvalidLabelError: not a code of the IPTC vocabulary.
    """
    code = source_type.rsplit("/", 1)[-1]
    prefix = source_type[: len(source_type) - len(code)]
    if code not in SOURCE_TYPES or prefix not in ("", *_IPTC_PREFIXES):
        msg = (f"unknown digital source type {source_type!r} (an IPTC code such as "
               "trainedAlgorithmicMedia)")
        raise InvalidLabelError(msg)
    return IPTC_SOURCE_TYPE_PREFIX + code
