"""Signed GB 45438 labels: producer and platform signatures in ReservedCode1/2 (rules §D).

The producer signs its three elements into ``ReservedCode1`` (:func:`sign_record` with
``role="producer"``), a platform signs fields 1-6 into ``ReservedCode2`` (``role="platform"``),
optionally bound to the content's essence digest; :func:`check_signatures` reports per field
one of :class:`SignatureState`. Token layout and messages: :mod:`aiglabel.signing.token`;
keys: :mod:`aiglabel.signing.keys` (needs the ``signing`` extra, ``cryptography``); trust:
:mod:`aiglabel.signing.trust`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from aiglabel.signing.token import SecurityToken, TokenError, message, parse_token

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiglabel.gb45438 import AIGCRecord
    from aiglabel.signing.keys import SigningKey
    from aiglabel.signing.trust import TrustStore

__all__ = ["LabelSigner", "SignatureCheck", "SignatureState", "check_signatures",
           "sign_record"]

ROLE_FIELDS = {"producer": "ReservedCode1", "platform": "ReservedCode2"}


class SignatureState(StrEnum):
    """What one ReservedCode field's signature says (rules §D.5.8, issue 7)."""

    ABSENT = "absent"  # the field is empty
    OPAQUE = "opaque"  # someone else's data (a hash, another vendor's format): not checked
    TRUSTED = "trusted"  # valid, and the key is trusted for this code and role
    UNKNOWN_KEY = "unknown-key"  # valid with the key it carries, but that key is not trusted
    INVALID = "invalid"  # does not verify, or a malformed token: the label was altered
    BINDING_BROKEN = "binding-broken"  # the label is intact but the content is not what was signed

    @property
    def is_failure(self) -> bool:
        """True for the states that mean tampering (invalid, binding broken)."""
        return self in (SignatureState.INVALID, SignatureState.BINDING_BROKEN)


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The check of one field: which, the signer's role and code, the state, algorithm, key
    id, whether the content is bound, and one sentence saying why."""

    field: str
    role: str
    signer: str
    state: SignatureState
    detail: str
    alg: str | None = None
    kid: str | None = None
    bound: bool = False

    def to_dict(self) -> dict[str, str | bool | None]:
        """JSON-ready mapping."""
        return {"field": self.field, "role": self.role, "signer": self.signer,
                "state": self.state.value, "alg": self.alg, "kid": self.kid,
                "bound": self.bound, "detail": self.detail}


def _hex(essence: str) -> str:
    """The hex of an essence digest given as ``sha256:<hex>`` or bare hex."""
    return essence.removeprefix("sha256:")


def sign_record(record: AIGCRecord, key: SigningKey, *, role: str = "producer",
                essence: str | None = None) -> AIGCRecord:
    """``record`` with its producer (``ReservedCode1``) or platform (``ReservedCode2``)
    signature set, bound to the content when ``essence`` (the essence digest,
    :func:`aiglabel.essence_digest`) is given. A producer signs before any platform: the
    platform's message covers ``ReservedCode1``.

    Raises:
        ValueError: an unknown role.
    """
    bound = _hex(essence) if essence is not None else None
    signature = key.sign(message(record, role, bound))
    token = SecurityToken(key.alg, key.kid, key.public_der, signature, bound).to_text()
    if role == "producer":
        return dataclasses.replace(record, reserved_code1=token)
    return dataclasses.replace(record, reserved_code2=token)


@dataclass(frozen=True, slots=True)
class LabelSigner:
    """How a label write signs: the key, as ``producer`` (ReservedCode1) or ``platform``
    (ReservedCode2), and whether the signature binds the content's essence digest."""

    key: SigningKey
    role: str = "producer"
    bind_content: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLE_FIELDS:
            msg = f"signing role {self.role!r} is not producer or platform"
            raise ValueError(msg)

    def sign(self, record: AIGCRecord, essence: Callable[[], str]) -> AIGCRecord:
        """``record`` signed; ``essence`` computes the content's essence digest (called only
        with ``bind_content``)."""
        return sign_record(record, self.key, role=self.role,
                           essence=essence() if self.bind_content else None)


