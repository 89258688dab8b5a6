"""The ``aiglabel`` command line, driven through typer's CliRunner (and once as a process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import aiglabel
from aiglabel.cli import main as cli_main
from aiglabel.cli.main import app
from aiglabel.config import DEMO_PRODUCER, PRODUCER_ENV

PRODUCER = "001191110000MA0DEMXY0T1DEMO"  # a valid-layout code (the bundled demo value)
REAL_SAMPLE = Path("/work/shared/fixtures/real/jimeng_cap_B.png")
REAL_PRODUCER = "00119144030008867405X210001"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PRODUCER_ENV, raising=False)
    monkeypatch.delenv("AIGLABEL_DEBUG", raising=False)


def invoke(*args: str | Path) -> tuple[int, str, str]:
    """Run the app; return (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def make_jpeg(path: Path, color: str = "red", size: int = 16) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path, format="JPEG", quality=90)
    return path


def make_png(path: Path, color: str = "blue", size: int = 16) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path, format="PNG")
    return path


def only_record(path: Path) -> aiglabel.AIGCRecord:
    found = aiglabel.read_labels(path)
    assert len(found) == 1, found
    record = found[0].record
    assert record is not None
    return record


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# --- label -----------------------------------------------------------------------------------


def test_label_folder_mirrors_tree(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_jpeg(src / "a.jpg")
    make_png(src / "sub" / "b.png")
    make_jpeg(src / "sub" / "deeper" / "c.jpeg", "green")
    make_jpeg(src / ".hidden" / "h.jpg")
    make_jpeg(src / ".dot.jpg")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"

    code, stdout, stderr = invoke("label", src, "-o", out, "--producer", PRODUCER)

    assert code == 0, stderr
    assert files_under(out) == {"a.jpg", "sub/b.png", "sub/deeper/c.jpeg"}
    ids = set()
    for name in files_under(out):
        record = only_record(out / name)
        assert record.label == "1"
        assert record.content_producer == PRODUCER
        assert record.content_propagator == PRODUCER
        assert record.propagate_id == record.produce_id
        ids.add(record.produce_id)
    assert len(ids) == 3
    assert stdout == ""
    assert "DEMO VALUE" not in stderr
    assert "labelled 3, skipped 1, failed 0" in stderr
    assert len(stderr.splitlines()) == 1  # no progress output when not a terminal


def test_label_file_arguments_go_to_outdir_by_name(tmp_path: Path) -> None:
    one = make_jpeg(tmp_path / "x" / "one.jpg")
    two = make_png(tmp_path / "y" / "z" / "two.png")
    out = tmp_path / "new" / "out"
    code, stdout, stderr = invoke("label", one, two, "-o", out, "--producer", PRODUCER, "-v")
    assert code == 0, stderr
    assert files_under(out) == {"one.jpg", "two.png"}
    assert f"{one} -> {out / 'one.jpg'} (jpeg:" in stdout
    assert f"{two} -> {out / 'two.png'} (png:" in stdout


def test_produce_id_only_with_one_file(tmp_path: Path) -> None:
    one = make_jpeg(tmp_path / "one.jpg")
    two = make_png(tmp_path / "two.png")
    out = tmp_path / "out"
    code, _, stderr = invoke("label", one, two, "-o", out, "--produce-id", "ID-1")
    assert code == 2
    assert "--produce-id" in stderr
    assert not out.exists()

    code, _, stderr = invoke(
        "label", one, "-o", out, "--producer", PRODUCER, "--produce-id", "ID-1"
    )
    assert code == 0, stderr
    record = only_record(out / "one.jpg")
    assert (record.produce_id, record.propagate_id) == ("ID-1", "ID-1")


def test_propagator_option(tmp_path: Path) -> None:
    src = make_png(tmp_path / "a.png")
    propagator = PRODUCER[:22] + "2" + PRODUCER[23:]
    code, _, stderr = invoke(
        "label", src, "-o", tmp_path / "out", "--producer", PRODUCER, "--propagator", propagator
    )
    assert code == 0, stderr
    assert code == 0, stderr
    record = only_record(tmp_path / "out" / "a.png")
    assert record.content_propagator == propagator
    assert record.propagate_id == record.produce_id


def test_in_place_is_atomic_and_lossless(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    jpg = make_jpeg(folder / "a.jpg")
    png = make_png(folder / "b.png")
    before = {p: aiglabel.essence_digest(p) for p in (jpg, png)}
    pixels = {p: Image.open(p).tobytes() for p in (jpg, png)}

    code, _, stderr = invoke("label", "--in-place", folder, "--producer", PRODUCER)

    assert code == 0, stderr
    assert sorted(os.listdir(folder)) == ["a.jpg", "b.png"]  # no temporary files left
    for path in (jpg, png):
        assert only_record(path).content_producer == PRODUCER
        assert aiglabel.essence_digest(path) == before[path]
        with Image.open(path) as image:
            assert image.tobytes() == pixels[path]


def test_output_or_in_place_is_required(tmp_path: Path) -> None:
    src = make_jpeg(tmp_path / "a.jpg")
    code, _, stderr = invoke("label", src, "--producer", PRODUCER)
    assert code == 2
    assert "--in-place" in stderr
    code, _, _ = invoke("label", src, "-o", tmp_path / "o", "--in-place")
    assert code == 2
    assert not (tmp_path / "o").exists()


def test_bad_files_fail_one_line_each(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    good_jpg = make_jpeg(folder / "good.jpg")
    good_png = make_png(folder / "good.png")
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    garbage = folder / "garbage.png"
    garbage.write_bytes(b"\x00garbage" * 40)
    data = good_jpg.read_bytes()
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 3])
    text = folder / "random.txt"
    text.write_bytes(bytes(range(7, 250, 3)) * 3)
    # Bytes decide the format: a PNG named .jpg is a PNG, and it is labelled as one.
    wrong_ext = make_png(folder / "x.jpg", "yellow")
    bad = [empty, garbage, truncated, text]
    out = tmp_path / "out"

    code, _, stderr = invoke(
        "label", good_jpg, *bad, good_png, wrong_ext, "-o", out, "--producer", PRODUCER
    )

    assert code == 1
    assert files_under(out) == {"good.jpg", "good.png", "x.jpg"}  # nothing partial
    assert aiglabel.detect_format(out / "x.jpg") == "png"
    for path in (good_jpg, good_png, wrong_ext):
        assert only_record(out / path.name).content_producer == PRODUCER
    errors = [line for line in stderr.splitlines() if line.startswith("aiglabel: error: ")]
    assert len(errors) == len(bad)
    for path in bad:
        assert sum(f"aiglabel: error: {path}: " in line for line in errors) == 1
    assert "labelled 3, skipped 0, failed 4" in stderr


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    src = make_jpeg(tmp_path / "a.jpg")
    out = tmp_path / "out"
    (out).mkdir()
    (out / "a.jpg").write_bytes(b"keep me")

    code, _, stderr = invoke("label", src, "-o", out, "--producer", PRODUCER)
    assert code == 1
    assert f"aiglabel: error: {src}: " in stderr
    assert "exists" in stderr
    assert (out / "a.jpg").read_bytes() == b"keep me"

    code, _, stderr = invoke("label", src, "-o", out, "--producer", PRODUCER, "--overwrite")
    assert code == 0, stderr
    assert only_record(out / "a.jpg").content_producer == PRODUCER


def test_output_folder_inside_input_is_not_walked(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_jpeg(src / "a.jpg")
    make_png(src / "b.png")
    out = src / "labelled"
    for _ in range(2):
        code, _, stderr = invoke("label", src, "-o", out, "--producer", PRODUCER, "--overwrite")
        assert code == 0, stderr
        assert "labelled 2, skipped 0, failed 0" in stderr
    assert files_under(out) == {"a.jpg", "b.png"}


def test_walk_skips_unrecognised_files_with_a_verbose_note(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_jpeg(src / "a.jpg")
    (src / "data.bin").write_bytes(bytes(range(256)))  # no codec claims it
    (src / "empty.png").write_bytes(b"")
    code, _, stderr = invoke("label", src, "-o", tmp_path / "out", "--producer", PRODUCER, "-v")
    assert code == 0, stderr
    assert "labelled 1, skipped 2, failed 0" in stderr
    assert f"skipped: {src / 'data.bin'}" in stderr
    assert "error" not in stderr


def test_quiet_suppresses_summary(tmp_path: Path) -> None:
    src = make_jpeg(tmp_path / "a.jpg")
    code, stdout, stderr = invoke("label", src, "-o", tmp_path / "o", "--producer", PRODUCER, "-q")
    assert code == 0
    assert stdout == stderr == ""


def test_demo_producer_warns(tmp_path: Path) -> None:
    src = make_jpeg(tmp_path / "a.jpg")
    code, _, stderr = invoke("label", src, "-o", tmp_path / "out")
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if "DEMO VALUE" in line]
    assert len(warnings) == 1
    assert "DEMO VALUE — pass --producer or set AIGLABEL_PRODUCER" in warnings[0]
    assert only_record(tmp_path / "out" / "a.jpg").content_producer == DEMO_PRODUCER


def test_producer_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRODUCER_ENV, REAL_PRODUCER)
    src = make_png(tmp_path / "a.png")
    code, _, stderr = invoke("label", src, "-o", tmp_path / "out")
    assert code == 0, stderr
    assert "DEMO" not in stderr
    assert only_record(tmp_path / "out" / "a.png").content_producer == REAL_PRODUCER


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--producer", "has space", "ContentProducer"),
        ("--producer", "", "ContentProducer"),
        ("--propagator", "bad\\code", "ContentPropagator"),
        ("--produce-id", "id with space", "ProduceID"),
    ],
)
def test_invalid_label_values_are_usage_errors(
    tmp_path: Path, option: str, value: str, field: str
) -> None:
    src = make_jpeg(tmp_path / "a.jpg")
    args = ["label", str(src), "-o", str(tmp_path / "out"), option, value]
    if option != "--producer":
        args += ["--producer", PRODUCER]
    code, _, stderr = invoke(*args)
    assert code == 2
    assert field in stderr
    assert f"'{option}'" in stderr
    assert not (tmp_path / "out").exists()


