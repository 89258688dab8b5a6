"""C2PA layer: development CA, signing with the AI claim and the GB label, offline reading.

Media and certificates are generated at run time (Pillow, a development CA in a temporary
folder); c2pa-python's own Reader is the independent oracle for the validation state.
"""

from __future__ import annotations

import io
import json
import os
from typing import TYPE_CHECKING, Any

import pytest

c2pa: Any = pytest.importorskip("c2pa", reason="c2pa-python (aiglabel[c2pa]) is not installed")
pytest.importorskip("cryptography", reason="cryptography (aiglabel[c2pa]) is not installed")

from PIL import Image  # noqa: E402
from tests.conftest import REAL  # noqa: E402

from aiglabel.errors import (  # noqa: E402
    CorruptFileError,
    InvalidLabelError,
    OutputError,
    UnsupportedFormatError,
)
from aiglabel.gb45438 import AIGCRecord  # noqa: E402
from aiglabel.provenance import (  # noqa: E402
    GB_ASSERTION_LABEL,
    DevCA,
    c2pa_settings,
    detect_mime,
    is_ai_source_type,
    make_dev_ca,
    read_c2pa,
    sign_c2pa,
    sign_c2pa_bytes,
)

if TYPE_CHECKING:
    from pathlib import Path

PRODUCER = "001191110102MACQD9K64010000"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DevCA:
    return make_dev_ca(tmp_path_factory.mktemp("devca"))


def _image(path: Path, fmt: str = "JPEG") -> Path:
    # Noise gives the JPEG a scan of a few kilobytes to tamper with.
    Image.effect_noise((64, 48), 60).convert("RGB").save(path, fmt)
    return path


def _sign(ca: DevCA, src: Path, dst: Path, **kw: Any) -> None:
    kw.setdefault("gb_label", None)
    sign_c2pa(src, dst, cert_chain=ca.signer_chain, key=ca.signer_key, **kw)


def _oracle_state(data: bytes, mime: str, anchors: str | None) -> str:
    """The validation state c2pa-python itself reports."""
    with c2pa.Context.from_dict(c2pa_settings(anchors_pem=anchors)) as ctx, \
            c2pa.Reader(mime, io.BytesIO(data), None, ctx) as reader:
        return str(reader.get_validation_state())


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".aiglabel-tmp"))


# (a) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_signed_file_is_trusted_with_our_anchors(ca: DevCA, tmp_path: Path, fmt: str,
                                                 mime: str) -> None:
    src = _image(tmp_path / f"in.{fmt.lower()}", fmt)
    dst = tmp_path / f"out.{fmt.lower()}"
    result = sign_c2pa(src, dst, cert_chain=ca.signer_chain, key=ca.signer_key, gb_label=None)
    assert (result.mime, result.alg, result.intent) == (mime, "es256", "create")
    assert result.actions == ("c2pa.created",)
    data = dst.read_bytes()
    anchors = ca.trust_anchors.read_text()
    assert _oracle_state(data, mime, anchors) == "Trusted"
    assert _oracle_state(data, mime, None) == "Valid"

    trusted = read_c2pa(dst, anchors_pem=anchors)
    assert trusted is not None
    assert trusted.state == "Trusted"
    assert trusted.validation_codes == ()
    assert trusted.mime == mime
    assert trusted.claim_generator is not None
    assert trusted.claim_generator.startswith("aiglabel ")
    assert trusted.signer == "aiglabel development C2PA signer"
    assert trusted.issuer == "aiglabel development"
    assert read_c2pa(dst, anchors_pem=ca.trust_anchors) == trusted  # a Path is read as a file

    untrusted = read_c2pa(dst)
    assert untrusted is not None
    assert untrusted.state == "Valid"
    assert untrusted.validation_codes == ("signingCredential.untrusted",)


def test_other_ca_is_not_trusted(ca: DevCA, tmp_path: Path) -> None:
    dst = tmp_path / "out.jpg"
    _sign(ca, _image(tmp_path / "in.jpg"), dst)
    other = make_dev_ca(tmp_path / "other", common_name="someone else")
    report = read_c2pa(dst, anchors_pem=other.trust_anchors.read_text())
    assert report is not None
    assert report.state == "Valid"
    assert "signingCredential.untrusted" in report.validation_codes


