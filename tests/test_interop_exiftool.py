"""Interop with ExifTool, an independent reader and writer (architecture §10).

scripts/test.sh installs ExifTool (Debian libimage-exiftool-perl), so these run in CI.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.conftest import (
    EXIFTOOL_CONFIG,
    REAL,
    decoded_frames,
    fixture_files,
    fixture_id,
    record,
)

import aiglabel

FIXTURES = fixture_files()
# Groups that legitimately differ after a label write: file-system facts, ExifTool's own
# bookkeeping, the label itself, and the XMP toolkit marker.
VOLATILE_GROUPS = {"File", "System", "ExifTool", "XMP-TC260", "Composite", "XMP-x"}
# WebP: the VP8X flags gain the XMP bit on purpose; GIF: extensions need version 89a, so a
# GIF87a header is upgraded.
# HEIF: the meta box grows and the XMP item lives in its own appended mdat, so ExifTool's
# report of where the (first) media data sits moves.
VOLATILE_TAGS = {"RIFF:WebP_Flags", "GIF:GIFVersion", "QuickTime:MediaDataOffset",
                 "QuickTime:MediaDataSize"}
# The image guide (TC260-PG-20259A, rules §C.1) stores TIFF tag 700 with field type 7;
# ExifTool's validator prefers type 1 (BYTE) and says so. Both types are read everywhere.
ACCEPTED_WARNINGS = {"Non-standard format (undef) for IFD0 0x02bc ApplicationNotes"}


def is_label_value(value: object) -> bool:
    """An old AIGC label in another carrier, removed on purpose (GB 6.1 c)."""
    return isinstance(value, str) and ("AIGC" in value or '"Label"' in value)


def run_exiftool(exiftool: str, *args: str | Path) -> list[dict[str, object]]:
    proc = subprocess.run(
        [exiftool, "-config", str(EXIFTOOL_CONFIG), "-j", "-G1", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.stdout, proc.stderr
    result: list[dict[str, object]] = json.loads(proc.stdout)
    return result


def labelled_copies(tmp_path: Path) -> dict[Path, Path]:
    out: dict[Path, Path] = {}
    for path in FIXTURES:
        dst = tmp_path / f"{path.parent.name}-{path.name}"
        aiglabel.label(path, dst, record(f"interop-{path.stem}"))
        out[path] = dst
    return out


def test_exiftool_reads_tc260_aigc_from_every_file_we_write(
    exiftool: str, tmp_path: Path
) -> None:
    copies = labelled_copies(tmp_path)
    rows = run_exiftool(exiftool, "-XMP-TC260:AIGC", *copies.values())
    by_file = {Path(str(r["SourceFile"])).name: r for r in rows}
    for src, dst in copies.items():
        row = by_file[dst.name]
        assert row.get("XMP-TC260:AIGC") == record(f"interop-{src.stem}").to_json(), (
            fixture_id(src),
            row,
        )


def by_name(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {Path(str(r["SourceFile"])).name: r for r in rows}


def _comparable(row: dict[str, object]) -> dict[str, object]:
    return {
        k: v
        for k, v in row.items()
        if ":" in k
        and k.split(":", 1)[0] not in VOLATILE_GROUPS
        and k not in VOLATILE_TAGS
        and not is_label_value(v)
    }


def test_exiftool_sees_all_other_metadata_unchanged(exiftool: str, tmp_path: Path) -> None:
    copies = labelled_copies(tmp_path)
    before = by_name(run_exiftool(exiftool, "-a", "-n", *FIXTURES))
    after = by_name(run_exiftool(exiftool, "-a", "-n", *copies.values()))
    problems = []
    for src, dst in copies.items():
        old = _comparable(before[src.name] if src.name in before else {})
        new = _comparable(after[dst.name])
        changed = {k: (old.get(k), new.get(k)) for k in old.keys() | new.keys()
                   if old.get(k) != new.get(k)}
        if changed:
            problems.append((fixture_id(src), changed))
    assert problems == []


def test_exiftool_validate_reports_no_new_warnings(exiftool: str, tmp_path: Path) -> None:
    copies = labelled_copies(tmp_path)
    for src, dst in copies.items():
        (old,) = run_exiftool(exiftool, "-validate", "-warning", "-a", src)
        (new,) = run_exiftool(exiftool, "-validate", "-warning", "-a", dst)
        old_w = {str(v) for k, v in old.items() if k.endswith(("Warning", "Error"))}
        new_w = {str(v) for k, v in new.items() if k.endswith(("Warning", "Error"))}
        assert new_w - ACCEPTED_WARNINGS <= old_w, (fixture_id(src), new_w - old_w)


@pytest.mark.parametrize(
    "path",
    [p for p in FIXTURES if p.stem.startswith("plain")],
    ids=[fixture_id(p) for p in FIXTURES if p.stem.startswith("plain")],
)
def test_we_read_labels_exiftool_wrote(exiftool: str, path: Path, tmp_path: Path) -> None:
    rec = record("written-by-exiftool")
    dst = tmp_path / path.name
    proc = subprocess.run(
        [exiftool, "-config", str(EXIFTOOL_CONFIG), f"-XMP-TC260:AIGC={rec.to_json()}",
         "-o", str(dst), str(path)],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    inspection = aiglabel.inspect(dst)
    assert [lb.record for lb in inspection.labels] == [rec]
    assert inspection.status == "compliant"
    assert decoded_frames(dst.read_bytes()) == decoded_frames(path.read_bytes())


def test_real_jimeng_sample(exiftool: str) -> None:
    sample = REAL / "jimeng_cap_B.png"
    if not sample.exists():
        pytest.skip(f"shared real-world sample missing: {sample}")
    (found,) = aiglabel.read_labels(sample)
    assert found.carrier == "png:iTXt:xmp"
    assert found.record is not None
    assert found.record.label == "1"
    assert found.record.content_producer == "00119144030008867405X210001"
    assert found.record.content_propagator == "00119144030008867405X220001"
    assert "/" in found.record.produce_id
    (row,) = run_exiftool(exiftool, "-XMP-TC260:AIGC", sample)
    assert json.loads(str(row["XMP-TC260:AIGC"])) == found.record.to_dict()