def test_invalid_producer_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRODUCER_ENV, "not a code")
    src = make_jpeg(tmp_path / "a.jpg")
    code, _, stderr = invoke("label", src, "-o", tmp_path / "out")
    assert code == 2
    assert PRODUCER_ENV in stderr
    assert "ContentProducer" in stderr


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    code, _, stderr = invoke(
        "label", tmp_path / "nope.jpg", "-o", tmp_path / "out", "--producer", PRODUCER
    )
    assert code == 1
    assert stderr.count("aiglabel: error: ") == 1
    assert f"{tmp_path / 'nope.jpg'}: " in stderr


def test_unexpected_exception_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> object:
        msg = "kaboom"
        raise RuntimeError(msg)

    monkeypatch.setattr("aiglabel.cli.label.label", boom)
    src = make_jpeg(tmp_path / "a.jpg")
    code, _, stderr = invoke("label", src, "-o", tmp_path / "out", "--producer", PRODUCER)
    assert code == 1
    lines = [line for line in stderr.splitlines() if "internal error" in line]
    assert len(lines) == 1
    assert "kaboom" in lines[0]
    assert "please report" in lines[0]

    monkeypatch.setenv("AIGLABEL_DEBUG", "1")
    result = CliRunner().invoke(
        app, ["label", str(src), "-o", str(tmp_path / "out"), "--producer", PRODUCER]
    )
    assert isinstance(result.exception, RuntimeError)