@pytest.mark.parametrize("alg", ["ps256", "ed25519", "es384"])
def test_other_algorithms_sign_and_validate(tmp_path: Path, alg: str) -> None:
    dev = make_dev_ca(tmp_path / "ca", alg=alg)
    dst = tmp_path / "out.png"
    result = sign_c2pa(_image(tmp_path / "in.png", "PNG"), dst, cert_chain=dev.signer_chain,
                       key=dev.signer_key, gb_label=None)
    assert result.alg == alg
    report = read_c2pa(dst, anchors_pem=dev.trust_anchors.read_text())
    assert report is not None
    assert report.state == "Trusted"
    assert report.alg is not None
    assert report.alg.lower() == alg


def _conformance_style_signer(ca: DevCA, folder: Path, ekus: list[str]) -> tuple[Path, Path]:
    """A signer issued by the development CA with the given EKUs (no emailProtection), as
    conformance-program leaves have (documentSigning and/or c2pa-kp-claimSigning)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ObjectIdentifier

    ca_key: Any = serialization.load_pem_private_key(ca.ca_key.read_bytes(), None)
    root = x509.load_pem_x509_certificate(ca.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conformance-style")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                     False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ObjectIdentifier(e) for e in ekus]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = folder / "conformance-chain.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                      + root.public_bytes(serialization.Encoding.PEM))
    key_path = folder / "conformance.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return chain, key_path


@pytest.mark.parametrize("ekus", [
    ["1.3.6.1.5.5.7.3.36"],  # documentSigning
    ["1.3.6.1.4.1.62558.2.1"],  # c2pa-kp-claimSigning
    ["1.3.6.1.5.5.7.3.36", "1.3.6.1.4.1.62558.2.1"],
])
def test_conformance_ekus_are_accepted(ca: DevCA, tmp_path: Path, ekus: list[str]) -> None:
    # c2pa-python 0.38.1 left to its defaults reads these signers as Invalid
    # (signingCredential.invalid); c2pa_settings passes the full C2PA EKU list.
    chain, key = _conformance_style_signer(ca, tmp_path, ekus)
    dst = tmp_path / "out.png"
    sign_c2pa(_image(tmp_path / "in.png", "PNG"), dst, cert_chain=chain, key=key, gb_label=None)
    report = read_c2pa(dst, anchors_pem=ca.trust_anchors)
    assert report is not None
    assert (report.state, report.validation_codes) == ("Trusted", ())
    untrusted = read_c2pa(dst)
    assert untrusted is not None
    assert untrusted.state == "Valid"


# (b) ---------------------------------------------------------------------------------------


def _flip_scan_byte(data: bytes) -> bytes:
    """Flip one bit in the middle of the JPEG scan (after the manifest's APP11 segments)."""
    sos = data.rfind(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
    end = data.rfind(b"\xff\xd9")
    i = (start + end) // 2
    # Keep the entropy-coded data free of new markers: no 0xFF made, none touched.
    while data[i] in (0xFE, 0xFF) or data[i - 1] == 0xFF:
        i += 1
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]


def test_one_changed_pixel_byte_is_invalid(ca: DevCA, tmp_path: Path) -> None:
    dst = tmp_path / "out.jpg"
    _sign(ca, _image(tmp_path / "in.jpg"), dst)
    tampered = _flip_scan_byte(dst.read_bytes())
    anchors = ca.trust_anchors.read_text()
    assert _oracle_state(tampered, "image/jpeg", anchors) == "Invalid"
    report = read_c2pa(tampered, anchors_pem=anchors)
    assert report is not None
    assert report.state == "Invalid"
    assert "assertion.dataHash.mismatch" in report.validation_codes
    assert any(m.startswith("assertion.dataHash.mismatch: ") for m in report.validation_messages)
    assert report.is_ai  # the unsigned claim is still reported, for the verifier to weigh


# (c) ---------------------------------------------------------------------------------------


def test_gb_label_round_trips(ca: DevCA, tmp_path: Path) -> None:
    record = AIGCRecord.for_producer(PRODUCER)
    label = record.to_json()
    dst = tmp_path / "out.jpg"
    result = sign_c2pa(_image(tmp_path / "in.jpg"), dst, cert_chain=ca.signer_chain,
                       key=ca.signer_key, gb_label=label)
    assert result.assertions == ("c2pa.actions.v2", GB_ASSERTION_LABEL)
    report = read_c2pa(dst, anchors_pem=ca.trust_anchors.read_text())
    assert report is not None
    assert report.gb_label == label  # Annex E order and compact form restored
    with c2pa.Context.from_dict(c2pa_settings()) as ctx, \
            c2pa.Reader(str(dst), None, None, ctx) as reader:
        active = reader.get_active_manifest()
    data = next(a["data"] for a in active["assertions"] if a["label"] == GB_ASSERTION_LABEL)
    assert data == {"AIGC": json.loads(label)}


def test_gb_label_forms(ca: DevCA, tmp_path: Path) -> None:
    record = AIGCRecord.for_producer(PRODUCER)
    src = _image(tmp_path / "in.png", "PNG")
    for i, given in enumerate([record, json.dumps({"AIGC": record.to_dict()}, indent=1)]):
        dst = tmp_path / f"out{i}.png"
        _sign(ca, src, dst, gb_label=given)
        report = read_c2pa(dst)
        assert report is not None
        assert report.gb_label == record.to_json()


def test_unusable_gb_label_writes_nothing(ca: DevCA, tmp_path: Path) -> None:
    dst = tmp_path / "out.jpg"
    with pytest.raises(InvalidLabelError, match="GB label"):
        _sign(ca, _image(tmp_path / "in.jpg"), dst, gb_label="not json")
    assert not dst.exists()
    assert _leftovers(tmp_path) == []


def test_no_gb_assertion_without_label(ca: DevCA, tmp_path: Path) -> None:
    dst = tmp_path / "out.jpg"
    _sign(ca, _image(tmp_path / "in.jpg"), dst)
    report = read_c2pa(dst)
    assert report is not None
    assert report.gb_label is None


# (d) ---------------------------------------------------------------------------------------


def test_created_file_is_ai(ca: DevCA, tmp_path: Path) -> None:
    dst = tmp_path / "out.jpg"
    _sign(ca, _image(tmp_path / "in.jpg"), dst)
    report = read_c2pa(dst)
    assert report is not None
    assert report.actions == ("c2pa.created",)
    assert report.source_types == (IPTC + "trainedAlgorithmicMedia",)
    assert report.ingredient_source_types == ()
    assert report.is_ai


def test_composite_is_an_ai_edit(ca: DevCA, tmp_path: Path) -> None:
    dst = tmp_path / "out.jpg"
    result = sign_c2pa(_image(tmp_path / "in.jpg"), dst, cert_chain=ca.signer_chain,
                       key=ca.signer_key, gb_label=None,
                       source_type="compositeWithTrainedAlgorithmicMedia")
    assert result.intent == "edit"
    report = read_c2pa(dst, anchors_pem=ca.trust_anchors.read_text())
    assert report is not None
    assert report.state == "Trusted"
    assert report.actions == ("c2pa.opened", "c2pa.edited")
    assert report.source_types == (IPTC + "compositeWithTrainedAlgorithmicMedia",)
    assert report.is_ai


def test_algorithmic_media_is_not_ai(ca: DevCA, tmp_path: Path) -> None:
    dst = tmp_path / "out.png"
    _sign(ca, _image(tmp_path / "in.png", "PNG"), dst, source_type=IPTC + "algorithmicMedia")
    report = read_c2pa(dst)
    assert report is not None
    assert report.actions == ("c2pa.created",)
    assert report.source_types == (IPTC + "algorithmicMedia",)
    assert not report.is_ai


def test_edit_of_an_ai_file_counts_through_its_ingredient(ca: DevCA, tmp_path: Path) -> None:
    first = tmp_path / "ai.jpg"
    _sign(ca, _image(tmp_path / "in.jpg"), first)
    second = tmp_path / "edited.jpg"
    # The source already carries a manifest: signed as an edit with it as parent ingredient.
    result = sign_c2pa(first, second, cert_chain=ca.signer_chain, key=ca.signer_key,
                       gb_label=None, source_type="humanEdits")
    assert (result.intent, result.actions) == ("edit", ("c2pa.opened", "c2pa.edited"))
    report = read_c2pa(second, anchors_pem=ca.trust_anchors.read_text())
    assert report is not None
    assert report.state == "Trusted"
    assert report.source_types == (IPTC + "humanEdits",)
    assert report.ingredient_source_types == (IPTC + "trainedAlgorithmicMedia",)
    assert report.is_ai
    with c2pa.Context.from_dict(c2pa_settings()) as ctx, \
            c2pa.Reader(str(second), None, None, ctx) as reader:
        active = reader.get_active_manifest()
        store = json.loads(reader.json())
    parent = active["ingredients"][0]
    assert parent["relationship"] == "parentOf"
    assert parent["title"] == "ai.jpg"
    assert len(store["manifests"]) == 2


def test_forced_create_drops_the_previous_manifest(ca: DevCA, tmp_path: Path) -> None:
    first = tmp_path / "ai.jpg"
    _sign(ca, _image(tmp_path / "in.jpg"), first)
    second = tmp_path / "again.jpg"
    _sign(ca, first, second, intent="create", source_type="digitalArt")
    report = read_c2pa(second)
    assert report is not None
    assert report.source_types == (IPTC + "digitalArt",)
    assert report.ingredient_source_types == ()
    assert not report.is_ai


@pytest.mark.parametrize(("uri", "ai"), [
    (IPTC + "trainedAlgorithmicMedia", True),
    ("https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia", True),
    (IPTC + "compositeWithTrainedAlgorithmicMedia", True),
    (IPTC + "compositeSynthetic", False),
    (IPTC + "algorithmicMedia", False),
    (IPTC + "digitalCapture", False),
    (IPTC + "TrainedAlgorithmicMedia", False),
    ("http://c2pa.org/digitalsourcetype/empty", False),
    ("trainedAlgorithmicMedia", False),
])
def test_is_ai_source_type(uri: str, ai: bool) -> None:
    assert is_ai_source_type(uri) is ai


def test_unknown_source_type_is_refused(ca: DevCA, tmp_path: Path) -> None:
    with pytest.raises(InvalidLabelError, match="digital source type"):
        _sign(ca, _image(tmp_path / "in.jpg"), tmp_path / "out.jpg", source_type="aiMagic")
    assert not (tmp_path / "out.jpg").exists()


# (e) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data"), [
    ("notes.txt", b"plain text, no metadata area\n"),
    ("doc.docx", b"PK\x03\x04" + bytes(60)),
    ("empty.jpg", b""),
])
def test_unsupported_format_leaves_no_output(ca: DevCA, tmp_path: Path, name: str,
                                             data: bytes) -> None:
    src = tmp_path / name
    src.write_bytes(data)
    dst = tmp_path / ("signed-" + name)
    with pytest.raises(UnsupportedFormatError):
        _sign(ca, src, dst)
    assert not dst.exists()
    assert _leftovers(tmp_path) == []


