"""A local development CA whose signer certificate c2pa-rs accepts for C2PA manifests.

For tests and trials only: the files name no real organisation and no validator trusts them
unless told to (pass ``trust-anchors.pem`` as ``anchors_pem`` to
:func:`aiglabel.provenance.read_c2pa`). Production signing needs a certificate from a CA on
the C2PA trust list (``docs/c2pa.md``).

The signer certificate follows the C2PA claim-signing leaf profile (the conformance program's
``docs/*/cert-profiles/claimSigningLeaf.al1.cert.yaml`` in github.com/c2pa-org/conformance-public)
where a local CA can:
v3, end entity (basicConstraints cA=FALSE, critical), keyUsage digitalSignature (critical),
extendedKeyUsage emailProtection (1.3.6.1.5.5.7.3.4) and c2pa-kp-claimSigning
(1.3.6.1.4.1.62558.2.1), subject and authority key identifiers, validity of one year, random
serial. c2pa-rs (``check_certificate_profile``) rejects a signer without an accepted EKU,
with the ``anyExtendedKeyUsage`` EKU, with keyCertSign but not a CA, without an authority key
identifier, or self-signed. No OCSP or CA-issuers URL is written: nothing to fetch.

The CA key is always ECDSA P-256 (ES256); ``alg`` chooses the signer key.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiglabel.errors import CarrierUnsupportedError, InvalidLabelError, OutputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

__all__ = ["C2PA_CLAIM_SIGNING_EKU", "DEV_CA_ALGS", "EMAIL_PROTECTION_EKU", "DevCA", "make_dev_ca"]

EMAIL_PROTECTION_EKU = "1.3.6.1.5.5.7.3.4"  # id-kp-emailProtection (RFC 5280 §4.2.1.12)
C2PA_CLAIM_SIGNING_EKU = "1.3.6.1.4.1.62558.2.1"  # c2pa-kp-claimSigning (C2PA certificate policy)
DEV_CA_ALGS = ("es256", "es384", "es512", "ps256", "ed25519")
SIGNER_DAYS = 365  # the conformance leaf profile allows at most 366 days
CA_DAYS = 5 * 365
CLOCK_SKEW = datetime.timedelta(minutes=5)  # not-before set back for clocks running behind
RSA_BITS = 3072  # C2PA needs at least 2048

FILES = ("ca.key", "ca.pem", "signer.key", "signer.pem", "signer-chain.pem", "trust-anchors.pem")


@dataclass(frozen=True, slots=True)
class DevCA:
    """The files :func:`make_dev_ca` wrote.

    Attributes:
        out_dir: the folder holding them.
        ca_key: the CA's private key (PKCS#8 PEM, mode 0600).
        ca_cert: the self-signed CA certificate (PEM).
        signer_key: the signer's private key (PKCS#8 PEM, mode 0600): ``key`` for
            :func:`aiglabel.provenance.sign_c2pa`.
        signer_cert: the signer certificate alone (PEM).
        signer_chain: the signer certificate then the CA certificate: ``cert_chain`` for
            :func:`aiglabel.provenance.sign_c2pa`.
        trust_anchors: the CA certificate, for verifiers (``anchors_pem``).
        alg: the signer's algorithm.
    """

    out_dir: Path
    ca_key: Path
    ca_cert: Path
    signer_key: Path
    signer_cert: Path
    signer_chain: Path
    trust_anchors: Path
    alg: str

    def described(self) -> tuple[tuple[Path, str], ...]:
        """Each file with one line saying what it is for (for a command-line listing)."""
        return (
            (self.ca_key, "development CA private key; keep it secret"),
            (self.ca_cert, "development CA certificate"),
            (self.signer_key, f"C2PA signer private key ({self.alg}); keep it secret"),
            (self.signer_cert, "C2PA signer certificate"),
            (self.signer_chain, "C2PA signer certificate chain (signer, then CA): the "
                                "certificate to sign with"),
            (self.trust_anchors, "trust anchors for verifiers (the CA certificate); "
                                 "development only"),
        )


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    """Write ``data``; keys are created 0600 and set to 0600 if the file existed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600 if secret else 0o644)
    with open(fd, "wb") as f:
        if secret:
            os.fchmod(f.fileno(), 0o600)
        f.write(data)


