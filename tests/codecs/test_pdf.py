"""PDF codec: Info /AIGC mirrored in XMP TC260:AIGC through incremental updates; the original
bytes stay a prefix."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

import pypdf
import pytest
from tests.conftest import EXIFTOOL_CONFIG, MEDIA, CodecHarness, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs import _pdfupdate
from aiglabel.codecs.base import Confidence
from aiglabel.codecs.pdf import CARRIER, XMP_CARRIER, PdfCodec
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
)

if TYPE_CHECKING:
    from pathlib import Path

PDF = CodecHarness("pdf")
FIXTURES = sorted((MEDIA / "pdf").glob("*.pdf"))
OLD_PRODUCE_ID = "old-0001"
TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"
GIB = 1 << 30


def _make_pdf() -> Any:
    spec = importlib.util.spec_from_file_location("fixture_make_pdf", MEDIA / "make_pdf.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _make_pdf()


def fixture(name: str) -> bytes:
    return (MEDIA / "pdf" / name).read_bytes()


def reader(data: bytes, *, strict: bool = True) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data), strict=strict)


def info_of(data: bytes) -> dict[str, str]:
    """Info dictionary entries as pypdf (strict) decodes them."""
    info: Any = reader(data).trailer["/Info"].get_object()
    return {str(k): str(v.get_object()) for k, v in info.items()}


def xmp_of(data: bytes) -> str | None:
    root: Any = reader(data).trailer["/Root"].get_object()
    if "/Metadata" not in root:
        return None
    return str(root["/Metadata"].get_object().get_data().decode("utf-8"))


def xmp_labels_of(data: bytes) -> list[str]:
    """The TC260:AIGC values in the Catalog's XMP packet, as pypdf hands the stream over and
    the standard library's XML parser reads it (our own test output only)."""
    catalog: Any = reader(data).trailer["/Root"]
    metadata = catalog["/Metadata"]
    root = ET.fromstring(metadata.get_data().decode("utf-8").rstrip("\x00"))
    return [el.text or "" for el in root.iter(f"{{{TC260}}}AIGC")]


def both_places(data: bytes) -> tuple[str, list[str]]:
    """pypdf's view of the label: Info /AIGC and the XMP TC260:AIGC values."""
    metadata: Any = reader(data).metadata
    return str(metadata["/AIGC"]), xmp_labels_of(data)


def mirrored(found: Any) -> bool:
    return any(f.code == "G3.carrier" and "mirrored in the XMP" in f.message
               for f in found.findings)


def plain(value: Any) -> Any:
    """A pypdf object as comparable Python values (references as (number, generation))."""
    if isinstance(value, pypdf.generic.IndirectObject):
        return ("ref", value.idnum, value.generation)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def startxref(data: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)", data)[-1])


