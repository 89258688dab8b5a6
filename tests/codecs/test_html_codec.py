"""HTML codec: ``<meta name="AIGC">`` in the head (rules §C.5), checked with the standard
library's ``html.parser`` and ``xml.etree`` as independent readers and with byte diffs."""

from __future__ import annotations

import codecs
import html
import json
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, CodecHarness, fuzz_codec, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs.base import Confidence
from aiglabel.codecs.html import HtmlCodec, meta_element, scan
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
    UnsupportedFormatError,
)
from aiglabel.verify import Verdict, verify

if TYPE_CHECKING:
    from pathlib import Path

    from aiglabel.codecs.base import FoundLabel
    from aiglabel.gb45438 import AIGCRecord

HT = CodecHarness("html")
FIXTURES = sorted(p for p in (MEDIA / "html").iterdir() if p.suffix in (".html", ".xhtml"))
CARRIER = "html:meta:AIGC"


def fixture(name: str) -> bytes:
    return (MEDIA / "html" / name).read_bytes()


def element(rec: AIGCRecord, close: str = ">") -> bytes:
    """The element rules §C.5 gives, built here: quotes (and &, <, >) as entities."""
    content = html.escape(rec.to_json(), quote=True).replace("&#x27;", "'")
    return f'<meta name="AIGC" content="{content}"{close}'.encode()