def _new_key(alg: str) -> CertificateIssuerPrivateKeyTypes:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if alg == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ps256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    curve = {"es256": ec.SECP256R1(), "es384": ec.SECP384R1(), "es512": ec.SECP521R1()}[alg]
    return ec.generate_private_key(curve)


def make_dev_ca(
    out_dir: str | os.PathLike[str],
    *,
    common_name: str = "aiglabel development",
    alg: str = "es256",
    overwrite: bool = False,
) -> DevCA:
    """Write a development root CA and a C2PA signer certificate issued by it.

    Files in ``out_dir`` (created if missing): ``ca.key``, ``ca.pem``, ``signer.key``,
    ``signer.pem``, ``signer-chain.pem`` (signer then CA) and ``trust-anchors.pem`` (the CA).
    Keys are unencrypted PKCS#8 with mode 0600.

    Args:
        out_dir: the folder to write to.
        common_name: the organisation name; the CA is ``<name> root CA``, the signer
            ``<name> C2PA signer``.
        alg: the signer key: ``es256`` (default), ``es384``, ``es512``, ``ps256`` (RSA 3072)
            or ``ed25519``.
        overwrite: replace existing files.

    Returns:
        The paths written.

    Raises:
        InvalidLabelError: an unknown ``alg`` or an empty ``common_name``.
        OutputError: a file exists (and not ``overwrite``) or cannot be written.
        CarrierUnsupportedError: cryptography is not installed.
    """
    alg = alg.lower()
    if alg not in DEV_CA_ALGS:
        msg = f"unknown algorithm {alg!r} (one of {', '.join(DEV_CA_ALGS)})"
        raise InvalidLabelError(msg)
    if not common_name.strip():
        msg = "common_name is empty"
        raise InvalidLabelError(msg)
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
    except ImportError as exc:
        msg = "the development CA needs cryptography: pip install 'aiglabel[c2pa]'"
        raise CarrierUnsupportedError(msg) from exc

    folder = Path(out_dir)
    paths = {name: folder / name for name in FILES}
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the folder ({exc.strerror or exc})"
        raise OutputError(msg, path=str(folder)) from None
    if not overwrite:
        for path in paths.values():
            if path.exists():
                msg = "file exists (use overwrite)"
                raise OutputError(msg, path=str(path))

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} root CA"),
    ])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    signer_key = _new_key(alg)
    signer_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} C2PA signer"),
    ])
    signer_cert = (
        x509.CertificateBuilder()
        .subject_name(signer_name)
        .issuer_name(ca_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=SIGNER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([
            ExtendedKeyUsageOID.EMAIL_PROTECTION,
            ObjectIdentifier(C2PA_CLAIM_SIGNING_EKU),
        ]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def key_pem(key: CertificateIssuerPrivateKeyTypes) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    signer_pem = signer_cert.public_bytes(serialization.Encoding.PEM)
    contents = {
        "ca.key": (key_pem(ca_key), True),
        "ca.pem": (ca_pem, False),
        "signer.key": (key_pem(signer_key), True),
        "signer.pem": (signer_pem, False),
        "signer-chain.pem": (signer_pem + ca_pem, False),
        "trust-anchors.pem": (ca_pem, False),
    }
    try:
        for name, (data, secret) in contents.items():
            _write(paths[name], data, secret=secret)
    except OSError as exc:
        msg = f"cannot write the development CA ({exc.strerror or exc})"
        raise OutputError(msg, path=str(folder)) from None
    return DevCA(folder, paths["ca.key"], paths["ca.pem"], paths["signer.key"],
                 paths["signer.pem"], paths["signer-chain.pem"], paths["trust-anchors.pem"], alg)
