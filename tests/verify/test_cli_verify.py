"""``aiglabel verify`` and ``aiglabel propagate`` through typer's CliRunner."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.conftest import MEDIA, PRODUCER, REAL, record
from typer.testing import CliRunner

import aiglabel
from aiglabel.cli.main import app

PLATFORM = "001191110108MA01ABCD842PLAT"
FILLER = "这是一段普通的文字。" * 30


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    """A folder with one file per verdict, one broken file and a nested folder."""
    root = tmp_path / "uploads"
    (root / "sub").mkdir(parents=True)
    aiglabel.label(MEDIA / "png" / "plain.png", root / "labelled.png", record("v-1"))
    shutil.copy(MEDIA / "jpeg" / "plain.jpg", root / "plain.jpg")
    (root / "sub" / "notice.md").write_text("本内容由AI生成\n\n" + FILLER, encoding="utf-8")
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (root / "sub" / "blob.bin").write_bytes(bytes(range(256)))  # walked, unsupported: skipped
    return root


def test_verify_json_report(batch: Path) -> None:
    code, out, err = invoke("verify", batch, "--json", "--workers", "1")
    assert code == 1  # broken.png could not be verified
    reports = {Path(r["path"]).name: r for r in json.loads(out)}
    assert set(reports) == {"labelled.png", "plain.jpg", "notice.md", "broken.png"}
    for r in reports.values():
        assert {"path", "format", "verdict", "evidence", "findings"} <= r.keys()
    assert reports["labelled.png"]["verdict"] == "confirmed"
    assert reports["plain.jpg"]["verdict"] == "none"
    assert reports["notice.md"]["verdict"] == "suspected"
    assert reports["broken.png"]["status"] == "inconclusive"
    assert "broken.png" in err
    assert "error" in err
    assert "confirmed" in err  # the summary table


def test_verify_ndjson_declared_and_gate(batch: Path) -> None:
    files = [batch / "labelled.png", batch / "plain.jpg"]
    code, out, _ = invoke("verify", *files, "--ndjson", "--declared", "-q")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [r["verdict"] for r in lines] == ["confirmed", "possibly"]
    assert lines[1]["label_to_write"] == "2"

    assert invoke("verify", *files, "--fail-on", "confirmed", "-q")[0] == 3
    assert invoke("verify", files[1], "--fail-on", "suspected", "-q")[0] == 0
    assert invoke("verify", files[1], "--declared", "--fail-on", "possibly", "-q")[0] == 3
    code, _, err = invoke("verify", files[1], "--fail-on", "maybe")
    assert code == 2
    assert "--fail-on" in err


def test_verify_text_lines_and_parallel_workers(batch: Path) -> None:
    code, out, _ = invoke("verify", batch / "labelled.png", batch / "plain.jpg",
                          batch / "sub" / "notice.md", "--workers", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{batch / 'labelled.png'}: confirmed")
    assert "内容由AI生成" in lines[0]
    assert lines[1].endswith(": none [jpeg]")
    assert "explicit-mark" in lines[2]


def test_verify_html_report(batch: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    code, _, _ = invoke("verify", batch / "labelled.png", batch / "plain.jpg", "--html", page,
                        "-q")
    assert code == 0
    text = page.read_text(encoding="utf-8")
    HTMLParser().feed(text)
    assert "confirmed" in text
    assert "labelled.png" in text
    assert "data:image/" in text  # thumbnails embedded
    assert 'src="http' not in text


def test_verify_real_samples() -> None:
    if not REAL.exists():
        pytest.skip("real samples not present")
    code, out, _ = invoke("verify", REAL, "--json", "-q")
    reports = {Path(r["path"]).name: r["verdict"] for r in json.loads(out)}
    assert reports["jimeng_cap_B.png"] == "confirmed"
    assert reports["automatic1111_cropped.png"] == "suspected"
    assert reports["img2img_cropped.png"] == "suspected"
    assert reports["CA.jpg"] == "none"
    assert code == 0


def test_propagate_then_inspect(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    aiglabel.label(MEDIA / "png" / "plain.png", src, record("gen-9"))
    out = tmp_path / "out"
    code, stdout, err = invoke("propagate", src, "--platform", PLATFORM, "--propagate-id",
                               "p-1", "-o", out, "-v")
    assert code == 0, err
    assert "kept Label" in stdout
    code, js, _ = invoke("inspect", out / "in.png", "--json")
    fields = json.loads(js)[0]["labels"][0]["fields"]
    assert fields == {"Label": "1", "ContentProducer": PRODUCER, "ProduceID": "gen-9",
                      "ReservedCode1": "", "ContentPropagator": PLATFORM, "PropagateID": "p-1",
                      "ReservedCode2": ""}
    code, js, _ = invoke("verify", out / "in.png", "--json")
    assert json.loads(js)[0]["verdict"] == "confirmed"


def test_propagate_refuses_none_and_creates_declared(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    shutil.copy(MEDIA / "png" / "plain.png", plain)
    before = plain.read_bytes()
    code, _, err = invoke("propagate", plain, "--platform", PLATFORM, "--in-place")
    assert code == 1
    assert "refusing to invent a label" in err
    assert len(err.strip().splitlines()) == 2  # the error line and the summary
    assert plain.read_bytes() == before

    code, _, err = invoke("propagate", plain, "--platform", PLATFORM, "--in-place", "--declared")
    assert code == 0, err
    labels = aiglabel.read_labels(plain)
    assert len(labels) == 1
    assert labels[0].record is not None
    assert labels[0].record.label == "2"


def test_propagate_usage_errors(tmp_path: Path) -> None:
    src = MEDIA / "png" / "plain.png"
    code, _, err = invoke("propagate", src, "--platform", "bad code!", "-o", tmp_path)
    assert code == 2
    assert "--platform" in err
    assert invoke("propagate", src, "--platform", PLATFORM)[0] == 2
    code, _, err = invoke("propagate", src, src.with_name("palette.png"), "--platform", PLATFORM,
                          "--propagate-id", "x", "-o", tmp_path)
    assert code == 2
    assert "--propagate-id" in err
