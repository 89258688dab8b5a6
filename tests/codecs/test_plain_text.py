"""Plain text (rules §C.5): refused by default, opt-in sidecar or front matter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.conftest import PRODUCER, record

import aiglabel
from aiglabel.codecs.text import sidecar_path
from aiglabel.errors import CarrierUnsupportedError, PlainTextError, UnsupportedFormatError
from aiglabel.verify import Verdict, verify

if TYPE_CHECKING:
    from pathlib import Path

TEXT = "模型写出的一段文字。\nA second line.\n".encode()
REC = record("txt-1")


def _file(tmp_path: Path, name: str = "story.txt", data: bytes = TEXT) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_identified_by_bytes_and_name_only_as_txt(tmp_path: Path) -> None:
    assert aiglabel.detect_format(TEXT, name="a.txt") == "text"
    for name in ("a.py", "a.json", "noext"):
        with pytest.raises(UnsupportedFormatError):
            aiglabel.detect_format(TEXT, name=name)
    with pytest.raises(UnsupportedFormatError):
        aiglabel.detect_format(b"\x00\x01binary", name="a.txt")
    assert aiglabel.read_labels(_file(tmp_path)) == []


def test_refused_by_default_with_the_choices_named(tmp_path: Path) -> None:
    src = _file(tmp_path)
    with pytest.raises(PlainTextError, match="--txt-carrier sidecar") as info:
        aiglabel.label(src, tmp_path / "out.txt", REC)
    assert isinstance(info.value, CarrierUnsupportedError)  # rules §C.5
    assert not (tmp_path / "out.txt").exists()
    with pytest.raises(CarrierUnsupportedError, match="not one of"):
        aiglabel.label(src, tmp_path / "out.txt", REC, txt_carrier="xattr")


def test_sidecar_leaves_the_text_alone_and_is_read_back(tmp_path: Path) -> None:
    src = _file(tmp_path)
    dst = tmp_path / "out" / "story.txt"
    dst.parent.mkdir()
    result = aiglabel.label(src, dst, REC, txt_carrier="sidecar")
    assert result.carrier == "text:sidecar"
    assert dst.read_bytes() == TEXT
    assert (tmp_path / "out" / "story.txt.aigc.json").read_bytes() == (
        b'{"AIGC":' + REC.to_json().encode() + b"}\n")
    (found,) = aiglabel.read_labels(dst)
    assert (found.carrier, found.record, found.form) == ("text:sidecar", REC, "wrapped")
    assert any("not in the file itself" in f.message for f in found.findings)
    report = aiglabel.inspect(dst)
    assert report.status == "compliant"
    # In place: the text is not rewritten; a second write replaces the sidecar (one label).
    aiglabel.label(src, None, REC, in_place=True, txt_carrier="sidecar")
    aiglabel.label(src, None, record("txt-2"), in_place=True, txt_carrier="sidecar")
    assert src.read_bytes() == TEXT
    assert [lb.record for lb in aiglabel.read_labels(src)] == [record("txt-2")]
    verdict = verify(src)
    assert verdict.verdict is Verdict.CONFIRMED
    assert any("sidecar" in f.message for f in verdict.findings)
    assert sidecar_path(src).endswith(".txt.aigc.json")


def test_frontmatter_puts_the_markdown_block_at_the_head(tmp_path: Path) -> None:
    src = _file(tmp_path)
    dst = tmp_path / "fm.txt"
    aiglabel.label(src, dst, REC, txt_carrier="frontmatter")
    data = dst.read_bytes()
    assert data.startswith(b"---\nAIGC:\n  Label: \"1\"\n")
    assert data.endswith(TEXT)
    assert aiglabel.detect_format(data, name="fm.txt") == "markdown"
    assert [lb.record for lb in aiglabel.read_labels(dst)] == [REC]


def test_cli_skips_txt_in_walks_and_labels_with_a_carrier(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    src = tmp_path / "in"
    src.mkdir()
    _file(src)
    runner = CliRunner()
    walked = runner.invoke(app, ["label", str(src), "-o", str(tmp_path / "a"), "--producer",
                                 PRODUCER, "-v"])
    assert walked.exit_code == 0
    assert "skipped" in walked.output
    assert "--txt-carrier" in walked.output
    named = runner.invoke(app, ["label", str(src / "story.txt"), "-o", str(tmp_path / "b"),
                                "--producer", PRODUCER])
    assert named.exit_code == 1
    done = runner.invoke(app, ["label", str(src), "-o", str(tmp_path / "c"), "--producer",
                               PRODUCER, "--txt-carrier", "sidecar", "--explicit"])
    assert done.exit_code == 0, done.output
    out = tmp_path / "c" / "story.txt"
    assert out.read_text(encoding="utf-8").endswith("本内容由人工智能生成\n")
    assert [lb.carrier for lb in aiglabel.read_labels(out)] == ["text:sidecar"]
    bad = runner.invoke(app, ["label", str(src), "-o", str(tmp_path / "d"), "--txt-carrier",
                              "xattr"])
    assert bad.exit_code == 2
