"""C2PA in the product (issue 7): ``label --c2pa`` signs last, over the explicit and implicit
labels; ``keys init --c2pa`` makes a CA c2pa-python accepts; the verifier's C2PA detector
reports Trusted / Valid / Invalid with configurable anchors, and contradictions."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, PRODUCER

import aiglabel

if TYPE_CHECKING:
    from pathlib import Path

    from aiglabel.provenance.devca import DevCA

pytest.importorskip("c2pa")
from aiglabel.gb45438 import AIGCRecord  # noqa: E402
from aiglabel.provenance.devca import make_dev_ca  # noqa: E402
from aiglabel.provenance.step import C2paOptions  # noqa: E402
from aiglabel.verify import Verdict, VerifyOptions, verify  # noqa: E402


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DevCA:
    return make_dev_ca(tmp_path_factory.mktemp("ca"))


def _options(ca: DevCA, **kw: str) -> C2paOptions:
    return C2paOptions(str(ca.signer_chain), str(ca.signer_key), **kw)


def _c2pa(report: aiglabel.verify.VerifyReport) -> aiglabel.verify.Evidence:
    (evidence,) = [e for e in report.evidence if e.kind.value == "c2pa"]
    return evidence


@pytest.mark.parametrize("fixture", [
    "jpeg/plain.jpg", "png/plain.png", "webp/lossless.webp", "gif/plain.gif", "tiff/plain.tif",
    "heif/plain.heic", "heif/plain.avif", "mp3/old-label.mp3", "flac/plain.flac",
    "wav/plain.wav", "mp4/plain.mp4", "mp4/itunes.m4a", "mp4/quicktime.mov", "avi/plain.avi",
    "pdf/old-label.pdf"])
def test_label_signs_c2pa_last(tmp_path: Path, ca: DevCA, fixture: str) -> None:
    src = MEDIA / fixture
    dst = tmp_path / src.name
    record = AIGCRecord.for_producer(PRODUCER, "c2pa-1")
    result = aiglabel.label(src, dst, record, c2pa=_options(ca))
    assert result.c2pa is not None
    # The implicit label is still there, exactly one, and the manifest covers it.
    assert [x.record for x in aiglabel.read_labels(dst)] == [record]
    if fixture.split("/")[0] in ("jpeg", "png", "webp", "gif", "tiff", "heif"):
        from PIL import Image

        with Image.open(src) as before, Image.open(dst) as after:  # an independent decoder
            assert after.convert("RGB").tobytes() == before.convert("RGB").tobytes()
    if fixture.endswith(".pdf"):  # c2pa-rs rewrites a PDF wholesale: its essence moves
        assert aiglabel.essence_digest(dst) != aiglabel.essence_digest(src)
    else:  # the manifest is metadata: a content binding signed before it stays valid
        assert aiglabel.essence_digest(dst) == aiglabel.essence_digest(src)
    anchors = ca.trust_anchors.read_text()
    trusted = verify(dst, options=VerifyOptions(c2pa_anchors=anchors))
    assert _c2pa(trusted).integrity.value == "trusted"
    assert _c2pa(trusted).claim.value == "ai-generated"
    assert _c2pa(trusted).record == record  # the GB label assertion
    assert trusted.verdict is Verdict.CONFIRMED
    assert trusted.contradictions == []
    plain = verify(dst)
    assert _c2pa(plain).integrity.value == "intact"  # Valid, signer not trusted
    assert [f.name for f in tmp_path.iterdir()] == [src.name]  # no temporary file left


def test_one_byte_change_is_invalid(tmp_path: Path, ca: DevCA) -> None:
    import c2pa

    dst = tmp_path / "a.png"
    aiglabel.label(MEDIA / "png" / "plain.png", dst, AIGCRecord.for_producer(PRODUCER, "x"),
                   c2pa=_options(ca))
    data = bytearray(dst.read_bytes())
    idat = data.index(b"IDAT") + 8
    data[idat] ^= 0x01
    (tmp_path / "b.png").write_bytes(bytes(data))
    anchors = ca.trust_anchors.read_text()
    report = verify(tmp_path / "b.png", options=VerifyOptions(c2pa_anchors=anchors))
    evidence = _c2pa(report)
    assert evidence.integrity.value == "invalid"
    assert "mismatch" in evidence.detail
    assert report.verdict is not Verdict.CONFIRMED or any(
        e.kind.value == "implicit-metadata" for e in report.evidence)
    assert any("possible tampering" in w for w in report.warnings)
    # c2pa-python's own Reader agrees.
    with c2pa.Reader(str(tmp_path / "b.png")) as reader:
        assert reader.get_validation_state() == "Invalid"


def test_ai_edit_source_type_and_contradiction(tmp_path: Path, ca: DevCA) -> None:
    src = MEDIA / "jpeg" / "plain.jpg"
    dst = tmp_path / "edit.jpg"
    aiglabel.label(src, dst, AIGCRecord.for_producer(PRODUCER, "e-1"),
                   c2pa=_options(ca, source_type="compositeWithTrainedAlgorithmicMedia"))
    report = verify(dst, options=VerifyOptions(c2pa_anchors=ca.trust_anchors.read_text()))
    assert _c2pa(report).claim.value == "ai-edited"
    # The file's GB label rewritten afterwards (ProduceID changed): the manifest's label
    # differs, and the rewrite breaks the manifest's hash as well.
    (found,) = aiglabel.read_labels(dst)
    assert found.record is not None
    moved = aiglabel.label_bytes(dst.read_bytes(), dataclasses.replace(
        found.record, produce_id="other-id"))
    later = verify(moved, name="m.jpg",
                   options=VerifyOptions(c2pa_anchors=ca.trust_anchors.read_text()))
    assert any("differs from the file's" in c for c in later.contradictions)


def test_cli_keys_c2pa_label_verify(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    run = CliRunner().invoke
    made = run(app, ["keys", "init", "-o", str(tmp_path / "k"), "--producer", PRODUCER,
                     "--c2pa"])
    assert made.exit_code == 0, made.output
    for name in ("signer-chain.pem", "signer.key", "trust-anchors.pem", "ca.pem"):
        assert name in made.output
        assert (tmp_path / "k" / name).is_file()
    src = MEDIA / "jpeg" / "plain.jpg"
    labelled = run(app, ["label", str(src), "-o", str(tmp_path / "out"), "--producer",
                         PRODUCER, "--explicit", "--c2pa", "--c2pa-cert",
                         str(tmp_path / "k" / "signer-chain.pem"), "--c2pa-key",
                         str(tmp_path / "k" / "signer.key"), "-v"])
    assert labelled.exit_code == 0, labelled.output
    assert "C2PA" in labelled.output
    checked = run(app, ["verify", str(tmp_path / "out" / "plain.jpg"), "--json",
                        "--c2pa-anchors", str(tmp_path / "k" / "trust-anchors.pem")])
    assert checked.exit_code == 0, checked.output
    text = checked.output
    (report,) = json.loads(text[text.index("[") : text.rindex("]") + 1])
    kinds = {e["kind"]: e for e in report["evidence"]}
    assert kinds["c2pa"]["integrity"] == "trusted"
    assert kinds["c2pa"]["manifest"]["state"] == "Trusted"
    assert kinds["c2pa"]["manifest"]["source_types"] == [
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"]
    assert "explicit-mark" in kinds or report["verdict"] == "confirmed"
    missing = run(app, ["label", str(src), "-o", str(tmp_path / "o2"), "--c2pa"])
    assert missing.exit_code == 2
    assert "--c2pa-cert" in missing.output
    loose = run(app, ["label", str(src), "-o", str(tmp_path / "o3"), "--c2pa-edit"])
    assert loose.exit_code == 2
    # A format c2pa-python cannot sign: one error line, nothing left behind.
    text_src = MEDIA / "markdown" / "plain.md"
    if text_src.exists():
        bad = run(app, ["label", str(text_src), "-o", str(tmp_path / "o4"), "--producer",
                        PRODUCER, "--c2pa", "--c2pa-cert",
                        str(tmp_path / "k" / "signer-chain.pem"), "--c2pa-key",
                        str(tmp_path / "k" / "signer.key")])
        assert bad.exit_code == 1
        assert not any((tmp_path / "o4").rglob("*")) if (tmp_path / "o4").exists() else True


def test_binding_with_c2pa_on_pdf_is_refused(tmp_path: Path, ca: DevCA) -> None:
    from aiglabel.signing import LabelSigner
    from aiglabel.signing.keys import generate_key

    signer = LabelSigner(generate_key(), bind_content=True)
    with pytest.raises(aiglabel.InvalidLabelError, match="break the label's content binding"):
        aiglabel.label(MEDIA / "pdf" / "old-label.pdf", tmp_path / "a.pdf",
                       AIGCRecord.for_producer(PRODUCER, "p"), sign=signer, c2pa=_options(ca))
    assert list(tmp_path.iterdir()) == []
    # Bound signature + manifest on a JPEG: both verify.
    dst = tmp_path / "a.jpg"
    aiglabel.label(MEDIA / "jpeg" / "plain.jpg", dst, AIGCRecord.for_producer(PRODUCER, "j"),
                   sign=signer, c2pa=_options(ca))
    report = verify(dst, options=VerifyOptions(c2pa_anchors=ca.trust_anchors.read_text()))
    states = [c.state.value for e in report.evidence for c in e.signatures]
    assert states == ["unknown-key", "absent"]
    assert "bound to this content" in report.evidence[0].signatures[0].detail


def test_in_place_c2pa(tmp_path: Path, ca: DevCA) -> None:
    target = tmp_path / "a.jpg"
    target.write_bytes((MEDIA / "jpeg" / "plain.jpg").read_bytes())
    result = aiglabel.label(target, None, AIGCRecord.for_producer(PRODUCER, "ip"),
                            in_place=True, c2pa=_options(ca))
    assert result.c2pa is not None
    assert [f.name for f in tmp_path.iterdir()] == ["a.jpg"]
    report = verify(target, options=VerifyOptions(c2pa_anchors=ca.trust_anchors.read_text()))
    assert _c2pa(report).integrity.value == "trusted"


def test_ingredient_ai_and_capture_claims(tmp_path: Path, ca: DevCA) -> None:
    """An AI ingredient under a human edit counts as AI-edited; a capture claim over a GB
    label is a contradiction; a remote manifest is reported, not fetched."""
    from aiglabel.provenance.c2pa_read import C2paReport
    from aiglabel.provenance.c2pa_sign import sign_c2pa
    from aiglabel.verify.c2pa import c2pa_evidence

    anchors = ca.trust_anchors.read_text()
    ai = tmp_path / "ai.jpg"
    sign_c2pa(MEDIA / "jpeg" / "plain.jpg", ai, cert_chain=ca.signer_chain, key=ca.signer_key,
              gb_label=None)
    edited = tmp_path / "edited.jpg"
    sign_c2pa(ai, edited, cert_chain=ca.signer_chain, key=ca.signer_key, gb_label=None,
              source_type="humanEdits", intent="edit")
    report = verify(edited, options=VerifyOptions(c2pa_anchors=anchors))
    assert _c2pa(report).claim.value == "ai-edited"
    assert "ingredient" in _c2pa(report).detail
    assert report.verdict is Verdict.CONFIRMED  # Trusted AI claim (warning: non-GB carrier)

    labelled = tmp_path / "labelled.jpg"
    aiglabel.label(MEDIA / "jpeg" / "plain.jpg", labelled, AIGCRecord.for_producer(PRODUCER, "c"))
    capture = tmp_path / "capture.jpg"
    sign_c2pa(labelled, capture, cert_chain=ca.signer_chain, key=ca.signer_key, gb_label=None,
              source_type="digitalCapture", intent="create")
    claimed = verify(capture, options=VerifyOptions(c2pa_anchors=anchors))
    assert _c2pa(claimed).claim.value == "not-ai"
    assert claimed.verdict is Verdict.CONFIRMED  # a non-AI claim never lowers the verdict
    assert any("claims non-AI origin" in c for c in claimed.contradictions)

    remote = c2pa_evidence(C2paReport(state="Remote", remote_url="https://example.com/m.c2pa"))
    assert remote.integrity.value == "unchecked"
    assert "not fetched" in remote.detail
    assert remote.manifest is not None
    assert remote.manifest["remote_url"] == "https://example.com/m.c2pa"


def test_mid_sized_files_and_modes(tmp_path: Path, ca: DevCA) -> None:
    """A manifest at the end of a 100 KB WAV is found (the probe reads the tail whenever the
    file is larger than the head); in place keeps the file's permission bits."""
    import wave

    src = tmp_path / "tone.wav"
    with wave.open(str(src), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(range(256)) * 400)  # 102 400 bytes of samples
    dst = tmp_path / "signed.wav"
    aiglabel.label(src, dst, AIGCRecord.for_producer(PRODUCER, "w"), c2pa=_options(ca))
    assert 64 << 10 < dst.stat().st_size < 128 << 10
    report = verify(dst, options=VerifyOptions(c2pa_anchors=ca.trust_anchors.read_text()))
    assert _c2pa(report).integrity.value == "trusted"
    src.chmod(0o664)
    aiglabel.label(src, None, AIGCRecord.for_producer(PRODUCER, "m"), in_place=True,
                   c2pa=_options(ca))
    assert src.stat().st_mode & 0o777 == 0o664


