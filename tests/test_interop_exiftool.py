"""Interop with ExifTool, an independent reader and writer (architecture §10).

scripts/test.sh installs ExifTool (Debian libimage-exiftool-perl), so these run in CI.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections import Counter
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
# OOXML: the ZIP group describes archive entries (name, CRC, sizes, flags), and a label write
# rewrites or adds package parts on purpose; the document's properties (XML group) are compared.
VOLATILE_GROUPS = {"File", "System", "ExifTool", "XMP-TC260", "Composite", "XMP-x", "ZIP"}
# WebP: the VP8X flags gain the XMP bit on purpose; GIF: extensions need version 89a, so a
# GIF87a header is upgraded.
# HEIF: the meta box grows and the XMP item lives in its own appended mdat, so ExifTool's
# report of where the (first) media data sits moves.
# RF64: the 64-bit RIFF size grows with the AIGC chunk. FLV: onMetaData's filesize and the
# keyframe byte positions describe the file's layout and are updated on purpose.
VOLATILE_TAGS = {"RIFF:WebP_Flags", "GIF:GIFVersion", "QuickTime:MediaDataOffset",
                 "QuickTime:MediaDataSize", "RIFF:RIFFSize64", "Flash:FileSizeBytes",
                 "Flash:KeyFramePositions", "Flash:Lastkeyframelocation"}
# Tags a label write adds on purpose: the mdta handler of the new MP4 meta box, and the vendor
# string of a Vorbis comment block created where a FLAC file had none.
EXPECTED_ADDITIONS = {("QuickTime:HandlerType", "'mdta'"), ("Vorbis:Vendor", "'aiglabel'")}
# The image guide (TC260-PG-20259A, rules §C.1) stores TIFF tag 700 with field type 7;
# ExifTool's validator prefers type 1 (BYTE) and says so. Both types are read everywhere.
ACCEPTED_WARNINGS = {
    "Non-standard format (undef) for IFD0 0x02bc ApplicationNotes",
    # MP4: the guide's moov/udta/meta (mdta handler) goes beside an existing iTunes (mdir)
    # meta in udta; ExifTool's validator names the second meta box a duplicate.
    "Duplicate tag 'meta' at MOV-Movie-UserData",
}
# Codecs whose label is the TC260 XMP property (the image guide); ExifTool can also write it.
XMP_CODECS = {"jpeg", "png", "webp", "tiff", "gif", "heif"}


def is_label_value(value: object) -> bool:
    """An old AIGC label in another carrier, removed on purpose (GB 6.1 c)."""
    return isinstance(value, str) and ("AIGC" in value or '"Label"' in value)


def run_exiftool(exiftool: str, *args: str | Path, groups: str = "-G1") -> list[dict[str, object]]:
    proc = subprocess.run(
        [exiftool, "-config", str(EXIFTOOL_CONFIG), "-j", groups, *map(str, args)],
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


def exiftool_label(row: dict[str, object]) -> str | None:
    """The label text ExifTool reports in any tag: XMP-TC260:AIGC for images, Keys:AIGC (MP4),
    ID3 UserDefinedText "(AIGC) ..." (MP3), Vorbis/Matroska Aigc, Flash AIGC, and the RIFF
    AIGC chunk of WAV/AVI as Unknown_AIGC (needs -U; binary, so -b gives base64)."""
    for key, value in row.items():
        text = str(value)
        if text.startswith("base64:"):
            text = base64.b64decode(text[7:]).decode("utf-8", "replace")
        text = text.rstrip("\x00").removeprefix("(AIGC) ")
        tag = key.split(":")[-1].lower()
        if tag.endswith(("aigc", "userdefinedtext")) and text.startswith("{"):
            return text
        # EPUB: ExifTool lists the package's <meta> elements as XML:Meta (EPUB 3 element text)
        # and XML:MetaContent (EPUB 2 content attribute), next to MetaProperty / MetaName.
        if tag in ("meta", "metacontent") and text.startswith('{"Label"'):
            return text
    return None


def test_exiftool_reads_the_label_from_every_file_we_write(
    exiftool: str, tmp_path: Path
) -> None:
    copies = labelled_copies(tmp_path)
    # -G1:4 keeps duplicate tag names apart (EPUB: every <meta> is XML:Meta), so JSON keeps all.
    rows = run_exiftool(exiftool, "-a", "-U", "-b", "-ee", *copies.values(), groups="-G1:4")
    by_file = {Path(str(r["SourceFile"])).name: r for r in rows}
    for src, dst in copies.items():
        if src.parent.name == "markdown":
            continue  # ExifTool reads .md as plain text (TXT): it has no front-matter reader
        row = by_file[dst.name]
        assert exiftool_label(row) == record(f"interop-{src.stem}").to_json(), (
            fixture_id(src), {k: v for k, v in row.items() if "AIGC" in k.upper()})
        if src.parent.name in XMP_CODECS:
            assert row.get("XMP-TC260:AIGC") == record(f"interop-{src.stem}").to_json()


def by_name(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {Path(str(r["SourceFile"])).name: r for r in rows}


def _comparable(row: dict[str, object]) -> Counter[tuple[str, str]]:
    """The tags as a multiset of (group:tag, value), copy numbers dropped (-G1:4 numbers
    duplicates by position, which shifts when a tag is inserted)."""
    out: Counter[tuple[str, str]] = Counter()
    for k, v in row.items():
        if ":" not in k or is_label_value(v):
            continue
        parts = [p for p in k.split(":") if not p.startswith("Copy")]
        key = ":".join(parts)
        if parts[0] in VOLATILE_GROUPS or key in VOLATILE_TAGS:
            continue
        out[(key, repr(v))] += 1
    return out


def test_exiftool_sees_all_other_metadata_unchanged(exiftool: str, tmp_path: Path) -> None:
    copies = labelled_copies(tmp_path)
    # -G1:4 lists duplicate tags separately instead of letting JSON keep only the last one.
    # -ee: ExifTool 12.x stops a Matroska scan at the first Cluster unless asked to go on, and
    # a Tags element after the Clusters is where ffmpeg (and an appending write) puts it.
    before = by_name(run_exiftool(exiftool, "-a", "-n", "-ee", *FIXTURES, groups="-G1:4"))
    after = by_name(run_exiftool(exiftool, "-a", "-n", "-ee", *copies.values(),
                                 groups="-G1:4"))
    problems = []
    for src, dst in copies.items():
        old = _comparable(before.get(src.name, {}))
        new = _comparable(after[dst.name])
        lost = old - new
        # A second copy of a tag with the same value is not a change (WebP: a simple file's
        # VP8L size is now also stated by the VP8X canvas size).
        gained = Counter({k: n for k, n in (new - old).items()
                          if k not in EXPECTED_ADDITIONS and k not in old})
        if lost or gained:
            problems.append((fixture_id(src), dict(lost), dict(gained)))
    assert problems == []


def test_exiftool_validate_reports_no_new_warnings(exiftool: str, tmp_path: Path) -> None:
    copies = labelled_copies(tmp_path)
    for src, dst in copies.items():
        (old,) = run_exiftool(exiftool, "-validate", "-warning", "-a", src)
        (new,) = run_exiftool(exiftool, "-validate", "-warning", "-a", dst)
        # Numbers are masked: RF64's "Incorrect RIFF chunk size N vs. 4294967304" (ExifTool
        # reads the 32-bit placeholder) is there before and after, with the file size as N.
        old_w = {re.sub(r"\d+", "N", str(v)) for k, v in old.items()
                 if k.endswith(("Warning", "Error"))}
        new_w = {re.sub(r"\d+", "N", str(v)) for k, v in new.items()
                 if k.endswith(("Warning", "Error"))}
        accepted = {re.sub(r"\d+", "N", w) for w in ACCEPTED_WARNINGS}
        assert new_w - accepted <= old_w, (fixture_id(src), new_w - old_w)


@pytest.mark.parametrize(
    "path",
    [p for p in FIXTURES if p.stem.startswith("plain") and p.parent.name in XMP_CODECS],
    ids=[fixture_id(p) for p in FIXTURES
         if p.stem.startswith("plain") and p.parent.name in XMP_CODECS],
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