def test_c2pa_failure_leaves_no_output(ca: DevCA, tmp_path: Path) -> None:
    src = tmp_path / "broken.jpg"
    src.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40))
    dst = tmp_path / "out.jpg"
    with pytest.raises(CorruptFileError):
        _sign(ca, src, dst)
    assert not dst.exists()
    assert _leftovers(tmp_path) == []


def test_output_rules(ca: DevCA, tmp_path: Path) -> None:
    src = _image(tmp_path / "in.jpg")
    with pytest.raises(OutputError, match="input"):
        _sign(ca, src, src)
    dst = tmp_path / "out.jpg"
    dst.write_bytes(b"keep")
    with pytest.raises(OutputError, match="exists"):
        _sign(ca, src, dst)
    assert dst.read_bytes() == b"keep"
    _sign(ca, src, dst, overwrite=True)
    assert read_c2pa(dst) is not None


def test_mismatched_credentials(ca: DevCA, tmp_path: Path) -> None:
    other = make_dev_ca(tmp_path / "other")
    dst = tmp_path / "out.jpg"
    with pytest.raises(InvalidLabelError, match="does not match"):
        sign_c2pa(_image(tmp_path / "in.jpg"), dst, cert_chain=ca.signer_chain,
                  key=other.signer_key, gb_label=None)
    assert not dst.exists()