# --- round trips over every fixture -----------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_write_appends_an_update_and_pypdf_reads_it(path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    data = path.read_bytes()
    rec = record("pdf-1")
    out = PDF.write(data, rec)
    assert out.startswith(data)  # the original is a byte-exact prefix (7.5.6)
    [found] = PDF.labels(out)  # one label, in two places
    assert (found.carrier, found.record, found.form) == (CARRIER, rec, "bare")
    assert mirrored(found)
    with caplog.at_level(logging.WARNING, logger="pypdf"):
        info_of(data)
        before_warnings = {r.getMessage() for r in caplog.records}
        caplog.clear()
        info = info_of(out)  # strict pypdf, independent of the codec
    # incremental.pdf's own update has no "0 1" subsection, which strict pypdf remarks on;
    # the section aiglabel adds brings no remark of its own.
    assert {r.getMessage() for r in caplog.records} <= before_warnings
    assert info["/AIGC"] == rec.to_json()
    before = {k: v for k, v in info_of(data).items() if k != "/AIGC"}
    assert {k: v for k, v in info.items() if k != "/AIGC"} == before
    assert both_places(out) == (rec.to_json(), [rec.to_json()])
    assert len(reader(out).pages) == len(reader(data).pages)
    assert PDF.essence(out) == PDF.essence(data)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_the_update_matches_the_last_xref_kind(path: Path) -> None:
    data = path.read_bytes()
    out = PDF.write(data, record("kind"))
    old_is_stream = not data[startxref(data):].lstrip().startswith(b"xref")
    new = out[startxref(out):]
    assert new.lstrip().startswith(b"xref") != old_is_stream
    assert re.search(rb"/Prev %d\b" % startxref(data), out[len(data):])
    trailer = reader(out).trailer
    root, old_root = trailer.raw_get("/Root"), reader(data).trailer.raw_get("/Root")
    assert (root.idnum, root.generation) == (old_root.idnum, old_root.generation)
    assert trailer["/ID"] == reader(data).trailer["/ID"]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_writing_twice_leaves_one_label(path: Path) -> None:
    data = path.read_bytes()
    once = PDF.write(data, record("first"))
    twice = PDF.write(once, record("second"))
    assert twice.startswith(once)
    assert [lb.record for lb in PDF.labels(twice)] == [record("second")]
    assert both_places(twice) == (record("second").to_json(), [record("second").to_json()])
    assert PDF.write(twice, record("second")) == twice  # nothing to change: same bytes
    assert PDF.essence(twice) == PDF.essence(data)
    inspection = aiglabel.inspect(twice)
    assert inspection.status == "compliant"
    superseded = [f.message for f in inspection.findings if f.code == "G4.superseded-label"]
    assert superseded[0] == (
        f"an earlier revision (the first {len(once)} bytes) still holds 1 AIGC label(s) in "
        "pdf:info:AIGC (mirrored in XMP); only the current revision's label counts "
        "(incremental update, rules §C.7)")


def test_essence_differs_between_documents() -> None:
    digests = {PDF.essence(p.read_bytes()) for p in FIXTURES}
    assert len(digests) == len(FIXTURES)


# --- what is replaced, what is kept -----------------------------------------------------------


def test_old_label_is_replaced_in_the_info_dictionary() -> None:
    data = fixture("old-label.pdf")
    [old] = PDF.labels(data)
    assert (old.carrier, old.record and old.record.produce_id) == (CARRIER, OLD_PRODUCE_ID)
    out = PDF.write(data, record("new"))
    assert [lb.record for lb in PDF.labels(out)] == [record("new")]
    assert info_of(out)["/Title"] == "Old label fixture"
    # The superseded revision keeps its bytes (and its label); the verifier notes it.
    assert MAKE.OLD_LABEL_JSON.encode() in out[: len(data)]
    messages = [f.message for f in aiglabel.inspect(out).findings
                if f.code == "G4.superseded-label"]
    assert messages == [f"an earlier revision (the first {len(data)} bytes) still holds 1 AIGC "
                        "label(s) in pdf:info:AIGC; only the current revision's label counts "
                        "(incremental update, rules §C.7)"]


def xmp_escaped(label: str) -> str:
    return label.replace("&", "&amp;").replace('"', "&quot;")


XMP_PROPERTIES = ("dc:title", "dc:creator", "xmp:CreatorTool", "xmp:CreateDate", "pdf:Producer",
                  "xmpMM:DocumentID", "xmpMM:InstanceID")


def test_xmp_label_is_updated_in_place_and_mirrored_in_info() -> None:
    data = fixture("xmp-label.pdf")
    [old] = PDF.labels(data)
    assert old.carrier == XMP_CARRIER
    plan = PdfCodec().plan_write(Source.from_bytes(data), record("moved"))
    assert plan.removed == []  # the XMP property is rewritten, not removed
    out = PDF.write(data, record("moved"))
    [found] = PDF.labels(out)
    assert (found.carrier, found.record) == (CARRIER, record("moved"))
    assert mirrored(found)
    before, after = xmp_of(data), xmp_of(out)
    assert before is not None
    # Only the property's text changed: every other byte of the packet (padding included).
    assert after == before.replace(xmp_escaped(MAKE.OLD_LABEL_JSON),
                                   xmp_escaped(record("moved").to_json()))
    assert both_places(out) == (record("moved").to_json(), [record("moved").to_json()])
    tail = out[len(data):]
    assert b"\n7 0 obj\n<< /Type /Metadata /Subtype /XML /Length " in tail
    assert b"/Type /Catalog" not in tail  # the Catalog already names the stream


