"""Signed labels (rules §D.5, issue 7): producer and platform signatures in ReservedCode1/2,
the content binding, the trust file, the verifier's per-signature states and the policy, the
CLI, and the tamper suite (every kind of tampering tried is caught)."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, PRODUCER

import aiglabel
from aiglabel.gb45438 import FIELDS, AIGCRecord, validate
from aiglabel.signing import LabelSigner, SignatureState, check_signatures, sign_record
from aiglabel.signing.token import message, parse_token

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from aiglabel.signing.keys import SigningKey
    from aiglabel.signing.trust import TrustStore
    from aiglabel.verify import VerifyReport

pytest.importorskip("cryptography")
from aiglabel.signing.keys import generate_key, key_id  # noqa: E402
from aiglabel.signing.trust import TrustEntry, TrustStore  # noqa: E402
from aiglabel.verify import Verdict, VerifyOptions, verify  # noqa: E402

PLATFORM = "001191110108MA01KP7Q3Y0000"
JPEG = (MEDIA / "jpeg" / "plain.jpg").read_bytes()
PNG = (MEDIA / "png" / "plain.png").read_bytes()


@pytest.fixture(scope="module")
def producer_key() -> SigningKey:
    return generate_key("es256")


@pytest.fixture(scope="module")
def platform_key() -> SigningKey:
    return generate_key("ed25519")


@pytest.fixture(scope="module")
def trust(producer_key: SigningKey, platform_key: SigningKey) -> TrustStore:
    return TrustStore([
        TrustEntry(PRODUCER, "producer", producer_key.alg, producer_key.kid,
                   producer_key.public_pem().decode()),
        TrustEntry(PLATFORM, "platform", platform_key.alg, platform_key.kid,
                   platform_key.public_pem().decode()),
    ])


def _signed_file(data: bytes, producer_key: SigningKey, platform_key: SigningKey | None = None,
                 *, bind: bool = True) -> bytes:
    """``data`` labelled and signed by the producer (bound), then by the platform."""
    record = AIGCRecord.for_producer(PRODUCER, "content-0001")
    out = aiglabel.label_bytes(data, record, sign=LabelSigner(producer_key, bind_content=bind))
    if platform_key is None:
        return out
    (found,) = aiglabel.read_labels(out)
    assert found.record is not None
    onward = dataclasses.replace(found.record, content_propagator=PLATFORM,
                                 propagate_id="upload-77")
    return aiglabel.label_bytes(out, onward, sign=LabelSigner(platform_key, role="platform"))


def _report(data: bytes, trust: TrustStore | None, name: str = "x.jpg") -> VerifyReport:
    return verify(data, name=name, options=VerifyOptions(trust=trust))


def _states(report: VerifyReport) -> dict[str, str]:
    (evidence,) = [e for e in report.evidence if e.kind.value == "implicit-metadata"]
    return {c.field: c.state.value for c in evidence.signatures}


@pytest.mark.parametrize("alg", ["es256", "ed25519"])
def test_token_shape_and_charset(alg: str) -> None:
    key = generate_key(alg)
    record = AIGCRecord.for_producer(PRODUCER, "id-1")
    signed = sign_record(record, key, essence="sha256:" + "ab" * 32)
    validate(signed)  # Annex E j): the token fits the charset once escaped
    token = parse_token(signed.reserved_code1)
    assert token is not None
    assert (token.alg, token.kid, token.essence_hex) == (key.alg, key.kid, "ab" * 32)
    assert key_id(token.public_key) == key.kid
    data = json.loads(signed.reserved_code1)["SecurityData"]
    assert (data["Type"], data["Version"], data["TBSData"]["Type"]) == ("Sig", "AGL-1.0",
                                                                       "Md+Bnd")
    assert '"Label":"1","ContentProducer":"' in message(record, "producer").decode()
    assert message(record, "producer") == (
        f'"Label":"1","ContentProducer":"{PRODUCER}","ProduceID":"id-1"'.encode())
    full = signed.to_json()
    assert full[1:].startswith(message(signed, "platform").decode())
    assert len(token.signature) == 64


def test_signed_labels_verify_as_trusted(producer_key: SigningKey, platform_key: SigningKey,
                                         trust: TrustStore) -> None:
    data = _signed_file(JPEG, producer_key, platform_key)
    report = _report(data, trust)
    assert report.verdict is Verdict.CONFIRMED
    assert _states(report) == {"ReservedCode1": "trusted", "ReservedCode2": "trusted"}
    assert report.evidence[0].integrity.value == "trusted"
    as_json = report.to_dict()["evidence"][0]["signatures"]
    assert [s["state"] for s in as_json] == ["trusted", "trusted"]
    assert as_json[0]["bound"] is True
    # Without a trust file: valid, but the keys are unknown; the verdict stands (rules §D.5.8).
    plain = _report(data, None)
    assert _states(plain) == {"ReservedCode1": "unknown-key", "ReservedCode2": "unknown-key"}
    assert plain.verdict is Verdict.CONFIRMED
    # A signature is required: only a trusted producer signature confirms.
    required = verify(data, name="x.jpg", options=VerifyOptions(require_signature=True))
    assert required.verdict is Verdict.SUSPECTED
    assert any("no trusted producer signature" in w for w in required.warnings)


def test_unsigned_and_opaque_fields() -> None:
    record = AIGCRecord.for_producer(PRODUCER, "id-2", reserved_code1="e862483430d978cbf828")
    states = [c.state for c in check_signatures(record)]
    assert states == [SignatureState.OPAQUE, SignatureState.ABSENT]


def _edit(value: str) -> str:
    """A one-character change that stays inside the Annex E charset."""
    if not value:
        return "x"
    index = len(value) // 2
    return value[:index] + ("A" if value[index] != "A" else "B") + value[index + 1 :]


def _relabel(data: bytes, change: Callable[[AIGCRecord], AIGCRecord]) -> bytes:
    """What an attacker with a metadata editor does: rewrite the label's fields."""
    (found,) = aiglabel.read_labels(data)
    assert found.record is not None
    return aiglabel.label_bytes(data, change(found.record))