# (f) ---------------------------------------------------------------------------------------


def test_dev_ca_certificates(ca: DevCA) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, ObjectIdentifier

    chain = x509.load_pem_x509_certificates(ca.signer_chain.read_bytes())
    root = x509.load_pem_x509_certificate(ca.ca_cert.read_bytes())
    signer = x509.load_pem_x509_certificate(ca.signer_cert.read_bytes())
    assert chain == [signer, root]
    assert x509.load_pem_x509_certificates(ca.trust_anchors.read_bytes()) == [root]

    bc = signer.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca is False
    ku = signer.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert not ku.value.key_cert_sign
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert ObjectIdentifier("1.3.6.1.4.1.62558.2.1") in eku  # c2pa-kp-claimSigning
    assert ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku
    signer.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    signer.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    assert signer.issuer == root.subject != signer.subject
    signer.verify_directly_issued_by(root)
    days = (signer.not_valid_after_utc - signer.not_valid_before_utc).days
    assert 365 <= days <= 366
    assert (root.not_valid_after_utc - root.not_valid_before_utc).days >= 5 * 365
    assert signer.serial_number != root.serial_number

    root_bc = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert root_bc.ca
    assert root.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign

    for key in (ca.ca_key, ca.signer_key):
        assert os.stat(key).st_mode & 0o777 == 0o600
    assert [p.name for p, _ in ca.described()] == [
        "ca.key", "ca.pem", "signer.key", "signer.pem", "signer-chain.pem", "trust-anchors.pem"]