# --- inspect ---------------------------------------------------------------------------------


def test_inspect_json(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_jpeg(src / "a.jpg")
    make_png(src / "sub" / "b.png")
    out = tmp_path / "out"
    assert invoke("label", src, "-o", out, "--producer", PRODUCER)[0] == 0
    make_png(out / "plain.png")  # no label: still read, exit 0

    code, stdout, stderr = invoke("inspect", out, "--json")

    assert code == 0, stderr
    items = json.loads(stdout)
    assert isinstance(items, list)
    assert {Path(item["path"]).name for item in items} == {"a.jpg", "b.png", "plain.png"}
    for item in items:
        assert {"path", "format", "labels", "findings"} <= item.keys()
    labelled = [item for item in items if item["labels"]]
    assert len(labelled) == 2
    for item in labelled:
        (found,) = item["labels"]
        assert found["carrier"]
        assert list(found["fields"]) == list(aiglabel.FIELDS)
        assert found["fields"]["ContentProducer"] == PRODUCER
        for finding in item["findings"]:
            assert {"code", "severity", "message"} <= finding.keys()


def test_inspect_failure_gives_error_object_and_exit_1(tmp_path: Path) -> None:
    good = make_png(tmp_path / "ok.png")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a picture at all")
    code, stdout, stderr = invoke("inspect", "--json", good, bad)
    assert code == 1
    items = json.loads(stdout)
    assert items[0]["path"] == str(good)
    assert items[1]["path"] == str(bad)
    assert items[1]["error"]
    assert stderr.count(f"aiglabel: error: {bad}: ") == 1


def test_inspect_human_output(tmp_path: Path) -> None:
    src = make_jpeg(tmp_path / "a.jpg")
    assert invoke("label", src, "-o", tmp_path / "out", "--producer", PRODUCER)[0] == 0
    code, stdout, stderr = invoke("inspect", tmp_path / "out" / "a.jpg", src)
    assert code == 0, stderr
    for key in aiglabel.FIELDS:
        assert key in stdout
    assert PRODUCER in stdout
    assert "compliant" in stdout
    assert "no AIGC label" in stdout
    assert "inspected 2, skipped 0, failed 0" in stderr


@pytest.mark.skipif(not REAL_SAMPLE.exists(), reason=f"real sample {REAL_SAMPLE} is not present")
def test_inspect_real_sample() -> None:
    code, stdout, stderr = invoke("inspect", "--json", REAL_SAMPLE)
    assert code == 0, stderr
    (item,) = json.loads(stdout)
    (found,) = item["labels"]
    assert found["fields"]["Label"] == "1"
    assert found["fields"]["ContentProducer"] == REAL_PRODUCER

    code, stdout, _ = invoke("inspect", REAL_SAMPLE)
    assert code == 0
    assert REAL_PRODUCER in stdout


# --- formats, version, help --------------------------------------------------------------------


def test_formats() -> None:
    code, stdout, _ = invoke("formats")
    assert code == 0
    assert "jpeg" in stdout
    assert "png" in stdout
    assert "* jpeg:" in stdout

    code, stdout, _ = invoke("formats", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(stdout)}
    assert {"jpeg", "png"} <= rows.keys()
    for row in rows.values():
        assert {"name", "description", "extensions", "carriers"} <= row.keys()
    assert ".png" in rows["png"]["extensions"]
    primary = [c for c in rows["jpeg"]["carriers"] if c["primary"]]
    assert len(primary) == 1
    assert primary[0]["role"] == "write"


def test_version_and_help() -> None:
    code, stdout, _ = invoke("--version")
    assert code == 0
    assert stdout.strip() == f"aiglabel {aiglabel.__version__}"
    code, stdout, _ = invoke("--help")
    assert code == 0
    assert "Exit codes" in stdout
    for command in ("label", "inspect", "formats"):
        assert command in stdout


def test_unknown_option_is_exit_2() -> None:
    code, _, _ = invoke("label", "--no-such-option")
    assert code == 2


def test_console_script(tmp_path: Path) -> None:
    exe = shutil.which("aiglabel") or str(Path(sys.executable).parent / "aiglabel")
    assert Path(exe).exists(), "the aiglabel console script is not installed (pip install -e .)"
    src = make_jpeg(tmp_path / "in" / "a.jpg")
    make_png(tmp_path / "in" / "b.png")
    env = {k: v for k, v in os.environ.items() if k != PRODUCER_ENV}
    done = subprocess.run(
        [exe, "label", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--producer", PRODUCER],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "labelled 2, skipped 0, failed 0" in done.stderr
    assert only_record(tmp_path / "out" / src.name).content_producer == PRODUCER

    done = subprocess.run(
        [exe, "inspect", "--json", str(tmp_path / "nope.png")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)[0]["error"]


def test_run_is_the_entry_point() -> None:
    assert callable(cli_main.run)
