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
from typer.testing import CliRunner

import aiglabel
import aiglabel.cli.label
from aiglabel._io import DurableBatch, atomic_output
from aiglabel.cli._common import Job
from aiglabel.cli._parallel import MAX_DEFAULT_WORKERS, JobRunner, default_workers, pick_workers
from aiglabel.cli.main import app
from aiglabel.errors import CorruptFileError

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = "001191110108MA01ABCD842PLAT"


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


def _plain_copies(folder: Path, count: int) -> list[Path]:
    targets = []
    for i in range(count):
        target = folder / f"{i:02d}.jpg"
        shutil.copyfile(MEDIA / "jpeg" / "plain.jpg", target)
        targets.append(target)
    return targets


def test_durable_batch_takes_files_from_many_threads(tmp_path: Path) -> None:
    targets = _plain_copies(tmp_path, 40)
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


def test_new_files_get_the_umask_without_changing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.umask() sets the process-wide umask; reading it that way races with other threads
    # creating files. The kernel applies the umask to the 0o666 create mode instead.
    old = os.umask(0o027)
    calls: list[int] = []
    real_umask = os.umask

    def spy(mask: int) -> int:
        calls.append(mask)
        return real_umask(mask)

    monkeypatch.setattr(os, "umask", spy)
    try:
        with atomic_output(tmp_path / "out.bin") as out:
            out.write(b"x")
        aiglabel.label(MEDIA / "jpeg" / "plain.jpg", tmp_path / "out.jpg", record())
    finally:
        real_umask(old)
    assert calls == []
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o640
    # A labelled copy takes the source's permission bits, as before.
    source_mode = (MEDIA / "jpeg" / "plain.jpg").stat().st_mode & 0o777
    assert (tmp_path / "out.jpg").stat().st_mode & 0o777 == source_mode


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(aiglabel.CorruptFileError, match="not a regular file"):
        aiglabel.label(fifo, tmp_path / "out.jpg", record())
    from aiglabel.provenance.c2pa_read import read_c2pa

    with pytest.raises(aiglabel.CorruptFileError, match="not a regular file"):
        read_c2pa(fifo)  # the C2PA reader opens media files the same way
    assert time.monotonic() - started < 5
    code, _, stderr = invoke("label", fifo, "-o", tmp_path / "out", "--producer", PRODUCER)
    assert code == 1
    assert f"aiglabel: error: {fifo}: not a regular file" in stderr


def test_quiet_warnings_blocks_on_threads_restore_the_filters() -> None:
    import random
    import warnings

    from aiglabel.verify._quiet import quiet_warnings

    before = list(warnings.filters)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            with quiet_warnings():
                time.sleep(rng.random() / 2000)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert warnings.filters == before


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
                                  "-j", jobs)
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


def test_verbose_lines_follow_input_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [make_jpeg(tmp_path / f"{i:02d}.jpg") for i in range(12)]
    real_label = aiglabel.label
    finished: list[str] = []

    def slow_early(src: Path, *args: object, **kwargs: object) -> object:
        time.sleep(0.01 * (12 - int(Path(src).stem)))  # earlier files finish later
        result = real_label(src, *args, **kwargs)  # type: ignore[arg-type]
        finished.append(str(src))
        return result

    monkeypatch.setattr("aiglabel.cli.label.label", slow_early)
    code, stdout, _ = invoke("label", *files, "-o", tmp_path / "out", "--producer", PRODUCER,
                             "-v", "-j", "4")
    assert code == 0
    assert finished != [str(f) for f in files]  # the workers did finish out of order
    shown = [line.split(" -> ")[0] for line in stdout.splitlines() if " -> " in line]
    assert shown == [str(f) for f in files]


def test_propagate_with_workers(tmp_path: Path) -> None:
    files = [make_jpeg(tmp_path / "in" / f"{i}.jpg") for i in range(6)]
    invoke("label", tmp_path / "in", "--in-place", "--producer", PRODUCER)
    before = {path: only_record(path) for path in files}
    code, _, stderr = invoke("propagate", tmp_path / "in", "--in-place", "--platform",
                             PLATFORM, "-j", "3")
    assert code == 0, stderr
    assert "written 6, skipped 0, failed 0" in stderr
    for path in files:
        after = only_record(path)
        assert after.content_propagator == PLATFORM
        assert after.propagate_id != before[path].propagate_id
        assert after.produce_id == before[path].produce_id
    assert not [p for p in (tmp_path / "in").iterdir() if p.name.endswith(".aiglabel-tmp")]