def test_the_same_label_in_info_and_xmp_is_one_label() -> None:
    data = fixture("dual-label.pdf")  # the same record in Info (a hex string) and XMP
    assert b"/AIGC <7B22" in data
    [found] = PDF.labels(data)
    assert (found.carrier, found.record and found.record.produce_id) == (CARRIER, OLD_PRODUCE_ID)
    assert mirrored(found)
    inspection = aiglabel.inspect(data)
    assert inspection.status == "compliant"
    assert "G4.multiple-labels" not in {f.code for f in inspection.findings}
    out = PDF.write(data, record("one"))
    [new] = PDF.labels(out)
    assert (new.carrier, new.record) == (CARRIER, record("one"))
    assert both_places(out) == (record("one").to_json(), [record("one").to_json()])


def test_different_labels_in_info_and_xmp_are_two_labels_until_a_write() -> None:
    other = MAKE.OLD_LABEL_JSON.replace(OLD_PRODUCE_ID, "other-0002")
    data = MAKE.with_xmp("Conflict", label=MAKE.OLD_LABEL_JSON,
                         info_extra=b" /AIGC " + MAKE.literal(other))
    labels = PDF.labels(data)
    assert [(lb.carrier, lb.record and lb.record.produce_id) for lb in labels] == [
        (CARRIER, "other-0002"), (XMP_CARRIER, OLD_PRODUCE_ID)]
    assert not any(mirrored(lb) for lb in labels)
    inspection = aiglabel.inspect(data)
    assert inspection.status == "noncompliant"
    assert {"G4.multiple-labels", "G4.conflicting-labels"} <= {f.code for f in inspection.findings}
    out = PDF.write(data, record("settled"))
    assert out.startswith(data)
    [found] = PDF.labels(out)
    assert (found.carrier, found.record) == (CARRIER, record("settled"))
    assert mirrored(found)
    assert both_places(out) == (record("settled").to_json(), [record("settled").to_json()])
    assert aiglabel.inspect(out).status == "compliant"


def test_xmp_without_a_label_gets_it_merged_keeping_every_other_property() -> None:
    data = fixture("xmp.pdf")
    rec = record("x")
    out = PDF.write(data, rec)
    before, after = xmp_of(data), xmp_of(out)
    assert before is not None
    assert after is not None
    for prop in XMP_PROPERTIES:
        assert re.search(f"<{prop}>.*?</{prop}>", before, re.S).group(0) in after  # type: ignore[union-attr]
    # The new rdf:Description goes in before </rdf:RDF>; nothing before it moves.
    cut = before.index(" </rdf:RDF>")
    assert after.startswith(before[:cut])
    assert after.endswith(before[cut:])
    assert both_places(out) == (rec.to_json(), [rec.to_json()])
    assert reader(out).xmp_metadata is not None
    tail = out[len(data):]
    assert b"/Type /Catalog" not in tail
    assert PDF.write(out, rec) == out


@pytest.mark.parametrize("name", ["plain.pdf", "xref-stream.pdf", "signed-like.pdf"])
def test_no_xmp_gets_a_metadata_stream_and_a_catalog_revision(name: str) -> None:
    data = fixture(name)
    rec = record("new-xmp")
    out = PDF.write(data, rec)
    assert out.startswith(data)
    tail = out[len(data):]
    root_before: Any = reader(data).trailer["/Root"]
    assert "/Metadata" not in root_before
    trailer = reader(out).trailer
    root: Any = trailer["/Root"]
    ref = root.raw_get("/Metadata")
    # A new object, uncompressed (XMP-aware tools scan for the packet), after every old one.
    old_trailer: Any = reader(data).trailer
    assert ref.idnum >= int(old_trailer["/Size"])
    match = re.search(rb"\n%d 0 obj\n<< /Type /Metadata /Subtype /XML /Length (\d+) >>\nstream\n"
                      rb"<\?xpacket begin=" % ref.idnum, tail)
    assert match is not None
    # The Catalog's new revision: same object number, every entry kept, /Metadata added.
    num = trailer.raw_get("/Root").idnum
    assert re.search(rb"\n%d 0 obj\n<< /Type /Catalog " % num, tail)
    assert {k: plain(v) for k, v in root.items() if k != "/Metadata"} == {
        k: plain(v) for k, v in root_before.items()}
    assert both_places(out) == (rec.to_json(), [rec.to_json()])
    assert len(reader(out).pages) == len(reader(data).pages)
    assert PDF.write(out, rec) == out
    assert PDF.essence(out) == PDF.essence(data)