def test_dev_ca_refuses_to_overwrite(tmp_path: Path) -> None:
    make_dev_ca(tmp_path)
    with pytest.raises(OutputError, match="exists"):
        make_dev_ca(tmp_path)
    make_dev_ca(tmp_path, overwrite=True)
    with pytest.raises(InvalidLabelError):
        make_dev_ca(tmp_path / "x", alg="rs256")


# Reading ------------------------------------------------------------------------------------


def test_no_manifest_is_none(tmp_path: Path) -> None:
    src = _image(tmp_path / "in.jpg")
    assert read_c2pa(src) is None
    assert read_c2pa(b"plain text") is None
    assert read_c2pa(b"") is None


def test_bytes_and_streams(ca: DevCA, tmp_path: Path) -> None:
    data = sign_c2pa_bytes(_image(tmp_path / "in.png", "PNG").read_bytes(),
                           cert_chain=ca.signer_chain, key=ca.signer_key, gb_label=None)
    from_bytes = read_c2pa(data)
    from_stream = read_c2pa(io.BytesIO(data))
    assert from_bytes is not None
    assert from_bytes.state == "Valid"
    assert from_stream == from_bytes


def test_remote_manifest_is_reported_not_fetched(ca: DevCA, tmp_path: Path) -> None:
    manifest = {"claim_generator_info": [{"name": "test"}], "assertions": [
        {"label": "c2pa.actions.v2", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia"}]}}]}
    info = c2pa.C2paSignerInfo(b"es256", ca.signer_chain.read_bytes(),
                               ca.signer_key.read_bytes(), None)
    out = io.BytesIO()
    with c2pa.Context.from_dict(c2pa_settings()) as ctx, \
            c2pa.Builder(manifest, ctx) as builder, c2pa.Signer.from_info(info) as signer:
        builder.set_remote_url("https://manifests.invalid/m.c2pa")
        builder.set_no_embed()
        builder.sign(signer, "image/jpeg", io.BytesIO(_image(tmp_path / "in.jpg").read_bytes()),
                     out)
    report = read_c2pa(out.getvalue())
    assert report is not None
    assert report.state == "Remote"
    assert report.remote_url == "https://manifests.invalid/m.c2pa"
    assert not report.is_ai


def test_third_party_manifest() -> None:
    """c2pa-rs's own fixture (a test certificate; opened + colour edits, no source type)."""
    sample = REAL / "CA.jpg"
    if not sample.is_file():
        pytest.skip(f"shared real fixture {sample} is absent")
    report = read_c2pa(sample)
    assert report is not None
    assert report.state == "Valid"
    assert report.validation_codes == ("signingCredential.untrusted",)
    assert report.actions[0] == "c2pa.opened"
    assert report.source_types == ()
    assert not report.is_ai
    assert report.issuer == "C2PA Test Signing Cert"
    assert report.gb_label is None


def test_bad_anchors_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidLabelError, match="PEM"):
        read_c2pa(_image(tmp_path / "in.jpg"), anchors_pem="no certificates here")


@pytest.mark.parametrize(("head", "mime"), [
    (b"\xff\xd8\xff\xe0", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF89a", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
    (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
    (b"RF64\xff\xff\xff\xffWAVEds64", None),
    (b"II*\x00", "image/tiff"),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41", "video/mp4"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime"),
    (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom", "audio/mp4"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
    (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", "image/avif"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "image/jxl"),
    (b"ID3\x04\x00", "audio/mpeg"),
    (b"\xff\xfb\x90\x00", "audio/mpeg"),
    (b"\xff\xf1\x50\x80", None),  # ADTS AAC, not MPEG audio
    (b"fLaC\x00\x00\x00\x22", "audio/flac"),
    (b"%PDF-1.7\n", "application/pdf"),
    (b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- x --><svg xmlns='http://www.w3.org/2000/svg'/>",
     "image/svg+xml"),
    (b"<html><svg></svg></html>", None),
    (b"\x00\x00\x00\x20jumb\x00\x00\x00\x18jumdc2pa", "application/c2pa"),
    (b"PK\x03\x04", "application/zip"),
    (b"hello", None),
])
def test_detect_mime(head: bytes, mime: str | None) -> None:
    assert detect_mime(head) == mime