def _tamper_cases(producer_key: SigningKey, platform_key: SigningKey
                  ) -> dict[str, tuple[bytes, str]]:
    """name -> (tampered file bytes, file name)."""
    signed = _signed_file(JPEG, producer_key, platform_key)
    cases: dict[str, tuple[bytes, str]] = {}
    # Each field changed to another value the writer accepts (codes must stay valid).
    other_code = "001191110000MA0DEMXY0T1DEMO"
    for name in FIELDS:
        attr = [f.name for f in dataclasses.fields(AIGCRecord)][FIELDS.index(name)]

        def change(r: AIGCRecord, a: str = attr) -> AIGCRecord:
            value = {"label": "2", "content_producer": other_code,
                     "content_propagator": other_code}.get(a) or _edit(getattr(r, a))
            return dataclasses.replace(r, **{a: value})

        cases[f"edit {name}"] = (_relabel(signed, change), "x.jpg")
    other = aiglabel.label_bytes(PNG, AIGCRecord.for_producer(PRODUCER, "other"))
    (found,) = aiglabel.read_labels(signed)
    assert found.record is not None
    cases["label copied onto other content"] = (aiglabel.label_bytes(other, found.record),
                                                "y.png")
    jpeg_b = _signed_file(JPEG, producer_key, bind=True)
    from PIL import Image

    picture = Image.open(io.BytesIO(JPEG))
    reencoded = io.BytesIO()
    picture.save(reencoded, "JPEG", quality=80)
    (found_b,) = aiglabel.read_labels(jpeg_b)
    assert found_b.record is not None
    cases["payload re-encoded"] = (aiglabel.label_bytes(reencoded.getvalue(), found_b.record),
                                   "x.jpg")
    forger = generate_key("es256")
    forged = aiglabel.label_bytes(JPEG, AIGCRecord.for_producer(PRODUCER, "forged"),
                                  sign=LabelSigner(forger))
    cases["forged producer code (attacker's own key)"] = (forged, "x.jpg")
    cases["producer code changed"] = (_relabel(signed, lambda r: dataclasses.replace(
        r, content_producer=PLATFORM)), "x.jpg")

    def cut_sig(token: str, by: int) -> str:
        data = json.loads(token)
        data["SecurityData"]["PubSD"]["Sig"] = data["SecurityData"]["PubSD"]["Sig"][:-by]
        return json.dumps(data, separators=(",", ":"))

    cases["signature truncated"] = (_relabel(signed, lambda r: dataclasses.replace(
        r, reserved_code1=cut_sig(r.reserved_code1, 4))), "x.jpg")
    cases["token truncated"] = (_relabel(signed, lambda r: dataclasses.replace(
        r, reserved_code1=r.reserved_code1[:-40])), "x.jpg")
    return cases


def _caught(report: VerifyReport) -> bool:
    """Tampering is caught when a signature fails (invalid, binding broken) or, for a label
    re-signed with someone else's key, the producer's signature is not trusted."""
    states = _states(report)
    failed = any(s in ("invalid", "binding-broken") for s in states.values())
    return failed or states.get("ReservedCode1") != "trusted"


