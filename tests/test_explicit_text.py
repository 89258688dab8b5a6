"""The explicit text notice (rules §A.0, §A.1): wording rules, placement per kind, streaming,
DOCX bodies, and the verifier finding what the writer put there."""

from __future__ import annotations

import asyncio
import io
import re
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, record

import aiglabel
from aiglabel.errors import CarrierUnsupportedError, InvalidLabelError
from aiglabel.explicit.text import (
    DEFAULT_NOTICE,
    TextNotice,
    add_notice,
    add_notice_to_file,
    anotice_stream,
    check_wording,
    notice_stream,
)
from aiglabel.verify import Verdict, verify
from aiglabel.verify.text import find_notices, visible_text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

BODY = "这是一段由模型写出的文字。" * 12


@pytest.mark.parametrize("wording", ["AI生成", "本内容由AI合成", "人工智能生成合成", "ＡＩ生成",
                                     DEFAULT_NOTICE])
def test_wording_with_both_elements_is_accepted(wording: str) -> None:
    assert check_wording(wording) == wording


@pytest.mark.parametrize(("wording", "missing"), [
    ("MAIN生成", "AI element"), ("ai生成", "AI element"), ("人工智能", "generation element"),
    ("本内容由模型写成", "AI element (人工智能 or AI) and a generation element"),
    ("", "AI element"),
])
def test_wording_without_an_element_is_rejected_by_name(wording: str, missing: str) -> None:
    with pytest.raises(InvalidLabelError, match=re.escape(missing)):
        check_wording(wording)
    with pytest.raises(InvalidLabelError):
        TextNotice(wording)


def test_default_wording_holds_the_issue_elements() -> None:
    assert "人工智能" in DEFAULT_NOTICE
    assert "生成" in DEFAULT_NOTICE


@pytest.mark.parametrize("kind", ["text", "markdown", "html"])
@pytest.mark.parametrize("position", ["start", "end", "both"])
def test_the_checker_finds_the_notice_where_it_was_put(kind: str, position: str) -> None:
    text = {"text": BODY + "\n", "markdown": f"---\ntitle: t\n---\n# T\n\n{BODY}\n",
            "html": f"<!DOCTYPE html>\n<html><head><title>t</title></head>\n<body>\n<p>{BODY}"
                    "</p>\n</body>\n</html>\n"}[kind]
    out = add_notice(text, kind=kind, position=position)
    found = {n.position for n in find_notices(visible_text(out, kind)) if n.counts}
    assert found == ({"start", "end"} if position == "both" else {position})
    assert add_notice(out, kind=kind, position=position) == out  # idempotent
    assert BODY in out


def test_a_start_notice_after_a_long_front_matter_counts() -> None:
    front = "---\ntitle: t\nsummary: " + "x" * 200 + "\n---\n"
    out = add_notice(front + BODY + "\n", kind="markdown", position="start")
    assert out.startswith(front + DEFAULT_NOTICE)
    assert [n.position for n in find_notices(visible_text(out, "markdown"))] == ["start"]


def test_placement_details() -> None:
    assert add_notice("a\r\nb\r\n") == f"a\r\nb\r\n{DEFAULT_NOTICE}\r\n"  # CRLF kept
    assert add_notice("a", position="start") == f"{DEFAULT_NOTICE}\na"
    md = add_notice("---\ntitle: x\n---\nbody\n", kind="markdown", position="start")
    assert md.startswith("---\ntitle: x\n---\n" + DEFAULT_NOTICE + "\n\n")  # front matter first
    assert add_notice("body", kind="markdown").endswith(f"body\n\n{DEFAULT_NOTICE}\n")
    page = add_notice("<html><body><p>x</p></body></html>", kind="html", wording="AI生成 <b>")
    assert '<p class="aigc-notice">AI生成 &lt;b&gt;</p>\n</body>' in page
    fragment = add_notice("<p>x</p>", kind="html", position="start")
    assert fragment.startswith('<p class="aigc-notice">')
    with pytest.raises(InvalidLabelError, match="position"):
        add_notice("x", position="middle")
    with pytest.raises(InvalidLabelError, match="kind"):
        add_notice("x", kind="pdf")


def test_stream_yields_chunks_unbuffered_with_the_notice_around() -> None:
    seen: list[str] = []

    def chunks() -> object:
        for part in ("Hel", "lo", " world"):
            seen.append(part)
            yield part

    stream = notice_stream(chunks(), position="both")  # type: ignore[arg-type]
    assert next(stream) == DEFAULT_NOTICE + "\n\n"
    assert seen == []  # nothing pulled before it is needed
    assert next(stream) == "Hel"
    assert seen == ["Hel"]
    rest = list(stream)
    text = DEFAULT_NOTICE + "\n\n" + "Hel" + "".join(rest)
    assert text.endswith("Hello world\n\n" + DEFAULT_NOTICE + "\n")
    assert {n.position for n in find_notices(text)} == {"start", "end"}
    assert "".join(notice_stream(["done\n"])) == "done\n\n" + DEFAULT_NOTICE + "\n"
    with pytest.raises(InvalidLabelError):
        notice_stream([], wording="hello")


