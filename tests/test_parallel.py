"""Batches on worker threads (``--workers``): the same results as one worker, reported in input
order; per-file errors stay per file; the registry, temporary files and in-place batches are
safe under threads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.conftest import MEDIA, fixture_files, record
from tests.test_cli import PRODUCER, invoke, make_jpeg, make_png, only_record

import aiglabel
from aiglabel._io import DurableBatch, atomic_output
from aiglabel.cli._common import Job
from aiglabel.cli._parallel import MAX_DEFAULT_WORKERS, JobRunner, default_workers, pick_workers
from aiglabel.errors import CorruptFileError

ROOT = Path(__file__).resolve().parents[1]


def _jobs(count: int) -> list[Job]:
    return [Job(Path(f"f{i}"), Path(f"f{i}"), explicit=True) for i in range(count)]


# --- JobRunner -------------------------------------------------------------------------------


def test_runner_reports_in_input_order_while_running_concurrently() -> None:
    jobs = _jobs(12)
    running, peak, lock = 0, 0, threading.Lock()

    def work(job: Job) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        # Earlier jobs take longer, so they finish last.
        time.sleep(0.002 * (12 - int(job.src.name[1:])))
        with lock:
            running -= 1
        return job.src.name

    with JobRunner(4) as runner:
        seen = [(job.src.name, outcome.value) for job, outcome in runner.run(jobs, work)]
    assert seen == [(f"f{i}", f"f{i}") for i in range(12)]
    assert peak > 1


def test_runner_keeps_going_after_a_failed_job() -> None:
    def work(job: Job) -> int:
        if job.src.name == "f3":
            msg = "bad bytes"
            raise CorruptFileError(msg, path=str(job.src))
        return 1

    with JobRunner(3) as runner:
        outcomes = {job.src.name: outcome for job, outcome in runner.run(_jobs(8), work)}
    assert len(outcomes) == 8
    assert outcomes["f3"].status == "failed"
    assert "bad bytes" in outcomes["f3"].error
    assert all(o.status == "ok" for name, o in outcomes.items() if name != "f3")


def test_runner_captures_unexpected_errors_unless_debugging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def work(job: Job) -> None:
        msg = "kaboom"
        raise RuntimeError(msg)

    monkeypatch.delenv("AIGLABEL_DEBUG", raising=False)
    with JobRunner(2) as runner:
        outcomes = [o for _, o in runner.run(_jobs(3), work)]
    assert [o.status for o in outcomes] == ["failed"] * 3
    assert all("internal error" in o.internal_line and "kaboom" in o.internal_line
               for o in outcomes)

    monkeypatch.setenv("AIGLABEL_DEBUG", "1")
    with pytest.raises(RuntimeError, match="kaboom"), JobRunner(2) as runner:
        list(runner.run(_jobs(3), work))


def test_leaving_the_runner_cancels_queued_jobs_and_waits_for_running_ones() -> None:
    started: list[str] = []
    finished: list[str] = []

    def work(job: Job) -> None:
        started.append(job.src.name)
        time.sleep(0.05)
        finished.append(job.src.name)

    with JobRunner(2) as runner:
        for _ in runner.run(_jobs(40), work):
            break  # stop after the first result
    # Everything started also finished before the block ended; most jobs never started.
    assert sorted(started) == sorted(finished)
    assert len(started) < 40
    done = len(finished)
    time.sleep(0.1)
    assert len(finished) == done


def test_worker_counts() -> None:
    assert 1 <= default_workers() <= MAX_DEFAULT_WORKERS
    assert pick_workers(0) == default_workers()
    assert pick_workers(0, heavy=True) == 1
    assert pick_workers(7, heavy=True) == 7
    with pytest.raises(ValueError, match="workers"):
        JobRunner(0)


# --- library pieces under threads --------------------------------------------------------------


def test_durable_batch_takes_files_from_many_threads(tmp_path: Path) -> None:
    targets = []
    for i in range(40):
        target = tmp_path / f"{i:02d}.jpg"
        shutil.copyfile(MEDIA / "jpeg" / "plain.jpg", target)
        targets.append(target)
    before = (MEDIA / "jpeg" / "plain.jpg").read_bytes()
    with DurableBatch(max_files=7) as batch:
        threads = [
            threading.Thread(target=lambda chunk=targets[k::8]: [
                aiglabel.label(t, None, record(t.stem), in_place=True, batch=batch)
                for t in chunk])
            for k in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert batch.committed == 40
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".aiglabel-tmp")]
    for target in targets:
        assert only_record(target).produce_id == target.stem
        assert target.read_bytes() != before
        assert aiglabel.essence_digest(target) == aiglabel.essence_digest(
            MEDIA / "jpeg" / "plain.jpg")


def test_batched_in_place_writes_start_writeback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise on this platform")
    calls: list[int] = []
    real = os.posix_fadvise

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append(advice)
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", spy)
    target = tmp_path / "a.jpg"
    shutil.copyfile(MEDIA / "jpeg" / "plain.jpg", target)
    with DurableBatch() as batch:
        aiglabel.label(target, None, record(), in_place=True, batch=batch)
    assert calls == [os.POSIX_FADV_DONTNEED]
    calls.clear()
    aiglabel.label(target, tmp_path / "copy.jpg", record())  # copy mode: no write-back kick
    assert calls == []


def test_new_files_get_the_umask_without_changing_it(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "out.bin") as out:
            out.write(b"x")
        assert os.umask(0o027) == 0o027  # still what we set: nothing flipped it meanwhile
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o640


def test_cold_registry_identifies_every_fixture_from_many_threads() -> None:
    # A fresh interpreter, so codec modules are imported by the racing threads themselves.
    script = """
