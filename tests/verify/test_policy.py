"""The Art. 6 policy: a table of single signals, then every combination of kinds x declaration."""

from __future__ import annotations

import itertools

import pytest

from aiglabel.gb45438 import AIGCRecord
from aiglabel.verify.model import Claim, Evidence, EvidenceKind, Integrity, Verdict
from aiglabel.verify.policy import NOTICES, contribution, decide

PRODUCER = "001191110102MACQD9K64010000"
OTHER = "00119144030008867405X210002"

C, P, S, N = Verdict.CONFIRMED, Verdict.POSSIBLY, Verdict.SUSPECTED, Verdict.NONE


def label(value: str, *, producer: str = PRODUCER, integrity: Integrity = Integrity.UNCHECKED,
          conforms: bool = True) -> Evidence:
    record = AIGCRecord.for_producer(producer, "id-1", label=value)
    return Evidence(EvidenceKind.IMPLICIT, "gb45438-label", Claim.AI_GENERATED, f"Label {value}",
                    "png:iTXt:xmp", record, value, integrity, 1, conforms)


UNUSABLE = Evidence(EvidenceKind.IMPLICIT, "gb45438-label", Claim.UNKNOWN, "does not parse",
                    "png:tEXt:AIGC", None, None, Integrity.UNCHECKED, 1, conforms=False)
BAD_VALUE = Evidence(EvidenceKind.IMPLICIT, "gb45438-label", Claim.UNKNOWN, "Label 9",
                     "png:tEXt:AIGC", AIGCRecord.for_producer(PRODUCER, "x", label="9"), "9")


def c2pa(integrity: Integrity, claim: Claim = Claim.AI_GENERATED) -> Evidence:
    return Evidence(EvidenceKind.C2PA, "c2pa", claim, "manifest", "png:caBX", integrity=integrity,
                    tier=2)


def hint(kind: EvidenceKind, claim: Claim = Claim.AI_GENERATED) -> Evidence:
    return Evidence(kind, kind.value, claim, "hint", "somewhere", tier=5)


DECLARATION = Evidence(EvidenceKind.DECLARATION, "uploader", Claim.AI_GENERATED, "declared")

# Every single signal and what it contributes on its own (rules §E.6, generation-traces.md).
SINGLE: list[tuple[str, Evidence, Verdict | None]] = [
    ("label-1", label("1"), C),
    ("label-1-nonconforming", label("1", conforms=False), C),
    ("label-1-signature-invalid", label("1", integrity=Integrity.INVALID), S),
    ("label-1-signature-intact", label("1", integrity=Integrity.INTACT), C),
    ("label-2", label("2"), P),
    ("label-3", label("3"), S),
    ("label-unparseable", UNUSABLE, S),
    ("label-value-9", BAD_VALUE, S),
    ("c2pa-trusted-ai", c2pa(Integrity.TRUSTED), C),
    ("c2pa-trusted-ai-edit", c2pa(Integrity.TRUSTED, Claim.AI_EDITED), C),
    ("c2pa-valid-untrusted-ai", c2pa(Integrity.INTACT), S),
    ("c2pa-invalid-ai", c2pa(Integrity.INVALID), S),
    ("c2pa-unchecked-ai", c2pa(Integrity.UNCHECKED), S),
    ("c2pa-trusted-capture", c2pa(Integrity.TRUSTED, Claim.NOT_AI), None),
    ("watermark", hint(EvidenceKind.WATERMARK), S),
    ("explicit-mark", hint(EvidenceKind.EXPLICIT), S),
    ("trace", hint(EvidenceKind.TRACE), S),
    ("trace-edited", hint(EvidenceKind.TRACE, Claim.AI_EDITED), S),
    ("trace-capture-claim", hint(EvidenceKind.TRACE, Claim.NOT_AI), None),
    ("trace-unknown-code", hint(EvidenceKind.TRACE, Claim.UNKNOWN), None),
    ("declaration", DECLARATION, P),
]


@pytest.mark.parametrize(("evidence", "expected"), [(e, v) for _, e, v in SINGLE],
                         ids=[name for name, _, _ in SINGLE])
def test_single_signal(evidence: Evidence, expected: Verdict | None) -> None:
    assert contribution(evidence) is expected
    decision = decide([evidence])
    assert decision.verdict is (expected or N)
    assert decision.contributions == (expected,)
    assert decision.notice == NOTICES.get(decision.verdict)


def test_trusted_c2pa_can_be_switched_off() -> None:
    assert decide([c2pa(Integrity.TRUSTED)], trust_c2pa=False).verdict is S


