"""Signed labels: the signed messages and the SecurityData token in ReservedCode1/2.

GB 45438 Annex E lets the producer (``ReservedCode1``) and the propagator (``ReservedCode2``)
keep security data protecting the integrity of the content and the label (rules §D.1). The
TC260 security guide (TC260-PG-202511A) calls that object ``SecurityData`` with mandatory
``Type`` and ``Version`` and optional ``Bindings``, ``PrivSD``, ``PubSD``, ``Extension``; it
signs the producer's three elements as they appear in the compact JSON, and can bind the
content by a hash (rules §D.2). Its exact schema is not public, so aiglabel writes the known
names with its own ``Version`` (rules §D.5, project choice; stdlib only, no cryptography here):

``{"SecurityData":{"Type":"Sig","Version":"AGL-1.0","TBSData":{"Type":"Md"},``
``"Bindings":[{"Type":"Bnd","Alg":"SHA256","CntSel":"essence","Value":"<64 hex>"}],``
``"PubSD":{"Alg":"ES256","OID":"1.2.840.10045.4.3.2","KeyId":"<16 hex>",``
``"KeyValue":"<base64url SPKI>","Sig":"<base64url>"}}}``

- **Producer message M1** (rules §D.5.1) = the ASCII bytes
  ``"Label":"<L>","ContentProducer":"<P>","ProduceID":"<I>"``, the exact substring of the
  compact serialization, rebuilt from the parsed values.
- **Propagator message M2** (§D.5.2) = the compact serialization from ``"Label"`` up to, not
  including, ``,"ReservedCode2"``: fields 1-6, so the producer's token is covered too.
- **Binding** (§D.5.3, optional): ``TBSData.Type`` ``Md+Bnd``; the message gets
  ``"\\n" + "essence-sha256=" + <hex>`` appended, the hex being the codec's essence digest (the
  payload without metadata), which a lossless label write keeps and any re-encode changes; the
  same hex is stored in ``Bindings`` so a verifier tells a broken binding from a forged label.
- ``Alg`` ``ES256`` (ECDSA P-256 + SHA-256, raw r||s) or ``Ed25519``; ``KeyId`` = the first 16
  hex characters of SHA-256 over the DER SubjectPublicKeyInfo (§D.5.5); ``KeyValue`` is that
  SPKI, so a signature can be checked -- but a key in the file is never trusted by itself
  (§D.5.7); ``Sig`` and ``KeyValue`` are Base64url without padding.

Serialized compactly in this key order, the token holds only characters of Annex E j) once its
quotes are escaped inside the label (rules §B.5): letters, digits, ``{}[]:,.+-_"``.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiglabel.gb45438 import AIGCRecord

__all__ = [
    "ALGORITHMS",
    "VERSION",
    "SecurityToken",
    "b64url",
    "b64url_decode",
    "message",
    "parse_token",
]

VERSION = "AGL-1.0"
ALGORITHMS = {"ES256": "1.2.840.10045.4.3.2", "Ed25519": "1.3.101.112"}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KID = re.compile(r"[0-9a-f]{16}")
_MAX_NESTING = 64  # our token has 5 objects and 1 array


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises ``ValueError`` on bad input."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        msg = "not Base64url"
        raise ValueError(msg)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def message(record: AIGCRecord, role: str, essence_hex: str | None = None) -> bytes:
    """The bytes a producer (``role="producer"``, M1) or platform (``"platform"``, M2) signs
    for ``record``, with the content binding appended when ``essence_hex`` is given."""
    if role == "producer":
        text = ",".join(f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}" for k, v in (
            ("Label", record.label), ("ContentProducer", record.content_producer),
            ("ProduceID", record.produce_id)))
    elif role == "platform":
        full = json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False)
        text = full[1 : full.index(',"ReservedCode2"')]
    else:
        msg = f"role {role!r} is not producer or platform"
        raise ValueError(msg)
    if essence_hex is not None:
        text += "\nessence-sha256=" + essence_hex
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class SecurityToken:
    """One parsed SecurityData token: algorithm, key id, embedded public key (DER SPKI),
    signature, and the bound essence digest (hex) when the content is bound."""

    alg: str
    kid: str
    public_key: bytes
    signature: bytes
    essence_hex: str | None = None

    def to_text(self) -> str:
        """The compact JSON to store in ReservedCode1/2 (see the module docstring)."""
        data: dict[str, Any] = {"Type": "Sig", "Version": VERSION,
                                "TBSData": {"Type": "Md+Bnd" if self.essence_hex else "Md"}}
        if self.essence_hex is not None:
            data["Bindings"] = [{"Type": "Bnd", "Alg": "SHA256", "CntSel": "essence",
                                 "Value": self.essence_hex}]
        data["PubSD"] = {"Alg": self.alg, "OID": ALGORITHMS[self.alg], "KeyId": self.kid,
                         "KeyValue": b64url(self.public_key), "Sig": b64url(self.signature)}
        return json.dumps({"SecurityData": data}, separators=(",", ":"))


class TokenError(ValueError):
    """A value that looks like aiglabel's SecurityData but is malformed (reason in the text)."""


def parse_token(text: str) -> SecurityToken | None:
    """The token in a ReservedCode value; ``None`` when the value is not aiglabel's
    SecurityData (empty, or someone else's data: opaque, rules §D.4).

    Raises:
        TokenError: a SecurityData of our ``Version`` that is malformed (a truncated or
            edited token), naming what is wrong.
    """
    if '"SecurityData"' not in text:
        return None
    if text.count("{") + text.count("[") > _MAX_NESTING:  # hostile nesting: no deep recursion
        msg = "SecurityData is nested too deeply"
        raise TokenError(msg)
    try:
        outer = json.loads(text)
    except json.JSONDecodeError as exc:
        if VERSION in text:
            msg = f"SecurityData is not valid JSON ({exc.msg})"
            raise TokenError(msg) from None
        return None
    data = outer.get("SecurityData") if isinstance(outer, dict) else None
    if not isinstance(data, dict) or data.get("Version") != VERSION:
        return None
    try:
        pub = data["PubSD"]
        tbs = data.get("TBSData", {})
        if not isinstance(pub, dict) or not isinstance(tbs, dict):
            msg = "PubSD and TBSData must be objects"
            raise TokenError(msg)
        alg, kid = pub["Alg"], pub["KeyId"]
        if alg not in ALGORITHMS or pub.get("OID") != ALGORITHMS[alg]:
            msg = f"unknown algorithm {alg!r}"
            raise TokenError(msg)
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            msg = "KeyId is not 16 hex characters"
            raise TokenError(msg)
        key, signature = b64url_decode(pub["KeyValue"]), b64url_decode(pub["Sig"])
        essence = None
        if tbs.get("Type") == "Md+Bnd":
            (binding,) = data["Bindings"]
            if not isinstance(binding, dict):
                msg = "a Bindings entry must be an object"
                raise TokenError(msg)
            essence = binding["Value"]
            if binding.get("CntSel") != "essence" or not _HEX64.fullmatch(str(essence)):
                msg = "Bindings does not hold a 64-hex essence digest"
                raise TokenError(msg)
    except TokenError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = f"SecurityData is incomplete ({type(exc).__name__}: {exc})"
        raise TokenError(msg) from None
    return SecurityToken(alg, kid, key, signature, essence)
