"""Markdown codec: the AIGC block in YAML front matter (rules §C.4, §H 14), checked against
PyYAML as an independent reader and against byte-level expectations built here."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
import yaml
from tests.conftest import MEDIA, PRODUCER, CodecHarness, fuzz_codec, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs.base import Confidence
from aiglabel.codecs.markdown import MarkdownCodec, parse_value, to_json_text
from aiglabel.errors import (
    AiglabelError,
    CorruptFileError,
    LimitExceededError,
    UnsupportedFormatError,
)
from aiglabel.gb45438 import FIELDS
from aiglabel.verify import Verdict, verify

if TYPE_CHECKING:
    from pathlib import Path

    from aiglabel.codecs.base import FoundLabel
    from aiglabel.gb45438 import AIGCRecord

MD = CodecHarness("markdown")
FIXTURES = sorted((MEDIA / "markdown").glob("*.md"))
CARRIER = "markdown:frontmatter:AIGC"
BOM = b"\xef\xbb\xbf"
SPEC_ID = "7d3c0f5e-2a41-4b8e-9f10-3c6a5b2d9e84"


def fixture(name: str) -> bytes:
    return (MEDIA / "markdown" / name).read_bytes()


def block(rec: AIGCRecord, nl: str = "\n") -> bytes:
    """The block rules §C.4 shows, built here independently of the codec."""
    lines = ["AIGC:"] + [f'  {key}: "{value}"' for key, value in rec.to_dict().items()]
    return "".join(line + nl for line in lines).encode()


def split_front_matter(data: bytes) -> tuple[str, bytes]:
    """(YAML text, body bytes): an independent front matter splitter."""
    text = data.removeprefix(BOM)
    nl = b"\r\n" if text.startswith(b"---\r\n") else b"\n"
    assert text.startswith(b"---" + nl)
    end = text.index(nl + b"---" + nl, 3)
    return text[3 + len(nl) : end].decode(), text[end + len(nl) * 2 + 3 :]


def labels(data: bytes) -> list[FoundLabel]:
    return MD.labels(data)


# --- every fixture ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_pyyaml_reads_the_seven_keys_we_write(path: Path) -> None:
    rec = record("yaml-check")
    out = MD.write(path.read_bytes(), rec)
    yaml_text, _ = split_front_matter(out)
    data = yaml.safe_load(yaml_text)
    assert list(data["AIGC"]) == list(FIELDS)
    assert data["AIGC"] == rec.to_dict()
    assert all(isinstance(v, str) for v in data["AIGC"].values())
    assert "aigc" not in data  # the lower-case variant was replaced, not kept
    (found,) = labels(out)
    assert (found.carrier, found.form, found.record) == (CARRIER, "bare", rec)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_two_writes_leave_one_label_and_identical_bytes(path: Path) -> None:
    once = MD.write(path.read_bytes(), record("twice"))
    assert MD.write(once, record("twice")) == once
    other = MD.write(once, record("other"))
    assert [lb.record for lb in labels(other)] == [record("other")]
    assert MD.essence(other) == MD.essence(path.read_bytes())


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_other_front_matter_keys_and_the_body_are_unchanged(path: Path) -> None:
    data = path.read_bytes()
    out = MD.write(data, record("keys"))
    if not data.removeprefix(BOM).startswith(b"---"):
        return
    before, body_before = split_front_matter(data)
    after, body_after = split_front_matter(out)
    assert body_after == body_before
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    assert {k: v for k, v in old.items() if k.lower() != "aigc"} == {
        k: v for k, v in new.items() if k != "AIGC"}


# --- exact bytes -----------------------------------------------------------------------------


def test_no_front_matter_gets_a_block_at_byte_0() -> None:
    data = fixture("plain.md")
    rec = record("head")
    assert MD.write(data, rec) == b"---\n" + block(rec) + b"---\n" + data


def test_a_bom_stays_first() -> None:
    rec = record("bom")
    assert MD.write(BOM + b"# T\n", rec) == BOM + b"---\n" + block(rec) + b"---\n# T\n"


def test_the_block_is_appended_to_existing_front_matter() -> None:
    data = fixture("frontmatter.md")
    rec = record("append")
    expected = data.replace(b"author: aiglabel\n---\n", b"author: aiglabel\n" + block(rec)
                            + b"---\n", 1)
    assert MD.write(data, rec) == expected


def test_the_old_block_is_replaced_where_it_stood() -> None:
    data = fixture("old-label.md")
    old = [lb.record for lb in labels(data)]
    assert old[0] is not None
    assert old[0].produce_id == SPEC_ID
    rec = record("replaced")
    start = data.index(b"AIGC:\n")
    end = data.index(b"date: 2025")
    assert MD.write(data, rec) == data[:start] + block(rec) + data[end:]


def test_the_flow_form_is_replaced_by_the_block() -> None:
    data = fixture("flow-label.md")
    rec = record("flow")
    start = data.index(b"AIGC: {")
    end = data.index(b"\n", start) + 1
    assert MD.write(data, rec) == data[:start] + block(rec) + data[end:]


def test_crlf_files_stay_crlf() -> None:
    data = fixture("crlf.md")
    rec = record("crlf")
    out = MD.write(data, rec)
    assert out == data.replace(b"lang: zh-CN\r\n---\r\n",
                               b"lang: zh-CN\r\n" + block(rec, "\r\n") + b"---\r\n", 1)
    assert out.count(b"\n") == out.count(b"\r\n")
    plain = MD.write(b"# T\r\n\r\nx\r\n", rec)
    assert plain.count(b"\n") == plain.count(b"\r\n")


def test_lower_case_key_is_replaced_in_place_and_reported() -> None:
    data = fixture("bom-lowercase.md")
    (found,) = labels(data)
    assert found.carrier == "markdown:frontmatter:aigc"
    assert found.record is not None
    assert found.record.produce_id == "old-0001"
    assert {f.code for f in found.findings} >= {"G6.field-case", "G8.yaml-style"}
    src = Source.from_bytes(data, "x.md")
    plan = MarkdownCodec().plan_write(src, record("case"))
    assert plan.removed == ["markdown:frontmatter:aigc"]
    out = MD.write(data, record("case"))
    start = data.index(b"aigc:")
    assert out == data[:start] + block(record("case")) + data[data.index(b"title: BOM"):]


def test_duplicates_are_all_reported_and_the_write_leaves_one() -> None:
    rec = record("dup")
    other = block(record("other"))
    data = (b"---\nAIGC: '{\"Label\":\"1\"}'\nkeep: 1\n" + other.replace(b"AIGC", b"Aigc")
            + other + b"last: 2\n---\nbody\n")
    assert len(labels(data)) == 3
    report = aiglabel.inspect(data, name="x.md")
    assert "G4.multiple-labels" in {f.code for f in report.findings}
    src = Source.from_bytes(data, "x.md")
    plan = MarkdownCodec().plan_write(src, rec)
    assert sorted(plan.removed) == [CARRIER, "markdown:frontmatter:aigc"]
    out = MD.write(data, rec)
    assert [lb.record for lb in labels(out)] == [rec]
    # The first exact AIGC entry is rewritten where it was; the others are gone.
    assert out == b"---\n" + block(rec) + b"keep: 1\nlast: 2\n---\nbody\n"


# --- reading variants, compared with PyYAML --------------------------------------------------

FULL = {k: f"v-{i}" for i, k in enumerate(FIELDS)}
VARIANTS = {
    "block-4-spaces": "AIGC:\n" + "".join(f"    {k}: '{v}'\n" for k, v in FULL.items()),
    "plain-values": "AIGC:\n" + "".join(f"  {k}: {v}  # note\n" for k, v in FULL.items()),
    "comments-blank-lines": "AIGC:  # label\n\n" + "".join(
        f"  # {k}\n  {k}: \"{v}\"\n\n" for k, v in FULL.items()),
    "yaml-flow": "AIGC: {" + ", ".join(f"{k}: {v}" for k, v in FULL.items()) + "}\n",
    "multi-line-flow": "AIGC: {\n" + ",\n".join(f'  "{k}": "{v}"' for k, v in FULL.items())
                       + "\n  }\n",
    "escapes": 'AIGC:\n  Label: "\\x31"\n  ContentProducer: "a\\"b"\n  ProduceID: "\\u0041\\t"\n',
    "folded-quoted": ('AIGC:\n  Label: "1"\n  ProduceID: "abc\n    def"\n'
                      "  ReservedCode1: 'x''y'\n"),
    "block-scalar": "AIGC:\n  Label: |-\n    1\n  ProduceID: >\n    a\n    b\n",
    "quoted-keys": 'AIGC:\n  "Label": "1"\n  \'ProduceID\': x\n',
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_reader_agrees_with_pyyaml(name: str) -> None:
    text = "title: t\n" + VARIANTS[name] + "other: o\n"
    reference = yaml.safe_load(text)["AIGC"]
    (found,) = labels(f"---\n{text}---\nbody\n".encode())
    assert found.record is not None
    got = found.record.to_dict()
    for key, value in reference.items():
        assert got[key] == value, key
    assert "G13.not-string" not in {f.code for f in found.findings}


@pytest.mark.parametrize(
    ("snippet", "typed"),
    [("1", "int"), ("007", "int"), ("1.5", "float"), ("1.0e+3", "float"), ("yes", "bool"),
     ("Off", "bool"), ("~", "null"), ("null", "null"), ("2025-09-01", "timestamp"),
     ("0x1F", "int"), ("001191110102MAD55U9H0F10002", None), ("v1.0", None),
     ("a b c", None), ("2f1c7e0a-5b3d-4c8e-9a61-0d4f3b2e7c95", None)],
)
def test_plain_scalar_types_match_pyyaml(snippet: str, typed: str | None) -> None:
    node = parse_value(snippet, [])
    assert to_json_text(node) == f'"{snippet}"'  # kept as written
    value = yaml.safe_load(f"k: {snippet}\n")["k"]
    assert (typed is None) == isinstance(value, str)
    assert getattr(node, "typed", None) == typed


def test_yaml_12_numbers_are_reported_too() -> None:
    # PyYAML (YAML 1.1) reads 1e3 as a string, a YAML 1.2 reader as a number: quote it.
    assert getattr(parse_value("1e3", []), "typed", None) == "float"


def test_unquoted_number_is_kept_as_written_and_reported() -> None:
    data = b"---\nAIGC:\n  Label: 1\n  ContentProducer: x\n  ProduceID: 000123\n---\n"
    (found,) = labels(data)
    assert found.record is not None
    assert (found.record.label, found.record.produce_id) == ("1", "000123")
    errors = [f for f in found.findings if f.code == "G13.not-string"]
    assert [f.message.split(":")[0] for f in errors] == ["Label", "ProduceID"]
    assert aiglabel.inspect(data, name="x.md").status == "noncompliant"


def test_json_string_value_is_read_wrapped_or_bare() -> None:
    wrapped = '{"AIGC":' + record("w").to_json() + "}"
    (found,) = labels(f"---\nAIGC: '{wrapped}'\n---\n".encode())
    assert (found.form, found.record) == ("wrapped", record("w"))


@pytest.mark.parametrize(
    "value",
    ["yes", "[1, 2]", '"{broken"', "", "{unclosed: 1", "'unclosed",
     "{" * 200 + "}" * 200, "\n  - a\n  - b", "\n  just text\n  more"],
    ids=["scalar", "sequence", "broken-json", "empty", "unclosed-flow", "unclosed-quote",
         "deep", "block-sequence", "block-text"],
)
def test_an_aigc_value_that_is_not_a_mapping_is_an_unusable_label(value: str) -> None:
    data = f"---\ntitle: t\nAIGC: {value}\n---\nbody\n".encode()
    (found,) = labels(data)
    assert found.record is None
    assert any(f.severity.value == "error" for f in found.findings)
    out = MD.write(data, record("fixed"))
    assert [lb.record for lb in labels(out)] == [record("fixed")]
    assert out.startswith(b"---\ntitle: t\nAIGC:\n")


# --- hostile input ---------------------------------------------------------------------------


def test_unterminated_front_matter_is_a_damaged_label_and_refused_for_writing() -> None:
    data = b"---\ntitle: t\nAIGC:\n  Label: \"1\"\n# no closing line\nbody\n"
    (found,) = labels(data)
    assert found.record is None
    assert "G5.carrier" in {f.code for f in found.findings}
    with pytest.raises(CorruptFileError, match="not closed"):
        MD.write(data, record("x"))
    assert labels(b"---\ntitle: t\nbody\n") == []
    findings = MarkdownCodec().container_findings(Source.from_bytes(b"---\nx: 1\n"))
    assert [f.code for f in findings] == ["G5.carrier"]
    assert verify(data, name="x.md").errors == []


def test_front_matter_larger_than_the_limit_is_refused_quickly() -> None:
    data = b"---\n" + b"k: " + b"x" * 200_000 + b"\n---\nbody\n"
    src = Source.from_bytes(data, "x.md")
    src.limits = Limits(max_metadata=100_000)
    started = time.monotonic()
    with pytest.raises(LimitExceededError, match="not closed within"):
        MarkdownCodec().read_labels(src)
    with pytest.raises(LimitExceededError):
        MarkdownCodec().plan_write(src, record("x"))
    assert time.monotonic() - started < 1


def test_a_big_front_matter_within_the_limit_is_read_in_linear_time() -> None:
    keys = b"".join(b"key%d: value %d\n" % (i, i) for i in range(100_000))  # ~2 MiB
    data = b"---\n" + keys + block(record("big")) + b"---\nbody\n"
    started = time.monotonic()
    assert [lb.record for lb in labels(data)] == [record("big")]
    out = MD.write(data, record("big2"))
    assert [lb.record for lb in labels(out)] == [record("big2")]
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "line",
    [b"k" * 500_000 + b": v", b" " * 500_000 + b"x", b": " * 250_000, b"a:" * 250_000,
     b"'" + b"''" * 200_000, b"AIGC: {" + b"a: [" * 50_000],
    ids=["long-key", "spaces", "colons", "colons-no-space", "quotes", "brackets"],
)
def test_pathological_lines_are_fast(line: bytes) -> None:
    data = b"---\n" + line + b"\n---\nbody\n"
    started = time.monotonic()
    try:
        labels(data)
        MD.write(data, record("x"))
    except AiglabelError:
        pass
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "data",
    [b"---\ntitle: \xff\xfe\n---\nbody\n", "---\ntitle: 中文\n---\n".encode("gb18030")],
    ids=["front-matter", "gb18030"],
)
def test_not_utf8_is_a_clear_corrupt_file_error(data: bytes) -> None:
    with pytest.raises(CorruptFileError, match="not UTF-8"):
        labels(data)
    with pytest.raises(CorruptFileError, match="not UTF-8"):
        MD.write(data, record("x"))


def test_a_file_without_front_matter_must_be_utf8_to_get_one() -> None:
    data = b"# T\n\xc3\x28 broken\n"
    assert labels(data) == []  # nothing to read: the verifier still gets a report
    with pytest.raises(CorruptFileError, match="not UTF-8"):
        MD.write(data, record("x"))


def test_damaged_copies_raise_only_aiglabel_errors() -> None:
    fuzz_codec(MarkdownCodec(), FIXTURES, b"-:\n\r'\"{}[]#|> \xff\x00a", "x.md", seed=4543)


# --- identification, metadata, the verifier --------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [(b"---\ntitle: t\n---\n", Confidence.STRONG),
     (BOM + b"---\r\nx: 1\r\n...\r\n", Confidence.STRONG),
     (b"---\ntitle: t\n", Confidence.WEAK), (b"# Title\n\ntext", Confidence.WEAK),
     (b"Text with a [link](x).", Confidence.WEAK), (b"plain words only", Confidence.NO),
     (b"%PDF-1.7\n", Confidence.NO), (b"# T\x00\x01", Confidence.NO),
     (b"# T\n\xff\xfe\xfd", Confidence.NO), (b"", Confidence.NO)],
)
def test_sniff(head: bytes, expected: Confidence) -> None:
    assert MarkdownCodec.sniff(head) is expected


def test_markdown_looking_text_named_as_another_format_is_not_claimed() -> None:
    data = b"# comment\n\nprint('x')\n"
    assert aiglabel.detect_format(data, name="notes.md") == "markdown"
    assert aiglabel.detect_format(data, name="noext") == "markdown"
    with pytest.raises(UnsupportedFormatError):
        aiglabel.detect_format(data, name="script.py")
    assert aiglabel.detect_format(data, name="notes.txt") == "text"  # plain text, rules §C.5
    # Front matter decides by itself.
    assert aiglabel.detect_format(b"---\nx: 1\n---\n", name="notes.txt") == "markdown"


def test_metadata_lists_the_other_top_level_keys() -> None:
    items = MD.codec().metadata(Source.from_bytes(fixture("frontmatter.md")))
    assert [(i.key, i.value) for i in items] == [
        ("title", "Front matter 前置元数据"), ("tags", "- aigc\n- markdown"),
        ("date", "2025-09-01"), ("author", "aiglabel")]
    assert all(i.carrier == "markdown:frontmatter" for i in items)
    assert MD.codec().metadata(Source.from_bytes(fixture("old-label.md")))[0].key == "title"


def test_verify_a_labelled_file_is_confirmed(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(MD.write(fixture("frontmatter.md"), record("verify")))
    report = verify(path)
    assert (report.format, report.verdict) == ("markdown", Verdict.CONFIRMED)


def test_verify_a_notice_without_a_label_is_suspected() -> None:
    report = verify(MEDIA / "markdown" / "notice.md")
    assert (report.format, report.verdict) == ("markdown", Verdict.SUSPECTED)
    assert [e.kind.value for e in report.evidence] == ["explicit-mark"]


def test_the_written_producer_fields_survive_a_platform_update() -> None:
    first = MD.write(fixture("old-label.md"), record("p1"))
    second = record("p1", propagator="001191440300MA5G49LC9K2YO01", propagate_id="plat")
    out = MD.write(first, second)
    (found,) = labels(out)
    assert found.record == second
    assert f'  ContentProducer: "{PRODUCER}"\n'.encode() in out