def check_signatures(record: AIGCRecord, *, trust: TrustStore | None = None,
                     essence: Callable[[], str | None] | str | None = None,
                     ) -> list[SignatureCheck]:
    """Check ``ReservedCode1`` (producer) and ``ReservedCode2`` (platform).

    ``essence`` is the file's essence digest, or a function computing it (called only when a
    token binds the content; ``None`` from it leaves the binding unchecked, said in the detail).
    Without ``trust`` a valid signature is at best ``unknown-key``. Needs ``cryptography`` only
    when a token is present.
    """
    checks: list[SignatureCheck] = []
    cached: list[str | None] = []

    def digest() -> str | None:
        if not cached:
            value = essence() if callable(essence) else essence
            cached.append(_hex(value) if value is not None else None)
        return cached[0]

    for role, field in ROLE_FIELDS.items():
        value = record.reserved_code1 if role == "producer" else record.reserved_code2
        signer = record.content_producer if role == "producer" else record.content_propagator
        checks.append(_check_one(record, role, field, value, signer, trust, digest))
    return checks


def _check_one(record: AIGCRecord, role: str, field: str, value: str, signer: str,
               trust: TrustStore | None,
               digest: Callable[[], str | None]) -> SignatureCheck:
    from aiglabel.signing.keys import key_id, verify_signature

    def result(state: SignatureState, detail: str, token: SecurityToken | None = None
               ) -> SignatureCheck:
        return SignatureCheck(field, role, signer, state, detail,
                              token.alg if token else None, token.kid if token else None,
                              bool(token and token.essence_hex))

    if not value:
        return result(SignatureState.ABSENT, f"{field} is empty: no {role} signature")
    try:
        token = parse_token(value)
    except TokenError as exc:
        return result(SignatureState.INVALID, f"{field}: malformed signature token ({exc})")
    if token is None:
        return result(SignatureState.OPAQUE, f"{field} holds data that is not an aiglabel "
                                             "signature token; not checked")
    if key_id(token.public_key) != token.kid:
        return result(SignatureState.INVALID, f"{field}: KeyId {token.kid} does not match "
                                              "the embedded key", token)
    signed = message(record, role, token.essence_hex)
    if not verify_signature(token.alg, token.public_key, token.signature, signed):
        fields = ("Label, ContentProducer, ProduceID" if role == "producer"
                  else "fields 1-6 (ReservedCode1 included)")
        return result(SignatureState.INVALID, f"{field}: {token.alg} signature by key "
                      f"{token.kid} does not verify over {fields}: the label was altered",
                      token)
    bound_note = ""
    if token.essence_hex is not None:
        actual = digest()
        if actual is None:
            bound_note = "; content binding not checked (essence not computed)"
        elif actual != token.essence_hex:
            return result(SignatureState.BINDING_BROKEN,
                          f"{field}: the signature is valid but binds essence "
                          f"{token.essence_hex[:12]}..., the content's is {actual[:12]}...: "
                          "the content was changed or the label moved from other content",
                          token)
        else:
            bound_note = "; bound to this content"
    if trust is None:
        return result(SignatureState.UNKNOWN_KEY, f"{field}: valid {token.alg} signature by "
                      f"key {token.kid}, no trust file to check it against{bound_note}", token)
    entry, why = trust.lookup(signer, role, token.kid, token.public_key)
    if entry is None:
        return result(SignatureState.UNKNOWN_KEY, f"{field}: valid {token.alg} signature by "
                      f"key {token.kid}, but {why}{bound_note}", token)
    return result(SignatureState.TRUSTED, f"{field}: valid {token.alg} signature by {signer}'s "
                  f"trusted key {token.kid}{bound_note}", token)
