"""The HTML verification report: badges, escaping, thumbnails, self-containment, writing."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import sys
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import pytest

from aiglabel.verify.html import make_thumbnail, render_html, write_html

if TYPE_CHECKING:
    from pathlib import Path

Image = pytest.importorskip("PIL.Image")

NOTICE = "内容由AI生成"
WHEN = "2025-09-01 12:00:00 UTC"
PIXEL_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
VOID = {"meta", "input", "img", "br", "hr", "link", "wbr"}
URL_ATTRS = {"src", "href", "action", "formaction", "poster", "background", "srcset", "xlink:href"}


def report(path: str, verdict: str = "none", **over: Any) -> dict[str, Any]:
    """A report dict in the ``VerifyReport.to_dict()`` shape."""
    base: dict[str, Any] = {
        "path": path, "format": "png", "size": 2048, "verdict": verdict,
        "notice": None if verdict == "none" else NOTICE,
        "label_to_write": None, "status": "not_found", "evidence": [], "findings": [],
        "warnings": [], "contradictions": [], "errors": [], "bytes_read": 512, "seconds": 0.002,
    }  # fmt: skip
    base.update(over)
    return base


def evidence(detail: str = "GB label in XMP", **record: Any) -> dict[str, Any]:
    rec = {"Label": "1", "ContentProducer": "001191110108MA01ABCD8X00000", "ProduceID": "p1",
           "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}
    rec.update(record)  # fmt: skip
    return {"kind": "implicit-metadata", "detector": "gb-label", "carrier": "xmp",
            "claim": "ai-generated", "tier": 1, "integrity": "unchecked", "detail": detail,
            "record": rec, "contributes": "confirmed"}  # fmt: skip


class Checker(HTMLParser):
    """Collects tags and URL-bearing attributes; fails on unbalanced or misnested tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, tag
        assert self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    return checker


@pytest.fixture
def reports() -> list[dict[str, Any]]:
    return [
        report("a/confirmed.png", "confirmed", status="compliant", label_to_write=None,
               evidence=[evidence()],
               findings=[{"code": "G.3", "severity": "warning", "message": "empty field",
                          "carrier": "xmp"}]),
        report("b/possibly.jpg", "possibly", format="jpeg", label_to_write="2"),
        report("c/suspected.webp", "suspected", format="webp", label_to_write="3",
               warnings=["label not intact"]),
        report("d/none.txt", format="text", size=10),
        report("e/broken.png", status="inconclusive", errors=["truncated PNG chunk"]),
        report("f/contra.png", "confirmed", contradictions=["C2PA says not-ai, label says AI"]),
    ]  # fmt: skip


def test_badges_and_counts(reports: list[dict[str, Any]]) -> None:
    page = render_html(reports, generated_at=WHEN)
    assert '<meta charset="utf-8">' in page
    assert WHEN in page
    for verdict, n in {"confirmed": 2, "possibly": 1, "suspected": 1, "none": 2}.items():
        assert f'class="badge b-{verdict}">{verdict} {n}</label>' in page
    assert ">all 6</label>" in page
    assert ">with errors 1</label>" in page
    assert page.count('<article class="card') == 6
    assert page.count(" has-errors\"") == 1
    assert 'class="alert err"' in page
    assert "truncated PNG chunk" in page
    assert '<div class="alert"><b>Contradictions</b>' in page
    assert NOTICE in page
    assert "2.0 KiB" in page
    assert 'class="sev-warning"' in page
    assert "label not intact" in page
    # cards keep the input order
    order = [page.index(f"{c}/") for c in "abcdef"]
    assert order == sorted(order)
    parse(page)


def test_record_and_evidence_shown(reports: list[dict[str, Any]]) -> None:
    page = render_html(reports, generated_at=WHEN)
    for name in ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
                 "PropagateID", "ReservedCode2"):  # fmt: skip
        assert f"<dt>{name}</dt>" in page
    assert "001191110108MA01ABCD8X00000" in page
    assert "<th>Integrity</th>" in page
    assert "implicit-metadata" in page


def test_deterministic(reports: list[dict[str, Any]]) -> None:
    assert render_html(reports, generated_at=WHEN) == render_html(reports, generated_at=WHEN)


def test_hostile_values_are_escaped() -> None:
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    bad = report(
        f"x/{evil}.png", "confirmed", format=evil, notice=evil, status=evil,
        evidence=[evidence(detail=evil, ContentProducer=evil, ProduceID="javascript:alert(3)")
                  | {"carrier": evil, "kind": evil, "integrity": evil, "contributes": evil}],
        findings=[{"code": evil, "severity": evil, "message": evil, "carrier": evil}],
        warnings=[evil], contradictions=[evil], errors=[evil],
    )  # fmt: skip
    weird = report("javascript:alert(4)", verdict=evil)
    thumbs = {bad["path"]: "javascript:alert(5)", "javascript:alert(4)": f'{PIXEL_PNG}" onload="x'}
    page = render_html([bad, weird], title=evil, generated_at=evil, thumbnails=thumbs)
    checker = parse(page)
    assert checker.tags.count("script") == 1  # only the page's own script
    assert "img" not in checker.tags  # both thumbnails dropped, the hostile <img> escaped
    assert not [k for k, _ in checker.attrs if k.startswith("on")]
    assert not [v for k, v in checker.attrs if k in URL_ATTRS]
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the hostile text survives as text
    assert any("<script>alert(1)</script>" in t for t in checker.text)
    # an unknown verdict never becomes a class name
    assert "v-other" in page
    assert "onerror=alert(2)>" not in page