def test_damaged_signed_files_verify_without_internal_errors(tmp_path: Path, ca: DevCA) -> None:
    """Byte flips anywhere in files carrying a bound signature and a C2PA manifest give a
    report (tampering shows as evidence or findings), never an internal error."""
    import random

    from aiglabel.signing import LabelSigner
    from aiglabel.signing.keys import generate_key

    signer = LabelSigner(generate_key(), bind_content=True)
    signed = []
    for name in ("jpeg/plain.jpg", "png/plain.png", "mp4/plain.mp4", "wav/plain.wav"):
        dst = tmp_path / name.replace("/", "-")
        aiglabel.label(MEDIA / name, dst, AIGCRecord.for_producer(PRODUCER, "d"), sign=signer,
                       c2pa=_options(ca))
        signed.append((dst.suffix, dst.read_bytes()))
    options = VerifyOptions(c2pa_anchors=ca.trust_anchors.read_text())
    rng = random.Random(45438)
    verdicts = []
    for run in range(80):
        suffix, data = rng.choice(signed)
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        report = verify(bytes(damaged), name=f"d{run}{suffix}", options=options)
        assert not [e for e in report.errors if "internal error" in e], report.errors
        verdicts.append(report.verdict)
    assert Verdict.SUSPECTED in verdicts  # broken manifests and bindings are noticed
