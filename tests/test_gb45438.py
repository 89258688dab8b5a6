from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiglabel.errors import InvalidLabelError
from aiglabel.gb45438 import (
    FIELDS,
    AIGCRecord,
    check,
    new_produce_id,
    parse_label,
    to_json,
    validate,
)

PRODUCER = "001191110102MACQD9K64010000"
# Annex E j) charset: printable ASCII without space and backslash (quotes allowed, as \").
charset_text = st.text(
    alphabet=st.sampled_from([chr(c) for c in range(0x21, 0x7F) if c != 0x5C]), max_size=40
)


def codes(record: AIGCRecord) -> set[str]:
    return {f.code for f in check(record)}


def test_serialization_is_annex_e_b_exactly() -> None:
    record = AIGCRecord.for_producer(PRODUCER, "2f1c7e0a-5b3d-4c8e-9a61-0d4f3b2e7c95")
    assert to_json(record) == (
        '{"Label":"1","ContentProducer":"001191110102MACQD9K64010000",'
        '"ProduceID":"2f1c7e0a-5b3d-4c8e-9a61-0d4f3b2e7c95","ReservedCode1":"",'
        '"ContentPropagator":"001191110102MACQD9K64010000",'
        '"PropagateID":"2f1c7e0a-5b3d-4c8e-9a61-0d4f3b2e7c95","ReservedCode2":""}'
    )
    assert list(json.loads(to_json(record))) == list(FIELDS)


def test_first_write_rule_and_separate_propagator() -> None:
    record = AIGCRecord.for_producer(PRODUCER, "id-1")
    assert record.content_propagator == PRODUCER
    assert record.propagate_id == "id-1"
    other = AIGCRecord.for_producer(PRODUCER, "id-1", propagator="001191110102MACQD9K64028705")
    assert other.content_propagator.endswith("28705")
    assert other.propagate_id == "id-1"


@given(
    label=st.sampled_from(["1", "2", "3"]),
    producer=charset_text.filter(bool),
    produce_id=charset_text.filter(bool),
    rc1=charset_text,
    propagator=charset_text.filter(bool),
    propagate_id=charset_text.filter(bool),
    rc2=charset_text,
)
def test_round_trip_bare_and_wrapped(
    label: str, producer: str, produce_id: str, rc1: str, propagator: str, propagate_id: str,
    rc2: str,
) -> None:
    record = AIGCRecord(label, producer, produce_id, rc1, propagator, propagate_id, rc2)
    text = to_json(record)
    assert " " not in text
    # Only \" may appear as an escape (rules §B.6).
    assert re.sub(r'\\"', "", text).count("\\") == 0
    bare = parse_label(text)
    assert bare.record == record
    assert bare.form == "bare"
    wrapped = parse_label('{"AIGC":' + text + "}")
    assert wrapped.record == record
    assert wrapped.form == "wrapped"
    escaped = parse_label(text.replace("&", "&amp;").replace('"', "&quot;"))
    assert escaped.record == record


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("label", "4", "Label"),
        ("label", "", "Label"),
        ("produce_id", "has space", "ProduceID: character ' '"),
        ("content_producer", "北京某公司", "ContentProducer: character"),
        ("reserved_code1", "a\\b", "ReservedCode1: character '\\\\'"),
        ("produce_id", "", "ProduceID: mandatory element is empty"),
        ("content_producer", "001191110102MACQD9K64110000", "USCC check character"),
    ],
)
def test_validation_names_field_and_rule(field: str, value: str, rule: str) -> None:
    base = AIGCRecord.for_producer(PRODUCER, "id-1").to_dict()
    key = FIELDS[list(AIGCRecord.__dataclass_fields__).index(field)]
    base[key] = value
    record = AIGCRecord.from_dict(base)
    with pytest.raises(InvalidLabelError, match=re.escape(rule)):
        validate(record)
    with pytest.raises(InvalidLabelError):
        to_json(record)
    assert to_json(record, allow_nonconforming=True)


def test_from_dict_rejects_non_strings() -> None:
    with pytest.raises(InvalidLabelError, match="Label: Annex E values are strings"):
        AIGCRecord.from_dict({"Label": 1})


def test_produce_ids_unique_and_in_charset() -> None:
    ids = {new_produce_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[\x21-\x5B\x5D-\x7E]+", i) for i in ids)


def test_tolerant_reader_reports_deviations() -> None:
    text = '{"Label":1,"ContentProducer":"doubao","ProduceID":"0000","Label":"1"}'
    parsed = parse_label(text)
    found = {f.code for f in parsed.findings}
    assert {"G9.duplicate-key", "G10.missing-key", "G20.not-a-code", "G24.id"} <= found
    assert parsed.record is not None
    assert parsed.record.label == "1"


def test_number_label_is_coerced_with_an_error() -> None:
    parsed = parse_label(f'{{"Label":1,"ContentProducer":"{PRODUCER}","ProduceID":"a"}}')
    assert parsed.record is not None
    assert parsed.record.label == "1"
    assert "G13.not-string" in {f.code for f in parsed.findings}


def test_pretty_printed_json_is_info() -> None:
    record = AIGCRecord.for_producer(PRODUCER, "id-1")
    parsed = parse_label(json.dumps(record.to_dict(), indent=2))
    assert parsed.record == record
    assert "G16.not-compact" in {f.code for f in parsed.findings}


def test_key_order_warning() -> None:
    record = AIGCRecord.for_producer(PRODUCER, "id-1")
    reordered = dict(reversed(list(record.to_dict().items())))
    parsed = parse_label(json.dumps(reordered, separators=(",", ":")))
    assert parsed.record == record
    assert "G12.key-order" in {f.code for f in parsed.findings}


def test_base64_whole_value_is_decoded_with_warning() -> None:
    record = AIGCRecord.for_producer(PRODUCER, "id-1")
    parsed = parse_label(base64.b64encode(to_json(record).encode()).decode())
    assert parsed.record == record
    assert "G17.base64" in {f.code for f in parsed.findings}


@pytest.mark.parametrize("text", ["", "not json", "[1,2]", '"str"', "{", '{"a":1}', "\x00" * 5])
def test_garbage_never_raises(text: str) -> None:
    parsed = parse_label(text)
    assert parsed.record is None
    assert parsed.findings


def test_oversized_label_is_rejected() -> None:
    parsed = parse_label('{"Label":"' + "a" * 70000 + '"}')
    assert parsed.record is None
    assert "G7.limit" in {f.code for f in parsed.findings}


def test_platform_created_label_relaxes_producer_fields() -> None:
    record = AIGCRecord("3", "", "", "", PRODUCER.replace("10000", "20000"), "p-1", "")
    assert "G18.empty" in codes(record)
    validate(record)  # warnings only


def test_relation_findings() -> None:
    same_entity = AIGCRecord.for_producer(PRODUCER, "a", propagator="001191110102MACQD9K64028705")
    assert "G19.same-entity" in codes(same_entity)
    other = AIGCRecord.for_producer(PRODUCER, "a", propagator="001191440300MA5G49LC9K1YO01",
                                    propagate_id="b")
    assert {"G19.redistributed", "G23.service-digit"} <= codes(other)


@given(st.text(max_size=200))
def test_parse_label_never_raises(text: str) -> None:
    parse_label(text)