import sys, threading
from pathlib import Path
import aiglabel
files = [Path(p) for p in sys.argv[1:]]
found = {}
def one(path):
    try:
        found[path] = aiglabel.read_labels(path) is not None
    except aiglabel.UnsupportedFormatError as exc:
        found[path] = f"unsupported: {exc}"
    except aiglabel.AiglabelError:
        found[path] = True
threads = [threading.Thread(target=one, args=(p,)) for p in files]
for t in threads: t.start()
for t in threads: t.join()
bad = [f"{p}: {v}" for p, v in found.items() if v is not True]
print("\\n".join(bad)); sys.exit(1 if bad else 0)
"""
    files = [str(p) for p in fixture_files()]
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", script, *files], capture_output=True,
                              text=True, check=False, cwd=ROOT)
        assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the command line ------------------------------------------------------------------------


def _tree(root: Path) -> list[Path]:
    made = []
    for i in range(6):
        made.append(make_jpeg(root / f"d{i % 3}" / f"j{i}.jpg", color=("red", "green")[i % 2]))
        made.append(make_png(root / f"d{i % 3}" / "sub" / f"p{i}.png"))
    (root / "d1" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")  # truncated
    (root / "d2" / "notes.bin").write_bytes(b"\x00\x01 not a medium")
    return made


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_label_jobs_gives_the_same_results(tmp_path: Path, jobs: str) -> None:
    src = tmp_path / "src"
    made = _tree(src)
    out = tmp_path / "out"
    code, stdout, stderr = invoke("label", src, "-o", out, "--producer", PRODUCER, "-v",
                                  "--workers", jobs)
    assert code == 1  # the truncated JPEG
    assert stderr.count("aiglabel: error: ") == 1
    assert "broken.jpg" in stderr
    assert "labelled 12, skipped 1, failed 1" in stderr
    for path in made:
        labelled = out / path.relative_to(src)
        assert only_record(labelled).content_producer == PRODUCER
        assert aiglabel.essence_digest(labelled) == aiglabel.essence_digest(path)
    assert not (out / "d1" / "broken.jpg").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".aiglabel-tmp")]
    # Success lines come in the order the files were found, whatever finished first: the
    # same order as a run with one worker.
    shown = [line.split(" -> ")[0] for line in stdout.splitlines() if " -> " in line]
    assert len(shown) == 12
    serial = tmp_path / "serial"
    _, serial_out, _ = invoke("label", src, "-o", serial, "--producer", PRODUCER, "-v",
                              "--workers", "1")
    assert shown == [line.split(" -> ")[0] for line in serial_out.splitlines() if " -> " in line]
    assert sorted(p.relative_to(serial) for p in serial.rglob("*")) == sorted(
        p.relative_to(out) for p in out.rglob("*"))


def test_label_in_place_with_jobs(tmp_path: Path) -> None:
    made = _tree(tmp_path)
    before = {p: aiglabel.essence_digest(p) for p in made}
    broken = (tmp_path / "d1" / "broken.jpg").read_bytes()
    code, _, stderr = invoke("label", tmp_path, "--in-place", "--producer", PRODUCER,
                             "-j", "3")
    assert code == 1
    assert "labelled 12, skipped 1, failed 1" in stderr
    for path in made:
        assert only_record(path).content_producer == PRODUCER
        assert aiglabel.essence_digest(path) == before[path]
    assert (tmp_path / "d1" / "broken.jpg").read_bytes() == broken
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".aiglabel-tmp")]


def test_verbose_lines_follow_input_order(tmp_path: Path) -> None:
    files = [make_jpeg(tmp_path / f"{i:02d}.jpg", size=8 + i) for i in range(16)]
    code, stdout, _ = invoke("label", *files, "-o", tmp_path / "out", "--producer", PRODUCER,
                             "-v", "-j", "4")
    assert code == 0
    shown = [line.split(" -> ")[0] for line in stdout.splitlines() if " -> " in line]
    assert shown == [str(f) for f in files]


def test_propagate_with_jobs(tmp_path: Path) -> None:
    files = [make_jpeg(tmp_path / "in" / f"{i}.jpg") for i in range(6)]
    invoke("label", tmp_path / "in", "--in-place", "--producer", PRODUCER)
    code, _, stderr = invoke("propagate", tmp_path / "in", "--in-place", "--platform",
                             PRODUCER, "-j", "3")
    assert code == 0, stderr
    for path in files:
        assert only_record(path).content_propagator == PRODUCER


def test_workers_must_not_be_negative(tmp_path: Path) -> None:
    src = make_jpeg(tmp_path / "a.jpg")
    code, _, stderr = invoke("label", src, "-o", tmp_path / "out", "--producer", PRODUCER,
                             "-j", "-1")
    assert code == 2
    assert "--workers" in stderr


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_inputs_sharing_an_output_path_fail_after_the_first(tmp_path: Path, jobs: str) -> None:
    first = make_jpeg(tmp_path / "a" / "x.jpg", color="red")
    second = make_jpeg(tmp_path / "b" / "x.jpg", color="green")
    out = tmp_path / "out"
    code, _, stderr = invoke("label", first, second, "-o", out, "--producer", PRODUCER,
                             "--overwrite", "-j", jobs)
    assert code == 1
    assert stderr.count("aiglabel: error: ") == 1
    assert f"aiglabel: error: {second}: {out / 'x.jpg'}: same output path as {first}" in stderr
    assert aiglabel.essence_digest(out / "x.jpg") == aiglabel.essence_digest(first)