# One option per evidence kind (None = absent); the verdict must be the strongest of the
# table values above plus "possibly" for a declaration, for every combination.
BY_NAME = {name: e for name, e, _ in SINGLE}
IMPLICIT_OPTIONS = [None] + [BY_NAME[n] for n in ("label-1", "label-1-signature-invalid",
                                                  "label-2", "label-3", "label-unparseable")]
C2PA_OPTIONS = [None] + [BY_NAME[n] for n in ("c2pa-trusted-ai", "c2pa-valid-untrusted-ai",
                                              "c2pa-invalid-ai", "c2pa-trusted-capture")]
WATERMARK_OPTIONS = [None, BY_NAME["watermark"]]
EXPLICIT_OPTIONS = [None, BY_NAME["explicit-mark"]]
TRACE_OPTIONS = [None, BY_NAME["trace"], BY_NAME["trace-capture-claim"]]
TABLE = {id(e): v for _, e, v in SINGLE}
COMBINATIONS = list(itertools.product(IMPLICIT_OPTIONS, C2PA_OPTIONS, WATERMARK_OPTIONS,
                                      EXPLICIT_OPTIONS, TRACE_OPTIONS, [False, True]))
RANK = {N: 0, S: 1, P: 2, C: 3}


def test_every_combination_of_kinds_and_declaration() -> None:
    assert len(COMBINATIONS) == 6 * 5 * 2 * 2 * 3 * 2
    for *options, declared in COMBINATIONS:
        evidence = [e for e in options if e is not None]
        values = [TABLE[id(e)] for e in evidence]
        expected = max([v for v in values if v is not None] + [P if declared else N],
                       key=RANK.__getitem__)
        decision = decide(evidence, declared)
        context = f"{[e.detail for e in evidence]} declared={declared}"
        assert decision.verdict is expected, context
        assert decision.notice == NOTICES.get(expected), context
        # What a platform would write (rules §E.3, §E.6).
        upstream = options[0] is not None and options[0] is not UNUSABLE
        assert decision.keep_upstream is upstream, context
        if upstream or expected is N:
            assert decision.label_to_write is None, context
        else:
            assert decision.label_to_write == ("2" if declared else "3"), context
        # A declaration given as evidence means the same as the flag.
        if declared:
            assert decide([*evidence, DECLARATION]).verdict is expected, context


def test_platform_never_creates_label_1() -> None:
    decision = decide([c2pa(Integrity.TRUSTED)])
    assert decision.verdict is C
    assert decision.label_to_write == "3"
    assert "non-GB carrier" in " ".join(decision.warnings)
    assert decide([c2pa(Integrity.TRUSTED)], declared=True).label_to_write == "2"


def test_nothing_gives_none_and_no_label() -> None:
    decision = decide([])
    assert (decision.verdict, decision.label_to_write, decision.notice) == (N, None, None)


def test_warnings_name_the_deliberate_rules() -> None:
    assert "not intact" in decide([label("1", integrity=Integrity.INVALID)]).warnings[0]
    assert "unusable AIGC label" in decide([UNUSABLE]).warnings[0]
    assert 'Label "2"' in decide([label("2")]).warnings[0]
    assert "conformance" in decide([label("1", conforms=False)]).warnings[0]
    assert "tampering" in decide([c2pa(Integrity.INVALID)]).warnings[0]


def test_contradictions_are_reported() -> None:
    capture = hint(EvidenceKind.TRACE, Claim.NOT_AI)
    decision = decide([label("1"), capture])
    assert decision.verdict is C
    assert len(decision.contradictions) == 1
    assert "non-AI origin" in decision.contradictions[0]

    two = decide([label("1"), label("1", producer=OTHER)])
    assert any("different producers" in c for c in two.contradictions)
    assert two.verdict is C

    mixed = decide([label("1"), label("3", producer=OTHER)])
    assert any("disagree on Label" in c for c in mixed.contradictions)

    weak = decide([label("2"), c2pa(Integrity.TRUSTED)])
    assert weak.verdict is C
    assert any("stronger signal" in c for c in weak.contradictions)

    # A capture claim with nothing claiming AI is not a contradiction; neither is a declaration.
    assert decide([capture]).contradictions == ()
    assert decide([capture], declared=True).contradictions == ()


def test_decide_is_pure() -> None:
    evidence = [label("2"), hint(EvidenceKind.TRACE)]
    assert decide(evidence, True) == decide(list(evidence), True)