class Metas(HTMLParser):
    """Every ``<meta name=AIGC>`` (any case) an ordinary HTML parser sees, with its content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.contents: list[str | None] = []
        self.in_head = False
        self.head_metas = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "head":
            self.in_head = True
        if tag == "meta" and (values.get("name") or "").lower() == "aigc":
            self.contents.append(values.get("content"))
            self.head_metas += self.in_head

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


def parsed(data: bytes, encoding: str = "utf-8") -> Metas:
    parser = Metas()
    parser.feed(data.decode(encoding))
    parser.close()
    return parser


def labels(data: bytes) -> list[FoundLabel]:
    return HT.labels(data)


# --- every fixture ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_html_parser_sees_one_label_in_the_head(path: Path) -> None:
    rec = record("parser")
    out = HT.write(path.read_bytes(), rec)
    metas = parsed(out)
    assert len(metas.contents) == 1
    assert metas.head_metas == 1
    assert json.loads(metas.contents[0] or "") == rec.to_dict()
    (found,) = labels(out)
    assert (found.carrier, found.form, found.record) == (CARRIER, "bare", rec)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_two_writes_leave_one_label_and_identical_bytes(path: Path) -> None:
    once = HT.write(path.read_bytes(), record("twice"))
    assert HT.write(once, record("twice")) == once
    other = HT.write(once, record("other"))
    assert [lb.record for lb in labels(other)] == [record("other")]
    assert HT.essence(other) == HT.essence(path.read_bytes())
    # A replacement changes only the element's bytes.
    assert other == once.replace(element(record("twice"), b" />" in once and " />" or ">"),
                                 element(record("other"), b" />" in once and " />" or ">"))


# --- exact bytes -----------------------------------------------------------------------------


def test_a_new_line_goes_after_the_charset_declaration() -> None:
    data = fixture("plain.html")
    rec = record("insert")
    anchor = b'  <meta charset="utf-8">\n'
    assert HT.write(data, rec) == data.replace(anchor, anchor + b"  " + element(rec) + b"\n")


def test_without_charset_the_line_goes_after_the_head_tag() -> None:
    data = b"<!DOCTYPE html>\n<html>\n    <head>\n        <title>t</title>\n    </head>\n</html>\n"
    rec = record("head")
    out = HT.write(data, rec)
    assert out == data.replace(b"<head>\n", b"<head>\n        " + element(rec) + b"\n")


def test_crlf_and_tabs_are_kept() -> None:
    data = b"<html>\r\n<head>\r\n\t<title>t</title>\r\n</head>\r\n<body></body>\r\n</html>\r\n"
    rec = record("crlf")
    out = HT.write(data, rec)
    assert out == data.replace(b"<head>\r\n", b"<head>\r\n\t" + element(rec) + b"\r\n")


def test_an_inline_head_stays_inline() -> None:
    data = b"<!doctype html><html><head><title>t</title></head><body>x</body></html>"
    rec = record("inline")
    assert HT.write(data, rec) == data.replace(b"<head>", b"<head>" + element(rec))


def test_the_old_label_is_replaced_in_place() -> None:
    data = fixture("old-label.html")
    start = data.index(b'<meta name="AIGC"')
    end = data.index(b">", start) + 1
    rec = record("replace")
    assert HT.write(data, rec) == data[:start] + element(rec) + data[end:]


def test_upper_case_name_and_single_quotes_are_read_and_replaced() -> None:
    data = fixture("uppercase.html")
    (found,) = labels(data)
    assert found.record is not None
    assert found.record.produce_id == "old-0001"
    assert "G6.field-case" in {f.code for f in found.findings}
    start = data.index(b"<META NAME")
    end = data.index(b">", start) + 1
    rec = record("upper")
    assert HT.write(data, rec) == data[:start] + element(rec) + data[end:]


def test_a_document_without_head_gets_one_after_the_html_tag() -> None:
    data = fixture("no-head.html")
    rec = record("nohead")
    out = HT.write(data, rec)
    new = b"<head>\n  " + element(rec) + b"\n</head>\n"
    assert out == data.replace(b'<html lang="en">\n', b'<html lang="en">\n' + new)
    assert HT.essence(out) == HT.essence(data)
    inline = b"<html><body>x</body></html>"
    assert HT.write(inline, rec) == inline.replace(b"<html>",
                                                   b"<html><head>" + element(rec) + b"</head>")


def test_xhtml_stays_well_formed_xml() -> None:
    data = fixture("xhtml.xhtml")
    rec = record("xhtml")
    out = HT.write(data, rec)
    assert element(rec, " />") in out
    root = ET.fromstring(out)
    metas = root.findall(".//{http://www.w3.org/1999/xhtml}meta")
    assert [json.loads(m.get("content") or "") for m in metas] == [rec.to_dict()]


def test_fragments_have_no_place_for_metadata() -> None:
    body_only = b"<body>\n<p>fragment</p>\n</body>\n"
    assert HtmlCodec.sniff(body_only) is Confidence.WEAK
    with pytest.raises(CarrierUnsupportedError, match="fragment"):
        HT.write(body_only, record("x"))
    with pytest.raises(UnsupportedFormatError):
        aiglabel.label_bytes(b"<p>just a paragraph</p>\n", record("x"), name="frag.html")


def test_decoys_in_comments_scripts_and_titles_are_not_labels() -> None:
    data = fixture("decoy.html")
    assert labels(data) == []
    out = HT.write(data, record("decoy"))
    assert len(parsed(out).contents) == 1
    assert out.count(b'<meta name="AIGC"') == 3  # two decoys kept as they were


def test_duplicates_are_all_reported_and_the_write_leaves_one() -> None:
    data = (b"<html>\n<head>\n  <meta property='TC260:AIGC' content='{\"Label\":\"2\"}'>\n"
            b"  <title>t</title>\n  <meta name=aigc content=\"{&#34;Label&#34;:&#34;1&#34;}\">"
            b"\n  <META Name='AIGC'>\n</head>\n<body></body>\n</html>\n")
    found = labels(data)
    assert [lb.carrier for lb in found] == ["html:meta-property:AIGC", CARRIER, CARRIER]
    assert found[1].record is not None
    assert found[1].record.label == "1"  # numeric character references decoded
    assert found[2].record is None  # no content attribute
    rec = record("dup")
    plan = HtmlCodec().plan_write(Source.from_bytes(data), rec)
    assert sorted(plan.removed) == sorted([CARRIER, "html:meta-property:AIGC"])
    out = HT.write(data, rec)
    assert out == (b"<html>\n<head>\n  <title>t</title>\n  " + element(rec)
                   + b"\n</head>\n<body></body>\n</html>\n")
    assert HT.essence(out) == HT.essence(data)


# --- encodings -------------------------------------------------------------------------------


def test_a_declared_gbk_document_is_labelled_in_ascii() -> None:
    text = ('<html><head><meta charset="gbk"><title>中文标题</title></head>'
            "<body>正文</body></html>")
    data = text.encode("gbk")
    rec = record("gbk")
    out = HT.write(data, rec)
    assert out == data.replace(b'<meta charset="gbk">', b'<meta charset="gbk">' + element(rec))
    assert "中文标题" in out.decode("gbk")
    assert [lb.record for lb in labels(out)] == [rec]
    doc = scan(Source.from_bytes(out))
    assert doc.charset == "gbk"
    assert "&#x6807;" in meta_element('{"a":"标"}', doc)  # non-ASCII as a reference


def test_utf16_with_bom_is_read_and_written() -> None:
    text = ("<!DOCTYPE html>\r\n<html>\r\n<head>\r\n  <title>标题😀</title>\r\n</head>\r\n"
            "</html>\r\n")
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    rec = record("utf16")
    out = HT.write(data, rec)
    expected = text.replace("<head>\r\n", "<head>\r\n  " + element(rec).decode() + "\r\n")
    assert out == codecs.BOM_UTF16_LE + expected.encode("utf-16-le")
    assert [lb.record for lb in labels(out)] == [rec]
    assert HT.write(out, rec) == out
    assert HT.essence(out) == HT.essence(data)
    assert len(parsed(out, "utf-16").contents) == 1


@pytest.mark.parametrize("charset", ["x-no-such-charset", "iso-2022-jp", "utf-7"])
def test_unknown_or_stateful_charsets_are_read_but_not_written(charset: str) -> None:
    data = (f'<html><head><meta charset="{charset}"><meta name="AIGC" content="'
            + html.escape(record("cs").to_json()) + '"></head></html>').encode()
    assert [lb.record for lb in labels(data)] == [record("cs")]
    with pytest.raises(CarrierUnsupportedError, match="charset"):
        HT.write(data, record("x"))
    findings = HtmlCodec().container_findings(Source.from_bytes(data))
    assert [f.code for f in findings] == ["G5.carrier"]


def test_a_utf16_declaration_without_bom_means_utf8() -> None:
    data = b'<html><head><meta charset="utf-16"><title>t</title></head></html>'
    out = HT.write(data, record("u"))
    assert [lb.record for lb in labels(out)] == [record("u")]


@pytest.mark.parametrize(
    "data",
    [b"<html><head><title>\xff\xfe</title></head></html>",
     '<html><head><title>中文</title></head></html>'.encode("gbk"),
     b'<html><head><meta charset="utf-8"><title>\xc3\x28</title></head></html>'],
    ids=["bad-bytes", "undeclared-gbk", "declared-utf8"],
)
def test_not_utf8_without_a_declared_charset_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(CorruptFileError, match="not UTF-8"):
        HT.write(data, record("x"))
    # Reading goes on (an AIGC label is ASCII) and says why the file cannot be written.
    assert labels(data) == []
    (finding,) = HtmlCodec().container_findings(Source.from_bytes(data))
    assert "not UTF-8" in finding.message
    assert verify(data, name="x.html").errors == []


def test_bytes_after_the_head_are_not_judged() -> None:
    data = b"<html><head><title>t</title></head><body>\xff\xfe</body></html>"
    assert [lb.record for lb in labels(HT.write(data, record("b")))] == [record("b")]


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"<!DOCTYPE html><html><head><!--" + b"x" * 3_000_000,
     b"<!DOCTYPE html><html><head><meta name='AIGC' content='" + b"x" * 3_000_000,
     b"<!DOCTYPE html><html><head>" + b"<" * 3_000_000,
     b"<!DOCTYPE html><html><head>" + b"<meta a=b " * 300_000,
     b"<!DOCTYPE html><html><head><script>" + b"</scrip" * 400_000,
     b"<!DOCTYPE html><html><head>" + b"<link x='>'>" * 200_000 + b"</head>"],
    ids=["open-comment", "open-quote", "angles", "open-tags", "script", "many-tags"],
)
def test_odd_html_gives_clean_results_quickly(data: bytes) -> None:
    started = time.monotonic()
    try:
        labels(data)
        HT.write(data, record("x"))
        HT.essence(data)
    except AiglabelError:
        pass
    assert time.monotonic() - started < 10


def test_limits_are_enforced() -> None:
    data = b"<!DOCTYPE html><html><head>" + b"<link rel=x>" * 1000 + b"</head><body></body>"
    src = Source.from_bytes(data, "x.html")
    src.limits = Limits(max_items=100)
    with pytest.raises(LimitExceededError, match="max_items"):
        HtmlCodec().read_labels(src)
    big = (b"<!DOCTYPE html><html><head><style>" + b"x" * 200_000 + b"</style></head>"
           b"<body></body></html>")
    src = Source.from_bytes(big, "x.html")
    src.limits = Limits(max_metadata=50_000)
    assert HtmlCodec().read_labels(src) == []
    assert [f.code for f in HtmlCodec().container_findings(src)] == ["G2.read-limit"]
    with pytest.raises(LimitExceededError, match="head does not end"):
        HtmlCodec().plan_write(src, record("x"))


def test_reads_stop_at_the_end_of_the_head() -> None:
    data = b"<!DOCTYPE html><html><head><title>t</title></head><body>" + b"x" * 5_000_000
    src = Source.from_bytes(data, "x.html")
    HtmlCodec().read_labels(src)
    assert src.bytes_read <= 70_000


def test_damaged_copies_raise_only_aiglabel_errors() -> None:
    fuzz_codec(HtmlCodec(), FIXTURES, b"<>/!-='\"\n \xff\x00a", "x.html", seed=45438)


# --- identification, metadata, the verifier --------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [(b"<!DOCTYPE html>", Confidence.STRONG),
     (codecs.BOM_UTF8 + b" \n<!-- c -->\n<html lang=zh>", Confidence.STRONG),
     (b'<?xml version="1.0"?>\n<html xmlns="x">', Confidence.STRONG),
     (codecs.BOM_UTF16_BE + "<html>".encode("utf-16-be"), Confidence.STRONG),
     (b"<head><title>", Confidence.WEAK), (b"<BODY>", Confidence.WEAK),
     (b"<htmlx>", Confidence.NO), (b"<p>fragment</p>", Confidence.NO),
     (b"\xa0<html>", Confidence.NO), (b"<html>\x00\x00", Confidence.NO),
     (codecs.BOM_UTF32_LE + "<html>".encode("utf-32-le"), Confidence.NO), (b"", Confidence.NO)],
)
def test_sniff(head: bytes, expected: Confidence) -> None:
    assert HtmlCodec.sniff(head) is expected


def test_metadata_lists_the_title_and_named_metas() -> None:
    items = HT.codec().metadata(Source.from_bytes(fixture("plain.html")))
    assert [(i.carrier, i.key, i.value) for i in items] == [
        ("html:title", "title", "aiglabel fixture 测试"),
        ("html:meta", "viewport", "width=device-width, initial-scale=1"),
        ("html:meta", "description", "aiglabel fixture 测试页")]


def test_verify_a_labelled_file_is_confirmed(tmp_path: Path) -> None:
    path = tmp_path / "a.html"
    path.write_bytes(HT.write(fixture("plain.html"), record("verify")))
    report = verify(path)
    assert (report.format, report.verdict) == ("html", Verdict.CONFIRMED)


def test_verify_a_notice_without_a_label_is_suspected() -> None:
    report = verify(MEDIA / "html" / "notice.html")
    assert (report.format, report.verdict) == ("html", Verdict.SUSPECTED)
    assert [e.kind.value for e in report.evidence] == ["explicit-mark"]