def test_async_stream() -> None:
    async def chunks() -> AsyncIterator[str]:
        for part in ("a", "b"):
            await asyncio.sleep(0)
            yield part

    async def collect() -> str:
        return "".join([c async for c in anotice_stream(chunks(), wording="AI生成")])

    assert asyncio.run(collect()) == "ab\n\nAI生成\n"


def _paragraphs(data: bytes) -> list[str]:
    import docx

    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def test_docx_gets_a_paragraph_of_its_own_and_other_entries_stay() -> None:
    data = (MEDIA / "ooxml" / "plain.docx").read_bytes()
    out = add_notice_to_file(data, name="a.docx", position="both")
    paragraphs = _paragraphs(out)
    assert paragraphs[0] == paragraphs[-1] == DEFAULT_NOTICE
    assert paragraphs[1:-1] == _paragraphs(data)
    assert add_notice_to_file(out, name="a.docx", position="both") == out
    report = verify(out)
    assert (report.format, report.verdict) == ("ooxml", Verdict.SUSPECTED)
    with pytest.raises(CarrierUnsupportedError, match="Word"):
        add_notice_to_file((MEDIA / "ooxml" / "plain.xlsx").read_bytes(), name="a.xlsx")
    with pytest.raises(CarrierUnsupportedError, match="no text"):
        add_notice_to_file((MEDIA / "mkv" / "plain.mkv").read_bytes(), name="a.mkv")


def test_plain_text_keeps_its_encoding() -> None:
    gb = ("模型写的文字\n").encode("gb18030")
    out = add_notice_to_file(gb, name="a.txt")
    assert out.decode("gb18030") == "模型写的文字\n" + DEFAULT_NOTICE + "\n"
    bom = b"\xef\xbb\xbfhello\n"
    assert add_notice_to_file(bom, name="a.txt", position="start").startswith(
        b"\xef\xbb\xbf" + DEFAULT_NOTICE.encode())


def test_label_with_notice_writes_both(tmp_path: Path) -> None:
    src = tmp_path / "report.docx"
    src.write_bytes((MEDIA / "ooxml" / "plain.docx").read_bytes())
    dst = tmp_path / "out.docx"
    result = aiglabel.label(src, dst, record("n-1"), notice=TextNotice(position="start"))
    assert result.notice == DEFAULT_NOTICE
    assert _paragraphs(dst.read_bytes())[0] == DEFAULT_NOTICE
    assert [lb.record for lb in aiglabel.read_labels(dst)] == [record("n-1")]
    report = verify(dst)
    assert report.verdict is Verdict.CONFIRMED
    assert {e.kind.value for e in report.evidence} >= {"explicit-mark"}
    in_place = aiglabel.label(src, None, record("n-2"), in_place=True, notice=TextNotice())
    assert in_place.notice == DEFAULT_NOTICE
    assert _paragraphs(src.read_bytes())[-1] == DEFAULT_NOTICE


def test_cli_explicit_options(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    runner = CliRunner()
    src = MEDIA / "ooxml" / "plain.docx"
    out = tmp_path / "out"
    result = runner.invoke(app, ["label", str(src), str(MEDIA / "pdf" / "plain.pdf"),
                                 str(MEDIA / "mkv" / "plain.mkv"), "-o",
                                 str(out), "--explicit", "--notice", "AI生成",
                                 "--notice-position", "both", "--producer",
                                 "001191110102MACQD9K64010000"])
    assert result.exit_code == 1  # PDF: one error line, the batch goes on
    assert "has no text, picture or sound to add an explicit label to" in result.output
    assert _paragraphs((out / "plain.docx").read_bytes())[0] == "AI生成"
    assert not (out / "plain.pdf").exists()
    assert len(aiglabel.read_labels(out / "plain.mkv")) == 1  # the video label burnt in
    bad = runner.invoke(app, ["label", str(src), "-o", str(tmp_path / "b"), "--explicit",
                              "--notice", "模型写的"])
    assert bad.exit_code == 2
    assert "generation element" in bad.output
    loose = runner.invoke(app, ["label", str(src), "-o", str(tmp_path / "c"),
                                "--notice-position", "end"])
    assert loose.exit_code == 2
    assert "needs --explicit" in loose.output