def test_tamper_suite(producer_key: SigningKey, platform_key: SigningKey, trust: TrustStore,
                      capsys: pytest.CaptureFixture[str]) -> None:
    cases = _tamper_cases(producer_key, platform_key)
    outcome = {}
    for name, (data, file_name) in cases.items():
        report = _report(data, trust, file_name)
        outcome[name] = (_caught(report), _states(report))
        if any(s in ("invalid", "binding-broken") for s in outcome[name][1].values()):
            assert report.contradictions, name
            assert any(f.code.startswith("D.signature") for f in report.findings), name
            if report.evidence[0].label_value == "1":
                assert report.verdict is Verdict.SUSPECTED, name
    with capsys.disabled():
        print(f"\ntamper suite: {sum(c for c, _ in outcome.values())}/{len(outcome)} caught")
        for name, (caught, states) in outcome.items():
            print(f"  {'caught' if caught else 'MISSED'}: {name}: {states}")
    assert all(c for c, _ in outcome.values()), outcome
    assert len(outcome) == 13


def test_binding_survives_lossless_rewrites(producer_key: SigningKey,
                                            trust: TrustStore) -> None:
    """The essence digest ignores metadata: writing the label again, or another platform's
    propagation, keeps the producer's bound signature valid."""
    data = _signed_file(PNG, producer_key)
    (found,) = aiglabel.read_labels(data)
    assert found.record is not None
    onward = aiglabel.label_bytes(data, dataclasses.replace(
        found.record, content_propagator=PLATFORM, propagate_id="p-2"))
    assert _states(_report(onward, trust, "x.png"))["ReservedCode1"] == "trusted"


def test_trust_file_checks(tmp_path: Path, producer_key: SigningKey) -> None:
    entry = TrustEntry(PRODUCER, "producer", producer_key.alg, producer_key.kid,
                       producer_key.public_pem().decode(), not_after="2000-01-01")
    TrustStore([entry]).save(tmp_path / "t.json")
    store = TrustStore.load(tmp_path / "t.json")
    hit, why = store.lookup(PRODUCER, "producer", producer_key.kid)
    assert hit is None
    assert "not on" in why
    assert store.lookup("OTHER", "producer", producer_key.kid)[1].startswith(
        "the key is trusted for")
    bad = dataclasses.replace(entry, kid="0" * 16)
    TrustStore([bad]).save(tmp_path / "bad.json")
    with pytest.raises(aiglabel.InvalidLabelError, match="is not the key's id"):
        TrustStore.load(tmp_path / "bad.json")


