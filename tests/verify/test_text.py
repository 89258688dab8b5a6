"""Text content: sniffing plain text / Markdown / HTML and the explicit notice rule (§A.0, §A.1)."""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING

import pytest

from aiglabel.verify import Verdict, verify
from aiglabel.verify.text import decode_text, find_notices, sniff_text, visible_text

if TYPE_CHECKING:
    from pathlib import Path

    from aiglabel._io import EditPlan, Source

FILLER = "这是一段普通的文字，用于测试。" * 20


@pytest.mark.parametrize(
    ("head", "hint", "expected"),
    [
        (b"hello world\n", None, "text"),
        (b"# Title\n\nbody", "notes.md", "markdown"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "page.txt", "html"),
        (b"  <!-- c --><html lang=zh>", None, "html"),
        (b"<p>fragment</p>", "frag.html", "html"),
        ("中文内容".encode("gb18030"), None, "text"),
        (codecs.BOM_UTF16_LE + "文本".encode("utf-16-le"), None, "text"),
        (codecs.BOM_UTF8 + "文本".encode(), None, "text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", None, None),
        (b"abc\x00def", None, None),
        (bytes(range(1, 32)) * 10, None, None),
        (b"", None, None),
    ],
)
def test_sniff_text(head: bytes, hint: str | None, expected: str | None) -> None:
    assert sniff_text(head, hint) == expected


def test_utf8_cut_inside_a_character_is_still_text() -> None:
    data = ("标识" * 40000).encode()[:65535]
    assert sniff_text(data) == "text"


@pytest.mark.parametrize(
    ("text", "positions"),
    [
        ("本内容由AI生成\n" + FILLER, ["start"]),
        (FILLER + "\n\n本内容由人工智能合成", ["end"]),
        ("ＡＩ生成的图片说明\n" + FILLER, ["start"]),  # full-width, NFKC
        ("本文由AI生成。", ["start"]),  # short text: one notice, not two
        (FILLER + "本内容由AI生成" + FILLER, ["middle"]),
        ("MAIN 生成报告\n" + FILLER, []),  # AI inside a word
        ("由ai生成\n" + FILLER, []),  # lower-case does not count
        ("AI\n" + FILLER, []),  # only one element
        (FILLER, []),
    ],
)
def test_find_notices(text: str, positions: list[str]) -> None:
    found = find_notices(text, middle=text)
    assert [n.position for n in found] == positions
    assert all(n.counts == (n.position != "middle") for n in found)


def test_html_visible_text_drops_scripts_and_decodes_entities() -> None:
    page = ("<html><head><title>AI生成</title><script>var s='AI生成'</script></head>"
            "<body><p>本内容由&#65;I生成</p><style>p{}</style></body></html>")
    text = visible_text(page, "html")
    assert "var s" not in text
    assert "本内容由AI生成" in text
    assert find_notices(text)[0].position == "start"
    hidden_only = "<html><head><script>'AI生成'</script></head><body>" + FILLER + "</body></html>"
    assert find_notices(visible_text(hidden_only, "html")) == []


def test_decode_with_sniffed_encoding() -> None:
    raw = "本内容由AI生成".encode("gb18030")
    assert decode_text(raw) == "本内容由AI生成"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_verify_text_files(tmp_path: Path) -> None:
    marked = _write(tmp_path, "a.md", ("> 本内容由AI生成\n\n" + FILLER).encode())
    report = verify(marked)
    assert (report.format, report.verdict) == ("markdown", Verdict.SUSPECTED)
    assert report.evidence[0].kind.value == "explicit-mark"
    assert report.label_to_write == "3"

    middle = _write(tmp_path, "b.txt", (FILLER + "本内容由AI生成" + FILLER).encode())
    report = verify(middle)
    assert report.verdict is Verdict.NONE
    assert any(f.code == "G27.text-label" and f.severity.value == "warning"
               for f in report.findings)

    html = _write(tmp_path, "c.html", f"<html><body><p>{FILLER}</p><footer>AI生成内容"
                  "</footer></body></html>".encode())
    assert verify(html).verdict is Verdict.SUSPECTED

    plain = _write(tmp_path, "d.txt", FILLER.encode())
    assert verify(plain).verdict is Verdict.NONE
    assert verify(plain, declared=True).verdict is Verdict.POSSIBLY


def test_large_text_reads_only_the_ends(tmp_path: Path) -> None:
    body = ("x" * 1023 + "\n").encode() * 4096  # 4 MiB
    path = _write(tmp_path, "big.txt", b"AI generated? no. " + body + "本内容由AI生成".encode())
    report = verify(path)
    assert report.verdict is Verdict.SUSPECTED
    assert report.bytes_read < 200_000
    assert any(f.code == "G27.text-label" and f.severity.value == "info" for f in report.findings)


def test_codecs_hand_text_to_the_notice_detector() -> None:
    """A codec of a text format (``text_kind``) or of a document (``visible_text``) gets its
    notice checked without any verifier change: the pipeline asks the codec."""
    from aiglabel.codecs.base import CodecBase, Confidence, FoundLabel
    from aiglabel.registry import Registry

    class _Doc(CodecBase):
        name = "testdoc"
        description = "a zipped test document"

        @staticmethod
        def sniff(head: bytes) -> Confidence:
            return Confidence.STRONG if head.startswith(b"TDOC") else Confidence.NO

        def read_labels(self, src: Source) -> list[FoundLabel]:
            return []

        def plan_write(self, src: Source, record: object) -> EditPlan:
            raise NotImplementedError

        def essence_parts(self, src: Source) -> list[bytes]:
            return [src.read_at(0, src.size)]

        def visible_text(self, src: Source, limit: int) -> str | None:
            return src.read_at(4, src.size - 4).decode()[:limit]

    class _Notes(_Doc):
        name = "testnotes"
        text_kind = "markdown"

        @staticmethod
        def sniff(head: bytes) -> Confidence:
            return Confidence.STRONG if head.startswith(b"---") else Confidence.NO

    registry = Registry()
    registry.register(_Doc)
    registry.register(_Notes)
    doc = verify(b"TDOC" + FILLER.encode() + "本内容由AI生成".encode(), registry=registry)
    assert (doc.format, doc.verdict) == ("testdoc", Verdict.SUSPECTED)
    assert doc.evidence[0].detector == "text-notice"
    notes = verify(("---\nk: v\n---\n" + FILLER + "\n本内容由人工智能生成\n").encode(),
                   registry=registry)
    assert (notes.format, notes.verdict) == ("testnotes", Verdict.SUSPECTED)
    assert verify(b"TDOC" + FILLER.encode(), registry=registry).verdict is Verdict.NONE
