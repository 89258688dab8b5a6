"""Golden ``inspect`` reports for every fixture and real-world sample.

Regenerate after an intended change with ``AIGLABEL_UPDATE_GOLDEN=1 pytest tests/test_golden.py``
and review the diff. A failing comparison writes ``<name>.failed.json`` beside the golden file.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest
from tests.conftest import REAL, ROOT, fixture_files, fixture_id

import aiglabel

if TYPE_CHECKING:
    from pathlib import Path

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("AIGLABEL_UPDATE_GOLDEN") == "1"
REAL_SAMPLES = ["jimeng_cap_B.png", "CA.jpg", "automatic1111_cropped.png", "img2img_cropped.png"]


def report(path: Path, display: str) -> dict[str, object]:
    data = aiglabel.inspect(path).to_dict()
    data["path"] = display
    del data["bytes_read"]
    return data


def check_golden(actual: dict[str, object], golden: Path) -> None:
    text = json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    failed = golden.with_suffix(".failed.json")
    if UPDATE or not golden.exists():
        if not UPDATE:
            pytest.fail(f"golden file missing: {golden} (run with AIGLABEL_UPDATE_GOLDEN=1)")
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        return
    expected = golden.read_text(encoding="utf-8")
    if text != expected:
        failed.write_text(text, encoding="utf-8")
        assert json.loads(text) == json.loads(expected), f"see {failed}"
    elif failed.exists():
        failed.unlink()


FIXTURES = fixture_files()


@pytest.mark.parametrize("path", FIXTURES, ids=[fixture_id(p) for p in FIXTURES])
def test_fixture_inspect_report(path: Path) -> None:
    golden = GOLDEN / path.parent.name / (path.name + ".json")
    check_golden(report(path, fixture_id(path)), golden)


@pytest.mark.parametrize("name", REAL_SAMPLES)
def test_real_sample_inspect_report(name: str) -> None:
    sample = REAL / name
    if not sample.exists():
        pytest.skip(f"shared real-world sample missing: {sample}")
    check_golden(report(sample, f"real/{name}"), GOLDEN / "real" / (name + ".json"))


def verify_report(path: Path, display: str) -> dict[str, object]:
    from aiglabel.verify import verify

    data = verify(path).to_dict()
    data["path"] = display
    for volatile in ("bytes_read", "seconds"):
        del data[volatile]
    data["errors"] = [e.replace(str(path), display) for e in data["errors"]]  # type: ignore[attr-defined]
    return data


TRACE_FIXTURES = sorted((ROOT / "fixtures" / "media" / "traces").glob("*.*"))


@pytest.mark.parametrize("path", TRACE_FIXTURES, ids=[p.name for p in TRACE_FIXTURES])
def test_trace_fixture_verify_report(path: Path) -> None:
    check_golden(verify_report(path, f"traces/{path.name}"),
                 GOLDEN / "verify" / (path.name + ".json"))


@pytest.mark.parametrize("name", [*REAL_SAMPLES, "c.mov"])
def test_real_sample_verify_report(name: str) -> None:
    sample = REAL / name
    if not sample.exists():
        pytest.skip(f"shared real-world sample missing: {sample}")
    check_golden(verify_report(sample, f"real/{name}"),
                 GOLDEN / "verify" / f"real-{name}.json")