def test_only_the_place_that_lacks_the_label_is_written() -> None:
    rec = record("half")
    b = MAKE.Builder("1.4")
    MAKE.one_page(b, ["info only"])
    b.add(6, MAKE.info_dict("Info only", extra=b" /AIGC " + MAKE.literal(rec.to_json())))
    info_only = b.classic(b"/Root 1 0 R /Info 6 0 R")
    out = PDF.write(info_only, rec)
    tail = out[len(info_only):]
    assert b"\n6 0 obj" not in tail  # the Info dictionary already holds it
    assert b"\n7 0 obj\n<< /Type /Metadata" in tail
    assert b"\n1 0 obj\n<< /Type /Catalog" in tail
    assert both_places(out) == (rec.to_json(), [rec.to_json()])
    xmp_only = MAKE.with_xmp("XMP only", label=rec.to_json())
    out = PDF.write(xmp_only, rec)
    tail = out[len(xmp_only):]
    assert re.findall(rb"\n(\d+) 0 obj\n", tail) == [b"6"]  # the XMP packet already holds it
    assert both_places(out) == (rec.to_json(), [rec.to_json()])


def test_a_compressed_metadata_stream_is_rewritten_uncompressed() -> None:
    b = MAKE.Builder("1.4")
    MAKE.one_page(b, ["compressed xmp"], catalog_extra=b" /Metadata 7 0 R")
    b.add(6, MAKE.info_dict("Compressed"))
    b.add(7, MAKE.stream(b" /Type /Metadata /Subtype /XML /Custom (kept)",
                         MAKE.xmp_packet("Compressed"), compress=True))
    data = b.classic(b"/Root 1 0 R /Info 6 0 R")
    out = PDF.write(data, record("z"))
    tail = out[len(data):]
    assert b"\n7 0 obj\n<< /Type /Metadata /Subtype /XML /Custom (kept) /Length " in tail
    assert b"/FlateDecode" not in tail
    assert both_places(out) == (record("z").to_json(), [record("z").to_json()])
    assert "<dc:title>" in (xmp_of(out) or "")


@pytest.mark.parametrize("label", [None, MAKE.OLD_LABEL_JSON], ids=["no-label", "label"])
def test_a_broken_xmp_packet_is_not_edited(label: str | None) -> None:
    aigc = (f'<TC260:AIGC xmlns:TC260="{TC260}">{xmp_escaped(label)}</TC260:AIGC>'
            if label else "")
    packet = (f"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"x\">{aigc}"
              "<unclosed></x:xmpmeta>").encode()
    b = MAKE.Builder("1.4")
    MAKE.one_page(b, ["broken xmp"], catalog_extra=b" /Metadata 7 0 R")
    b.add(6, MAKE.info_dict("Broken"))
    b.add(7, MAKE.stream(b" /Type /Metadata /Subtype /XML", packet))
    data = b.classic(b"/Root 1 0 R /Info 6 0 R")
    assert len(PDF.labels(data)) == (1 if label else 0)
    plan = PdfCodec().plan_write(Source.from_bytes(data), record("b"))
    assert plan.removed == ([XMP_CARRIER] if label else [])
    out = PDF.write(data, record("b"))
    [found] = PDF.labels(out)
    assert (found.carrier, found.record) == (CARRIER, record("b"))
    assert not mirrored(found)
    after = xmp_of(out)
    assert after == (packet.decode().replace(aigc, "") if label else packet.decode())
    assert PDF.write(out, record("b")) == out