def test_invisible_and_unencodable_characters() -> None:
    path = "photo\u202egnp.exe\x00\udcff.png"
    page = render_html([report(path)], generated_at=WHEN)
    page.encode("utf-8")  # lone surrogates would fail here
    assert "\u202e" not in page
    assert "\x00" not in page
    assert "\\u202e" in page
    assert "\\udcff" in page


def test_long_values_cut_with_full_title() -> None:
    detail = "A" * 500 + "<b>"
    page = render_html([report("long.png", evidence=[evidence(detail=detail)])], generated_at=WHEN)
    assert 'class="cut" title="' + "A" * 500 + '&lt;b&gt;"' in page
    assert "(+343)" in page
    parse(page)


def test_thumbnails_only_data_image() -> None:
    reports = [report("ok.png"), report("svg.png"), report("html.png"), report("http.png")]
    thumbs = {
        "ok.png": PIXEL_PNG,
        "svg.png": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "html.png": "data:text/html;base64,PHNjcmlwdD4=",
        "http.png": "https://evil.example/x.png",
    }
    page = render_html(reports, generated_at=WHEN, thumbnails=thumbs)
    checker = parse(page)
    srcs = [v for k, v in checker.attrs if k == "src"]
    assert srcs == [PIXEL_PNG]
    assert "svg+xml" not in page
    assert "data:text/html" not in page
    assert "evil.example" not in page


def test_no_external_resources() -> None:
    detail = "see https://evil.example/a.png and http://evil.example/b.css"
    page = render_html([report("u.png", evidence=[evidence(detail=detail)])], generated_at=WHEN)
    assert 'src="http' not in page
    assert "href=" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert page.count("http://") == 1
    assert page.count("https://") == 1
    checker = parse(page)
    assert not [v for k, v in checker.attrs if k in URL_ATTRS]
    assert "link" not in checker.tags


def test_filters_work_without_script_and_csp_pins_script() -> None:
    page = render_html([report("a.png", "confirmed")], generated_at=WHEN)
    assert 'id="vf-all" checked' in page
    assert "#vf-confirmed:checked~main .card:not(.v-confirmed)" in page
    assert re.search(r'<input id="q"[^>]* hidden>', page)  # search box only shown by script
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page
    assert "default-src 'none'" in page


def test_malformed_reports_do_not_crash() -> None:
    odd: dict[str, Any] = {"path": None, "verdict": None, "size": "big", "evidence": None,
                           "findings": [None, 3], "errors": "oops", "seconds": "x"}  # fmt: skip
    page = render_html([odd, report("fine.png")], generated_at=WHEN)
    assert page.count('<article class="card') == 2
    assert "size unknown" in page
    parse(page)


def _image_file(tmp_path: Path, name: str, mode: str, fmt: str, size: tuple[int, int]) -> Path:
    path = tmp_path / name
    color = 3 if mode == "P" else (200, 30, 30, 128)[: len(mode)]
    Image.new(mode, size, color).save(path, fmt)
    return path


@pytest.mark.parametrize(
    ("name", "mode", "fmt"),
    [("a.jpg", "RGB", "JPEG"), ("b.png", "RGBA", "PNG"), ("c.gif", "P", "GIF")],
)
def test_make_thumbnail(tmp_path: Path, name: str, mode: str, fmt: str) -> None:
    path = _image_file(tmp_path, name, mode, fmt, (640, 320))
    uri = make_thumbnail(path, max_side=100)
    assert uri is not None
    head, _, payload = uri.partition(",")
    assert re.fullmatch(r"data:image/(webp|jpeg|png);base64", head)
    with Image.open(io.BytesIO(base64.b64decode(payload))) as thumb:
        assert max(thumb.size) <= 100
        if mode == "RGB":
            assert thumb.size == (100, 50)


def test_make_thumbnail_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image", encoding="utf-8")
    assert make_thumbnail(text) is None
    assert make_thumbnail(tmp_path / "missing.png") is None
    big = _image_file(tmp_path, "big.png", "RGB", "PNG", (100, 100))
    assert make_thumbnail(big, max_pixels=9_999) is None
    assert make_thumbnail(big, max_pixels=10_000) is not None
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(big.read_bytes()[:60])
    assert make_thumbnail(truncated) is None
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert make_thumbnail(big) is None


def test_write_html(tmp_path: Path, reports: list[dict[str, Any]]) -> None:
    img = _image_file(tmp_path, "real.png", "RGB", "PNG", (50, 40))
    items = [*reports, report(str(img), "confirmed"), report(str(tmp_path / "gone.png"))]
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    out.write_text("old", encoding="utf-8")
    write_html(out, items, generated_at=WHEN)
    page = out.read_text(encoding="utf-8")
    checker = parse(page)
    srcs = [v for k, v in checker.attrs if k == "src"]
    assert len(srcs) == 1
    assert srcs[0].startswith("data:image/")
    assert page.count('<article class="card') == len(items)
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    write_html(out, items, thumbnails_from_files=False, generated_at=WHEN, title="T")
    page = out.read_text(encoding="utf-8")
    assert "<img" not in page
    assert "<title>T</title>" in page