def test_workers_must_not_be_negative(tmp_path: Path) -> None:
    src = make_jpeg(tmp_path / "a.jpg")
    code, _, stderr = invoke("label", src, "-o", tmp_path / "out", "--producer", PRODUCER,
                             "-j", "-1")
    assert code == 2
    assert "--workers" in stderr


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_inputs_sharing_an_output_path_behave_as_with_one_worker(
    tmp_path: Path, jobs: str
) -> None:
    # Same-named unrecognised files in two folders are skipped, not "clashes".
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "Thumbs.db").write_bytes(b"\x00\x01\x02 not media")
    code, _, stderr = invoke("label", tmp_path / "a", tmp_path / "b", "-o", tmp_path / "o1",
                             "--producer", PRODUCER, "-j", jobs)
    assert code == 0, stderr
    assert "labelled 0, skipped 2, failed 0" in stderr

    # The first input cannot be labelled: the second one writes the output.
    broken = tmp_path / "c" / "x.jpg"
    broken.parent.mkdir()
    broken.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    good = make_jpeg(tmp_path / "d" / "x.jpg", color="green")
    code, _, stderr = invoke("label", broken, good, "-o", tmp_path / "o2", "--producer",
                             PRODUCER, "-j", jobs)
    assert code == 1
    assert stderr.count("aiglabel: error: ") == 1
    assert str(broken) in stderr
    assert aiglabel.essence_digest(tmp_path / "o2" / "x.jpg") == aiglabel.essence_digest(good)

    # Both can: the first writes it, the second finds it there (or replaces it with
    # --overwrite), whichever worker would have been faster.
    first = make_jpeg(tmp_path / "e" / "x.jpg", color="red")
    for extra, winner in (((), first), (("--overwrite",), good)):
        out = tmp_path / f"o3{len(extra)}"
        code, _, stderr = invoke("label", first, good, "-o", out, "--producer", PRODUCER,
                                 "-j", jobs, *extra)
        if extra:
            assert code == 0, stderr
        else:
            assert code == 1
            assert f"aiglabel: error: {good}: {out / 'x.jpg'}: output exists" in stderr
        assert aiglabel.essence_digest(out / "x.jpg") == aiglabel.essence_digest(winner)


def test_runner_chains_jobs_with_one_key() -> None:
    jobs = _jobs(12)
    active: dict[str, int] = {}
    overlaps: list[str] = []
    order: dict[str, list[str]] = {}
    lock = threading.Lock()

    def key(job: Job) -> str | None:
        n = int(job.src.name[1:])
        return None if n % 3 == 2 else f"k{n % 3}"

    def work(job: Job) -> None:
        k = key(job)
        with lock:
            if k is not None:
                if active.get(k):
                    overlaps.append(job.src.name)
                active[k] = active.get(k, 0) + 1
                order.setdefault(k, []).append(job.src.name)
        time.sleep(0.005)
        with lock:
            if k is not None:
                active[k] -= 1

    with JobRunner(4) as runner:
        names = [job.src.name for job, _ in runner.run(jobs, work, key=key)]
    assert names == [f"f{i}" for i in range(12)]
    assert overlaps == []
    assert order["k0"] == ["f0", "f3", "f6", "f9"]
    assert order["k1"] == ["f1", "f4", "f7", "f10"]


def test_in_place_names_one_file_once(tmp_path: Path) -> None:
    real = make_jpeg(tmp_path / "a" / "x.jpg")
    os.link(real, tmp_path / "a" / "hard.jpg")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "soft.jpg").symlink_to(real)
    code, _, stderr = invoke("label", real, tmp_path / "a" / "hard.jpg", tmp_path / "b" /
                             "soft.jpg", "--in-place", "--producer", PRODUCER, "-j", "3")
    assert code == 0, stderr
    assert "labelled 1, skipped 0, failed 0" in stderr
    assert only_record(real).content_producer == PRODUCER


def test_ctrl_c_leaves_in_place_inputs_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [make_jpeg(tmp_path / f"{i:02d}.jpg", size=64) for i in range(12)]
    before = {p: p.read_bytes() for p in files}
    real_report = aiglabel.cli.label.report
    seen = 0

    def interrupt(*args: object) -> None:
        nonlocal seen
        seen += 1
        if seen == 2:
            raise KeyboardInterrupt
        real_report(*args)  # type: ignore[arg-type]

    monkeypatch.setattr("aiglabel.cli.label.report", interrupt)
    result = CliRunner().invoke(app, ["label", *map(str, files), "--in-place", "--producer",
                                      PRODUCER, "-j", "4"])
    assert result.exit_code != 0
    # Nothing was committed (the batch holds 64 files), so every input is as it was, and the
    # workers still running at the interrupt removed their temporary files.
    assert {p: p.read_bytes() for p in files} == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".aiglabel-tmp")]


def test_a_closed_batch_refuses_late_files(tmp_path: Path) -> None:
    target = tmp_path / "a.jpg"
    shutil.copyfile(MEDIA / "jpeg" / "plain.jpg", target)
    original = target.read_bytes()
    for close in ("abort", "exit"):
        batch = DurableBatch()
        if close == "abort":
            batch.abort()
        else:
            with batch:
                pass
        assert batch.closed
        with pytest.raises(aiglabel.OutputError, match="batch was closed"):
            aiglabel.label(target, None, record(), in_place=True, batch=batch)
        assert target.read_bytes() == original
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".aiglabel-tmp")]


def test_interrupt_aborts_the_batch_before_running_workers_finish(tmp_path: Path) -> None:
    # With one file per commit, a worker still running at the interrupt would replace its
    # input as soon as it finished; aborting the batch first makes it drop its file instead.
    targets = _plain_copies(tmp_path, 4)
    original = targets[0].read_bytes()
    batch = DurableBatch(max_files=1)

    def work(job: Job) -> None:
        if job.src != targets[0]:
            time.sleep(0.2)  # still running when the first result is reported
        aiglabel.label(job.src, None, record(), in_place=True, batch=batch)

    jobs = [Job(t, Path(t.name), explicit=True) for t in targets]

    def interrupted_run() -> None:
        with batch, JobRunner(4, on_abort=batch.abort) as runner:
            for _job, outcome in runner.run(jobs, work):
                assert outcome.status == "ok"
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_run()
    assert only_record(targets[0]).produce_id == "id-1"  # committed before the interrupt
    for target in targets[1:]:
        assert target.read_bytes() == original
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".aiglabel-tmp")]