def test_a_mirror_keeps_the_findings_of_its_xmp_copy() -> None:
    """The XMP copy under the URI without the trailing slash is the same label; its namespace
    warning stays on the one label reported."""
    rec = record("ns")
    b = MAKE.Builder("1.4")
    MAKE.one_page(b, ["namespace"], catalog_extra=b" /Metadata 7 0 R")
    b.add(6, MAKE.info_dict("Namespace", extra=b" /AIGC " + MAKE.literal(rec.to_json())))
    packet = MAKE.xmp_packet("Namespace", label=rec.to_json())
    b.add(7, MAKE.stream(b" /Type /Metadata /Subtype /XML",
                         packet.replace(TC260.encode(), TC260.rstrip("/").encode())))
    data = b.classic(b"/Root 1 0 R /Info 6 0 R")
    [found] = PDF.labels(data)
    assert found.carrier == CARRIER
    assert mirrored(found)
    assert [(f.code, f.carrier) for f in found.findings if f.code == "G3.namespace"] == [
        ("G3.namespace", XMP_CARRIER)]
    out = PDF.write(data, rec)  # the property is rewritten under the guide's URI
    assert xmp_labels_of(out) == [rec.to_json()]
    assert PDF.write(out, rec) == out


def test_signed_byte_range_still_covers_the_same_bytes() -> None:
    data = fixture("signed-like.pdf")
    out = PDF.write(data, record("signed"))
    root: Any = reader(out).trailer["/Root"]
    field = root["/AcroForm"]["/Fields"][0].get_object()
    a, b, c, d = (int(x) for x in field["/V"]["/ByteRange"])
    assert (a, c + d) == (0, len(data))
    assert out[a:b] + out[c : c + d] == data[a:b] + data[c : c + d]


def test_an_update_by_another_tool_is_kept() -> None:
    data = fixture("incremental.pdf")
    out = PDF.write(data, record("inc"))
    assert info_of(out)["/Title"] == "Incremental fixture (revision 2)"
    assert info_of(out)["/ModDate"] == "D:20250902120000Z"


def test_info_strings_keep_their_bytes() -> None:
    """Non-ASCII Info strings (UTF-16BE with BOM) are re-written from their original bytes."""
    data = fixture("xref-stream.pdf")
    out = PDF.write(data, record("u"))
    title = "Cross-reference stream fixture 标题"
    assert info_of(out)["/Title"] == title
    hex_title = (b"\xfe\xff" + title.encode("utf-16-be")).hex().upper().encode()
    assert b"/Title <" + hex_title + b">" in out[len(data):]


@pytest.mark.parametrize("trailer", [b"/Root 1 0 R /Info << /Title (Direct) >>", b"/Root 1 0 R"],
                         ids=["direct-info", "no-info"])
def test_missing_or_direct_info_gets_a_new_object(trailer: bytes) -> None:
    b = MAKE.Builder("1.4")
    MAKE.one_page(b, ["no info object"])
    data = b.classic(trailer)
    out = PDF.write(data, record("new-info"))
    assert re.search(rb"\n6 0 obj\n<< .*/AIGC \(", out[len(data):])
    assert info_of(out)["/AIGC"] == record("new-info").to_json()
    if b"Direct" in trailer:
        assert info_of(out)["/Title"] == "Direct"


def test_escaped_and_other_case_labels() -> None:
    """A literal string with escapes is read; a key ``/aigc`` is read under its own carrier
    and dropped on write (GB 6.1 c)."""
    label = MAKE.OLD_LABEL_JSON.replace("old-0001", "a(b)c")
    b = MAKE.Builder("1.4")
    MAKE.one_page(b, ["escapes"])
    b.add(6, b"<< /aigc " + MAKE.literal(label) + b" /Title (t) >>")
    data = b.classic(b"/Root 1 0 R /Info 6 0 R")
    assert rb"a\(b\)c" in data
    [found] = PDF.labels(data)
    assert found.carrier == "pdf:info:aigc"
    assert found.record is not None
    assert found.record.produce_id == "a(b)c"
    plan = PdfCodec().plan_write(Source.from_bytes(data), record("x"))
    assert plan.removed == []  # the first AIGC key is replaced in place, as /AIGC
    out = PDF.write(data, record("x"))
    assert list(info_of(out)) == ["/AIGC", "/Title"]


# --- other tools ------------------------------------------------------------------------------


def run_exiftool(exiftool: str, *args: str | Path) -> dict[str, Any]:
    proc = subprocess.run([exiftool, "-config", str(EXIFTOOL_CONFIG), "-j", "-G1", "-a",
                           *map(str, args)], capture_output=True, text=True, check=False,
                          timeout=60)
    row: dict[str, Any] = json.loads(proc.stdout)[0]
    return row


