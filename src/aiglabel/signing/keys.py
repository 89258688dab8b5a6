"""Signing keys for labels: ES256 (ECDSA P-256 + SHA-256) and Ed25519, via ``cryptography``.

Key files are PEM: the private key PKCS#8 (unencrypted, or encrypted with the passphrase in
``AIGLABEL_KEY_PASSPHRASE``), the public key SubjectPublicKeyInfo. The key id is the first 16
hex characters of SHA-256 over the DER SubjectPublicKeyInfo (rules §D.5.5).

SM2/SM3 (the TC260 guide's SM3withSM2) is not offered: ``cryptography`` has no SM2, and the
PyPI candidates were checked (2026-11): ``gmssl`` (pure Python, last release 2023-02, no
constant-time arithmetic), ``gmalg`` (pure Python, new, one maintainer), ``gmssl-python`` and
``gmssl-pyx`` (bindings that need the GmSSL C library installed on the system, not a wheel).
None is both maintained and wheel-only, so SM2 waits (rules §D.5.4 allows it as an extra).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiglabel.errors import InvalidLabelError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import (
        PrivateKeyTypes,
        PublicKeyTypes,
    )

__all__ = [
    "KEY_ALGORITHMS",
    "PASSPHRASE_ENV",
    "SigningKey",
    "generate_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "verify_signature",
]

KEY_ALGORITHMS = {"es256": "ES256", "ed25519": "Ed25519"}
PASSPHRASE_ENV = "AIGLABEL_KEY_PASSPHRASE"


def _spki(public: PublicKeyTypes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(spki_der: bytes) -> str:
    """The key id: first 16 hex characters of SHA-256 over the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der).hexdigest()[:16]


def _alg_of(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
            key.curve, ec.SECP256R1):
        return "ES256"
    msg = f"{type(key).__name__} keys are not supported (use ES256 / P-256 or Ed25519)"
    raise InvalidLabelError(msg)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key ready to sign: its algorithm, key id and public key (DER SPKI)."""

    key: PrivateKeyTypes
    alg: str
    kid: str
    public_der: bytes

    @classmethod
    def from_private(cls, key: PrivateKeyTypes) -> SigningKey:
        """Wrap a ``cryptography`` private key (P-256 or Ed25519)."""
        alg = _alg_of(key)
        public = _spki(key.public_key())
        return cls(key, alg, key_id(public), public)

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``: 64 bytes (ECDSA r||s, each 32 bytes big-endian; or Ed25519)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(data)
        assert isinstance(self.key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def private_pem(self, passphrase: bytes | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted when ``passphrase`` is given."""
        from cryptography.hazmat.primitives import serialization

        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase
            else serialization.NoEncryption())
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8, encryption)

    def public_pem(self) -> bytes:
        """The public key as SubjectPublicKeyInfo PEM (what a trust file lists)."""
        from cryptography.hazmat.primitives import serialization

        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_key(alg: str = "es256") -> SigningKey:
    """A new key pair: ``es256`` (default) or ``ed25519``.

    Raises:
        InvalidLabelError: an unknown algorithm.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    name = alg.lower()
    if name not in KEY_ALGORITHMS:
        msg = f"key algorithm {alg!r} is not one of {', '.join(KEY_ALGORITHMS)}"
        raise InvalidLabelError(msg)
    key: PrivateKeyTypes = (ec.generate_private_key(ec.SECP256R1()) if name == "es256"
                            else ed25519.Ed25519PrivateKey.generate())
    return SigningKey.from_private(key)


def load_private_key(path: str | os.PathLike[str]) -> SigningKey:
    """Read a PEM private key (passphrase from ``AIGLABEL_KEY_PASSPHRASE`` when encrypted).

    Raises:
        InvalidLabelError: unreadable, not a key, wrong passphrase, or an unsupported type;
            the message names the file.
    """
    from cryptography.hazmat.primitives import serialization

    shown = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        msg = f"cannot read the signing key ({exc.strerror})"
        raise InvalidLabelError(msg, path=shown) from None
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        key = serialization.load_pem_private_key(
            data, passphrase.encode() if passphrase else None)
    except (ValueError, TypeError) as exc:
        msg = f"not a usable PEM private key ({exc}; set {PASSPHRASE_ENV} for an encrypted one)"
        raise InvalidLabelError(msg, path=shown) from None
    try:
        return SigningKey.from_private(key)
    except InvalidLabelError as exc:
        raise InvalidLabelError(exc.message, path=shown) from None


def load_public_key(pem_or_der: bytes) -> tuple[str, bytes]:
    """(algorithm, DER SPKI) of a PEM or DER public key.

    Raises:
        InvalidLabelError: not a P-256 or Ed25519 public key.
    """
    from cryptography.hazmat.primitives import serialization

    try:
        key = (serialization.load_pem_public_key(pem_or_der)
               if pem_or_der.lstrip().startswith(b"-----")
               else serialization.load_der_public_key(pem_or_der))
    except (ValueError, TypeError) as exc:
        msg = f"not a public key ({exc})"
        raise InvalidLabelError(msg) from None
    return _alg_of(key), _spki(key)


def verify_signature(alg: str, spki_der: bytes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` (64 bytes) over ``data`` verifies with the DER SPKI key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if len(signature) != 64:
        return False
    try:
        key = serialization.load_der_public_key(spki_der)
        if _alg_of(key) != alg:
            return False
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey)
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                       int.from_bytes(signature[32:], "big"))
            key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError, InvalidLabelError):
        return False
    return True
