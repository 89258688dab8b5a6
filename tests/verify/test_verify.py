"""The verifier pipeline end to end: real samples, labelled files, hostile input, limits."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, PRODUCER, REAL, fixture_files, fixture_id, record

import aiglabel
from aiglabel.errors import NothingToLabelError
from aiglabel.verify import (
    Claim,
    Evidence,
    EvidenceKind,
    Verdict,
    VerifyOptions,
    default_detectors,
    propagate,
    verify,
)
from aiglabel.verify.detectors import ImplicitLabelDetector

if TYPE_CHECKING:
    from pathlib import Path

PLATFORM = "001191110108MA01ABCD842PLAT"

REAL_VERDICTS = {
    "jimeng_cap_B.png": Verdict.CONFIRMED,
    "automatic1111_cropped.png": Verdict.SUSPECTED,
    "img2img_cropped.png": Verdict.SUSPECTED,
    "CA.jpg": Verdict.NONE,
}


@pytest.mark.parametrize("name", sorted(REAL_VERDICTS))
def test_real_sample_verdicts(name: str) -> None:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    report = verify(path)
    assert report.errors == []
    assert report.verdict is REAL_VERDICTS[name], report.to_dict()
    if report.verdict is Verdict.SUSPECTED:
        assert any(e.kind is EvidenceKind.TRACE for e in report.evidence)
        assert report.label_to_write == "3"


def test_real_mov_is_a_clean_report() -> None:
    path = REAL / "c.mov"
    if not path.exists():
        pytest.skip(f"{path} not present")
    report = verify(path)
    assert report.verdict is Verdict.NONE
    if report.format is None:  # until a video codec exists: a clean unsupported report
        assert report.status == "inconclusive"
        assert "unsupported format" in report.errors[0]
    else:
        assert report.errors == []


def test_jimeng_report_carries_the_label() -> None:
    path = REAL / "jimeng_cap_B.png"
    if not path.exists():
        pytest.skip(f"{path} not present")
    data = verify(path).to_dict()
    assert {"path", "format", "verdict", "evidence", "findings"} <= data.keys()
    label = data["evidence"][0]
    assert label["kind"] == "implicit-metadata"
    assert label["record"]["Label"] == "1"
    assert label["contributes"] == "confirmed"
    assert data["notice"] == "内容由AI生成"


@pytest.mark.parametrize("path", fixture_files(), ids=fixture_id)
def test_label_then_verify_then_propagate(path: Path, tmp_path: Path) -> None:
    labelled = tmp_path / f"labelled{path.suffix}"
    rec = record("gen-42")
    aiglabel.label(path, labelled, rec)
    report = verify(labelled)
    assert report.verdict is Verdict.CONFIRMED, report.to_dict()
    assert report.status in ("compliant", "noncompliant")

    stored = tmp_path / f"stored{path.suffix}"
    result = propagate(labelled, stored, platform=PLATFORM, propagate_id="plat-7")
    assert not result.created
    labels = aiglabel.read_labels(stored)
    assert len(labels) == 1
    after = labels[0].record
    assert after is not None
    assert (after.label, after.content_producer, after.produce_id, after.reserved_code1) == (
        rec.label, rec.content_producer, rec.produce_id, rec.reserved_code1)
    assert (after.content_propagator, after.propagate_id, after.reserved_code2) == (
        PLATFORM, "plat-7", "")
    assert verify(stored).verdict is Verdict.CONFIRMED
    assert aiglabel.essence_digest(stored) == aiglabel.essence_digest(path)


def test_propagate_creates_label_2_or_3_and_refuses_none(tmp_path: Path) -> None:
    plain = MEDIA / "png" / "plain.png"
    with pytest.raises(NothingToLabelError, match="refusing to invent a label"):
        propagate(plain, tmp_path / "x.png", platform=PLATFORM)
    assert not (tmp_path / "x.png").exists()

    declared = propagate(plain, tmp_path / "d.png", platform=PLATFORM, declared=True)
    assert declared.created
    assert declared.record.label == "2"
    assert (declared.record.content_producer, declared.record.produce_id) == ("", "")
    again = verify(tmp_path / "d.png")
    assert again.verdict is Verdict.POSSIBLY
    assert again.label_to_write is None  # the platform's own label is kept next time


def test_propagate_in_place_keeps_one_label(tmp_path: Path) -> None:
    src = tmp_path / "old.png"
    src.write_bytes((MEDIA / "png" / "old-label.png").read_bytes())
    before = aiglabel.read_labels(src)[0].record
    propagate(src, platform=PLATFORM, in_place=True)
    propagate(src, platform=PLATFORM, in_place=True)
    labels = aiglabel.read_labels(src)
    assert len(labels) == 1
    assert labels[0].record is not None
    assert before is not None
    assert labels[0].record.produce_id == before.produce_id
    assert labels[0].record.content_propagator == PLATFORM


def _boxes_nested(depth: int) -> bytes:
    inner = b""
    for _ in range(depth):
        inner = struct.pack(">I4s", 8 + len(inner), b"meta") + inner
    return struct.pack(">I4s4sI", 16, b"ftyp", b"heic", 0) + inner


HOSTILE = {
    "zero-byte.png": b"",
    "truncated.png": (MEDIA / "png" / "plain.png").read_bytes()[:40],
    "garbage.jpg": b"\xff\xd8\xff" + bytes(range(256)) * 4,
    "huge-chunk.png": b"\x89PNG\r\n\x1a\n" + struct.pack(">I4s", 0x7FFFFFF0, b"iTXt") + b"x" * 64,
    "huge-segment.jpg": b"\xff\xd8\xff\xe1\xff\xff" + b"Exif\x00\x00" + b"\x00" * 32,
    "deep-boxes.heic": _boxes_nested(5000),
    "binary.bin": bytes(range(256)) * 16,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_gives_a_report(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    report = verify(path)
    assert report.verdict is Verdict.NONE
    assert report.errors or report.warnings or report.format is not None
    for line in report.errors:
        assert "internal error" not in line
        assert "\n" not in line
    data = report.to_dict()
    assert data["status"] in ("inconclusive", "not_found", "noncompliant")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "no such file" in verify(tmp_path / "absent.png").errors[0]
    assert "directory" in verify(tmp_path).errors[0]


def test_time_limit_is_enforced() -> None:
    report = verify(MEDIA / "png" / "old-label.png", options=VerifyOptions(max_seconds=0))
    assert report.status == "inconclusive"
    assert "time limit" in report.errors[0]


def test_declaration_counts_even_for_unsupported_files(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)))
    report = verify(path, declared=True)
    assert report.verdict is Verdict.POSSIBLY
    assert report.format is None
    assert report.errors


class _Fixed:
    """A detector added from outside the package: the pipeline needs no change."""

    name = "test-watermark"
    ceiling = Verdict.SUSPECTED
    expensive = True

    def __init__(self) -> None:
        self.calls = 0

    def applies(self, ctx: object) -> bool:
        return True

    def detect(self, ctx: object) -> list[Evidence]:
        self.calls += 1
        return [Evidence(EvidenceKind.WATERMARK, self.name, Claim.AI_GENERATED, "mark found")]


def test_pluggable_detector_and_expensive_skip(tmp_path: Path) -> None:
    extra = _Fixed()
    plain = verify(MEDIA / "png" / "plain.png", detectors=[*default_detectors(), extra])
    assert plain.verdict is Verdict.SUSPECTED
    assert extra.calls == 1
    labelled = tmp_path / "l.png"
    aiglabel.label(MEDIA / "png" / "plain.png", labelled, record())
    confirmed = verify(labelled, detectors=[ImplicitLabelDetector(), extra])
    assert confirmed.verdict is Verdict.CONFIRMED
    assert extra.calls == 1  # expensive and could not change the verdict: skipped


def test_bytes_input_and_producer_code() -> None:
    data = aiglabel.label_bytes((MEDIA / "png" / "plain.png").read_bytes(), record())
    report = verify(data, name="upload.png")
    assert report.verdict is Verdict.CONFIRMED
    assert report.evidence[0].record is not None
    assert report.evidence[0].record.content_producer == PRODUCER


def _png_with_xmp(packet: bytes) -> bytes:
    import zlib

    png = (MEDIA / "png" / "plain.png").read_bytes()
    cut = png.index(b"IDAT") - 4
    data = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + data))
    return png[:cut] + chunk + png[cut:]


@pytest.mark.parametrize(
    "packet",
    [
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b"<a>" * 100_000 + b"</a>" * 100_000
        + b"</x:xmpmeta>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&c;</x:xmpmeta>',
    ],
    ids=["deep-nesting", "entity-expansion"],
)
def test_hostile_xmp_is_harmless(packet: bytes) -> None:
    report = verify(_png_with_xmp(packet), name="x.png")
    assert report.verdict is Verdict.NONE
    assert not any("internal error" in e for e in report.errors)
    assert report.seconds < 5