@pytest.mark.parametrize("name", ["plain.pdf", "xref-stream.pdf", "xmp.pdf", "xmp-label.pdf",
                                  "incremental.pdf", "dual-label.pdf"])
def test_exiftool_reads_the_label(exiftool: str, name: str, tmp_path: Path) -> None:
    dst = tmp_path / name
    aiglabel.label(MEDIA / "pdf" / name, dst, record("exif"))
    row = run_exiftool(exiftool, dst)
    assert row["PDF:AIGC"] == record("exif").to_json()
    assert row["XMP-TC260:AIGC"] == record("exif").to_json()
    assert row["PDF:Title"] == info_of(fixture(name))["/Title"]


def test_we_read_the_xmp_label_exiftool_wrote(exiftool: str, tmp_path: Path) -> None:
    rec = record("by-exiftool")
    dst = tmp_path / "ex.pdf"
    subprocess.run([exiftool, "-config", str(EXIFTOOL_CONFIG), f"-XMP-TC260:AIGC={rec.to_json()}",
                    "-o", str(dst), str(MEDIA / "pdf" / "xmp.pdf")], check=True,
                   capture_output=True, timeout=60)
    assert run_exiftool(exiftool, dst)["XMP-TC260:AIGC"] == rec.to_json()
    [found] = aiglabel.read_labels(dst)
    assert (found.carrier, found.record) == (XMP_CARRIER, rec)
    out = tmp_path / "out.pdf"
    aiglabel.label(dst, out, record("ours"))
    row = run_exiftool(exiftool, out)
    assert row["PDF:AIGC"] == record("ours").to_json()
    assert row["XMP-TC260:AIGC"] == record("ours").to_json()
    assert row["XMP-dc:Title"] == "XMP fixture"
    [found] = aiglabel.read_labels(out)
    assert (found.carrier, found.record) == (CARRIER, record("ours"))


# --- the verifier -----------------------------------------------------------------------------


def test_verify_a_labelled_pdf(tmp_path: Path) -> None:
    from aiglabel.verify import Verdict, verify

    dst = tmp_path / "labelled.pdf"
    aiglabel.label(MEDIA / "pdf" / "plain.pdf", dst, record("v"))
    report = verify(dst)
    assert report.verdict is Verdict.CONFIRMED
    assert report.status == "compliant"


def test_verify_finds_the_notice_on_the_last_page() -> None:
    from aiglabel.verify import EvidenceKind, Verdict, verify

    path = MEDIA / "pdf" / "notice.pdf"
    text = PdfCodec().visible_text(Source.from_bytes(path.read_bytes()), 1000)
    assert text is not None
    assert text.startswith("aiglabel PDF fixture: notice")
    assert text.endswith(MAKE.NOTICE)
    report = verify(path)
    assert report.verdict is Verdict.SUSPECTED
    assert [e.kind for e in report.evidence] == [EvidenceKind.EXPLICIT]
    assert (report.evidence[0].detector, report.evidence[0].carrier) == ("text-notice", "text:end")


def test_visible_text_keeps_both_ends_within_the_limit() -> None:
    src = Source.from_bytes(fixture("notice.pdf"))
    text = PdfCodec().visible_text(src, 20)
    assert text is not None
    assert len(text) == 20
    assert text.startswith("aiglabel")
    assert text.endswith("生成")


def test_metadata_items() -> None:
    items = PdfCodec().metadata(Source.from_bytes(fixture("dual-label.pdf")))
    info = {i.key: i.value for i in items if i.carrier == "pdf:info"}
    assert info == {"Title": "Dual label fixture", "Author": "aiglabel fixtures",
                    "Creator": "make_pdf.py", "Producer": "aiglabel fixture writer",
                    "CreationDate": "D:20250901120000Z"}
    [xmp] = [i for i in items if i.carrier == XMP_CARRIER]
    assert xmp.key == "xmp"
    assert "<dc:title>" in xmp.value


# --- identification, limits, hostile input ----------------------------------------------------