def test_cli_keys_label_propagate_verify(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    run = CliRunner().invoke
    made = run(app, ["keys", "init", "-o", str(tmp_path / "k"), "--producer", PRODUCER])
    assert made.exit_code == 0, made.output
    assert "BEGIN PUBLIC KEY" in made.output
    assert (tmp_path / "k" / "aiglabel-signing.key").stat().st_mode & 0o077 == 0
    again = run(app, ["keys", "init", "-o", str(tmp_path / "k")])
    assert again.exit_code == 2
    made = run(app, ["keys", "init", "-o", str(tmp_path / "p"), "--producer", PLATFORM,
                     "--role", "platform", "--alg", "ed25519"])
    assert made.exit_code == 0, made.output
    trust_file = tmp_path / "k" / "aiglabel-trust.json"
    added = run(app, ["keys", "trust", str(trust_file), str(tmp_path / "p" /
                                                           "aiglabel-signing.pub.pem"),
                      "--code", PLATFORM, "--role", "platform"])
    assert added.exit_code == 0, added.output
    src = MEDIA / "png" / "plain.png"
    labelled = run(app, ["label", str(src), "-o", str(tmp_path / "o1"), "--producer", PRODUCER,
                         "--sign-key", str(tmp_path / "k" / "aiglabel-signing.key"),
                         "--bind-content"])
    assert labelled.exit_code == 0, labelled.output
    onward = run(app, ["propagate", str(tmp_path / "o1" / "plain.png"), "-o",
                       str(tmp_path / "o2"), "--platform", PLATFORM, "--sign-key",
                       str(tmp_path / "p" / "aiglabel-signing.key")])
    assert onward.exit_code == 0, onward.output
    checked = run(app, ["verify", str(tmp_path / "o2" / "plain.png"), "--json", "--trust",
                        str(trust_file)])
    assert checked.exit_code == 0, checked.output
    start = checked.output.index("[")
    (report,) = json.loads(checked.output[start : checked.output.rindex("]") + 1])
    assert report["verdict"] == "confirmed"
    assert [s["state"] for s in report["evidence"][0]["signatures"]] == ["trusted", "trusted"]
    bad = run(app, ["label", str(src), "-o", str(tmp_path / "o3"), "--sign-key",
                    str(src)])
    assert bad.exit_code == 2
    assert "not a usable PEM private key" in bad.output
    loose = run(app, ["label", str(src), "-o", str(tmp_path / "o4"), "--bind-content"])
    assert loose.exit_code == 2


def test_hostile_tokens_are_invalid_not_crashes() -> None:
    from aiglabel.signing.token import TokenError

    deep = '{"SecurityData":' + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(TokenError, match="nested too deeply"):
        parse_token(deep)
    record = AIGCRecord.for_producer(PRODUCER, "h", reserved_code1=deep)
    (check,) = [c for c in check_signatures(record) if c.field == "ReservedCode1"]
    assert check.state is SignatureState.INVALID
    for text in ('{"SecurityData":{"Version":"AGL-1.0"}}',
                 '{"SecurityData":{"Version":"AGL-1.0","PubSD":{"Alg":"RS1"}}}',
                 '{"SecurityData":{"Version":"AGL-1.0","PubSD":{"Alg":"ES256",'
                 '"OID":"1.2.840.10045.4.3.2","KeyId":"zz","KeyValue":"","Sig":""}}}'):
        with pytest.raises(TokenError):
            parse_token(text)
    assert parse_token('{"SecurityData":{"Version":"other"}}') is None  # someone else's


def test_review_fixes(tmp_path: Path, producer_key: SigningKey, platform_key: SigningKey,
                      trust: TrustStore) -> None:
    """Hostile TBSData keeps the label's evidence; a key id alone is not trust; renewed
    entries are found; malformed trust files are clean errors; a platform does not
    countersign a tampered label; keys init replaces a symlink instead of writing through."""
    from aiglabel.verify.propagate import propagate

    token = json.loads(sign_record(AIGCRecord.for_producer(PRODUCER, "t"),
                                   producer_key).reserved_code1)
    token["SecurityData"]["TBSData"] = []
    hostile = AIGCRecord.for_producer(PRODUCER, "t",
                                      reserved_code1=json.dumps(token, separators=(",", ":")))
    report = _report(aiglabel.label_bytes(PNG, hostile), trust, "x.png")
    assert report.verdict is Verdict.SUSPECTED
    assert _states(report)["ReservedCode1"] == "invalid"

    impostor = generate_key("ed25519")
    fake = TrustStore([TrustEntry(PRODUCER, "producer", producer_key.alg, impostor.kid,
                                  producer_key.public_pem().decode())])
    assert fake.lookup(PRODUCER, "producer", impostor.kid, impostor.public_der)[0] is None
    renewed = TrustStore([
        TrustEntry(PRODUCER, "producer", producer_key.alg, producer_key.kid,
                   producer_key.public_pem().decode(), not_after="2020-01-01"),
        TrustEntry(PRODUCER, "any", producer_key.alg, producer_key.kid,
                   producer_key.public_pem().decode(), not_before="2024-01-01")])
    assert renewed.lookup(PRODUCER, "producer", producer_key.kid)[1] == "trusted"

    for body in ('{"format":"aiglabel-trust/1","keys":5}',
                 '{"format":"aiglabel-trust/1","keys":[{"public_key":5}]}',
                 '{"format":"aiglabel-trust/1","keys":' + "[" * 5000 + "]" * 5000 + "}"):
        (tmp_path / "t.json").write_text(body)
        with pytest.raises(aiglabel.InvalidLabelError):
            TrustStore.load(tmp_path / "t.json")

    tampered = _relabel(_signed_file(JPEG, producer_key), lambda r: dataclasses.replace(
        r, produce_id="edited"))
    (tmp_path / "in.jpg").write_bytes(tampered)
    with pytest.raises(aiglabel.InvalidLabelError, match="refusing to sign"):
        propagate(tmp_path / "in.jpg", tmp_path / "out.jpg", platform=PLATFORM,
                  sign=LabelSigner(platform_key, role="platform"))
    assert not (tmp_path / "out.jpg").exists()

    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "aiglabel-signing.key").symlink_to(tmp_path / "elsewhere.key")
    made = CliRunner().invoke(app, ["keys", "init", "-o", str(tmp_path / "k"), "--overwrite"])
    assert made.exit_code == 0, made.output
    assert not (tmp_path / "elsewhere.key").exists()
    assert (tmp_path / "k" / "aiglabel-signing.key").stat().st_mode & 0o777 == 0o600