@pytest.mark.parametrize(("head", "expected"), [
    (b"%PDF-1.7\n", Confidence.STRONG),
    (b"\x00" * 1000 + b"%PDF-1.4", Confidence.STRONG),
    (b"\x00" * 1020 + b"%PDF-1.4", Confidence.NO),
    (b"%!PS-Adobe-3.0", Confidence.NO),
])
def test_sniff(head: bytes, expected: Confidence) -> None:
    assert PdfCodec.sniff(head) is expected


def test_encrypted_pdf_is_read_not_written() -> None:
    writer = pypdf.PdfWriter(clone_from=reader(fixture("old-label.pdf")))
    writer.encrypt("", "owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    data = buf.getvalue()
    assert [lb.record.produce_id for lb in PDF.labels(data) if lb.record] == [OLD_PRODUCE_ID]
    with pytest.raises(CarrierUnsupportedError, match="encrypted"):
        PDF.write(data, record("enc"))
    locked = pypdf.PdfWriter(clone_from=reader(fixture("old-label.pdf")))
    locked.encrypt("user", "owner", algorithm="RC4-128")
    buf = io.BytesIO()
    locked.write(buf)
    with pytest.raises(CarrierUnsupportedError, match="password"):
        PDF.labels(buf.getvalue())


def test_missing_pypdf_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pypdf", None)
    with pytest.raises(CarrierUnsupportedError, match=r"aiglabel\[documents\]"):
        PDF.labels(fixture("plain.pdf"))


def metadata_with_length(declared: bytes) -> bytes:
    b = MAKE.Builder("1.4")
    MAKE.one_page(b, ["huge length"], catalog_extra=b" /Metadata 7 0 R")
    b.add(6, MAKE.info_dict("Huge"))
    b.add(7, b"<< /Type /Metadata /Subtype /XML /Length " + declared + b" >>\nstream\n"
             + MAKE.xmp_packet("Huge") + b"\nendstream")
    data: bytes = b.classic(b"/Root 1 0 R /Info 6 0 R")
    return data


def test_metadata_stream_over_the_limit() -> None:
    data = metadata_with_length(b"99999999999")
    with pytest.raises(LimitExceededError, match="XMP metadata stream"):
        PDF.labels(data)
    small = metadata_with_length(str(len(MAKE.xmp_packet("Huge"))).encode())
    assert PDF.labels(small) == []
    with pytest.raises(LimitExceededError, match="exceeds the 500-byte limit"):
        PdfCodec().read_labels(Source(io.BytesIO(small), limits=Limits(max_metadata=500)))


def _hostile() -> dict[str, bytes]:
    plain = fixture("plain.pdf")
    prev = startxref(plain)
    deep = MAKE.Builder("1.4")
    MAKE.one_page(deep, ["deep"])
    deep.add(6, b"<< /Title " + b"[" * 5000 + b"]" * 5000 + b" >>")
    loop = MAKE.Builder("1.4")
    MAKE.one_page(loop, ["loop"])
    loop.add(6, b"6 0 R")
    return {
        "garbage": b"%PDF-1.7\n" + bytes(range(256)) * 40,
        "header-only": b"%PDF-1.4\n",
        "truncated-half": plain[: len(plain) // 2],
        "truncated-tail": plain[:-20],
        "no-eof": plain.replace(b"%%EOF", b"%%XXX"),
        "xref-prev-loop": plain.replace(b"/ID [", b"/Prev %d /ID [" % prev),
        "startxref-past-end": plain.replace(b"startxref\n%d" % prev, b"startxref\n9%d" % prev),
        "deep-arrays": deep.classic(b"/Root 1 0 R /Info 6 0 R"),
        "info-loop": loop.classic(b"/Root 1 0 R /Info 6 0 R"),
        "huge-length": metadata_with_length(b"99999999999"),
    }


HOSTILE = _hostile()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_fails_cleanly_and_quickly(name: str) -> None:
    data = HOSTILE[name]
    codec = PdfCodec()
    started = time.monotonic()
    messages: list[str] = []
    for op in ("read", "write", "metadata", "text", "essence", "findings"):
        src = Source.from_bytes(data, "hostile.pdf")
        try:
            if op == "read":
                codec.read_labels(src)
            elif op == "write":
                codec.plan_write(src, record("h"))
            elif op == "metadata":
                codec.metadata(src)
            elif op == "text":
                codec.visible_text(src, 1000)
            elif op == "essence":
                codec.essence_digest(src)
            else:
                codec.container_findings(src)
        except (CorruptFileError, LimitExceededError) as exc:
            messages.append(str(exc))
    assert time.monotonic() - started < 5
    assert all("\n" not in m and m.startswith("hostile.pdf: ") for m in messages), messages


@pytest.mark.parametrize(("name", "error"), [
    ("garbage", CorruptFileError), ("truncated-half", CorruptFileError),
    ("header-only", CorruptFileError), ("startxref-past-end", CorruptFileError),
    ("huge-length", LimitExceededError),
])
def test_hostile_writes_are_refused(name: str, error: type[AiglabelError]) -> None:
    with pytest.raises(error):
        PDF.write(HOSTILE[name], record("h"))


def test_an_xref_loop_is_read_once() -> None:
    assert PDF.labels(HOSTILE["xref-prev-loop"]) == []
    out = PDF.write(HOSTILE["xref-prev-loop"], record("loop"))
    assert [lb.record for lb in PDF.labels(out)] == [record("loop")]


def test_a_fake_tail_comment_does_not_shrink_the_essence() -> None:
    data = fixture("plain.pdf")
    fake = data + b"\n%%aiglabel-update 10\nstartxref\n%d\n%%%%EOF\n" % startxref(data)
    assert fake.endswith(b"\n%aiglabel-update 10\nstartxref\n660\n%%EOF\n")
    assert _pdfupdate.update_sections(Source.from_bytes(fake)) == []
    out = PDF.write(data, record("real"))
    assert _pdfupdate.update_sections(Source.from_bytes(out)) == [len(data)]


def test_no_eol_at_the_end_gets_one() -> None:
    data = fixture("plain.pdf").rstrip(b"\n")
    out = PDF.write(data, record("eol"))
    assert out[len(data) :].startswith(b"\n%aiglabel-update\n")
    assert _pdfupdate.update_sections(Source.from_bytes(out)) == [len(data)]
    assert PDF.essence(out) == PDF.essence(data)


def _sparse_pdf(path: Path) -> Path:
    """A one-page PDF whose content stream is 1 GiB of zeros (a hole in a sparse file)."""
    b = MAKE.Builder("1.4")
    MAKE.one_page(b, ["big"])
    b.add(6, MAKE.info_dict("Big"))
    offsets = {}
    with open(path, "wb") as f:
        f.write(b"%PDF-1.4\n")
        for num in sorted(b.objects):
            offsets[num] = f.tell()
            if num == 4:
                f.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % GIB)
                f.seek(GIB, io.SEEK_CUR)
                f.write(b"\nendstream\nendobj\n")
            else:
                f.write(b"%d 0 obj\n" % num + b.objects[num] + b"\nendobj\n")
        xref = f.tell()
        f.write(b"xref\n0 7\n0000000000 65535 f\r\n")
        f.write(b"".join(b"%010d 00000 n\r\n" % offsets[n] for n in range(1, 7)))
        f.write(b"trailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                % xref)
    return path


def test_reading_a_sparse_gigabyte_pdf_reads_little(tmp_path: Path) -> None:
    path = _sparse_pdf(tmp_path / "big.pdf")
    codec = PdfCodec()
    with open(path, "rb") as f:
        src = Source(f, name=str(path))
        assert codec.read_labels(src) == []
        plan = codec.plan_write(src, record("big"))
        assert src.size > GIB
        assert src.bytes_read < 1 << 20, src.bytes_read
    with open(path, "ab") as f:  # apply the plan's appended section in place
        assert plan.pieces[0] == aiglabel._io.Span(0, src.size)
        for piece in plan.pieces[1:]:
            assert isinstance(piece, bytes)
            f.write(piece)
    with open(path, "rb") as f:
        src = Source(f, name=str(path))
        assert [lb.record for lb in codec.read_labels(src)] == [record("big")]
        codec.container_findings(src)
        assert src.bytes_read < 1 << 20, src.bytes_read


def test_the_deadline_stops_pypdf() -> None:
    src = Source.from_bytes(fixture("plain.pdf"), "late.pdf")
    src.deadline = time.monotonic() - 1
    with pytest.raises(LimitExceededError, match="time limit"):
        PdfCodec().read_labels(src)
