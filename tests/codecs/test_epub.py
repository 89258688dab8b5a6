"""EPUB: the AIGC meta in the package document; every other entry copied raw."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile
from typing import TYPE_CHECKING

import pytest
from tests.codecs.test_ooxml import raw_entries
from tests.conftest import MEDIA, CodecHarness, record

import aiglabel
from aiglabel.errors import CorruptFileError
from aiglabel.verify import Verdict, verify

if TYPE_CHECKING:
    from pathlib import Path

FIX = MEDIA / "epub"
FIXTURES = sorted(FIX.iterdir())
H = CodecHarness("epub")
REC = record("epub-1")
OPF = "OEBPS/content.opf"
NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"


def package(data: bytes) -> ET.Element:
    return ET.fromstring(zipfile.ZipFile(io.BytesIO(data)).read(OPF))


def labels_by_elementtree(data: bytes) -> list[str]:
    """The AIGC metas as an independent reader sees them: EPUB 3 property with the prefix
    bound to the TC260 namespace, or EPUB 2 name/content."""
    root = package(data)
    bound = dict(zip(*[iter((root.get("prefix") or "").split())] * 2, strict=True))
    tc260 = {name.rstrip(":") for name, uri in bound.items() if uri == TC260}
    out = []
    for meta in root.iterfind("opf:metadata/opf:meta", NS):
        prop = meta.get("property", "")
        if ":" in prop and prop.split(":")[0] in tc260 and prop.endswith(":AIGC"):
            out.append(meta.text or "")
        elif meta.get("name") == "AIGC":
            out.append(meta.get("content", ""))
    return out


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_write_keeps_every_other_entry_and_the_mimetype_rule(path: Path) -> None:
    data = path.read_bytes()
    out = H.write(data, REC)
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.testzip() is None
    first = archive.infolist()[0]
    assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
    assert out[30:58] == b"mimetypeapplication/epub+zip"  # OCF: readable at a fixed offset
    before, after = raw_entries(data), raw_entries(out)
    assert {k: v for k, v in after.items() if k != OPF} == {
        k: v for k, v in before.items() if k != OPF}
    assert [json.loads(v) for v in labels_by_elementtree(out)] == [json.loads(REC.to_json())]
    dc = [(e.tag, e.text) for e in package(data).iterfind("opf:metadata/dc:*", NS)]
    assert [(e.tag, e.text) for e in package(out).iterfind("opf:metadata/dc:*", NS)] == dc
    assert H.essence(out) == H.essence(data)
    assert H.write(out, REC) == out


def test_epub3_declares_the_prefix_and_keeps_others() -> None:
    out = H.write((FIX / "prefixed.epub").read_bytes(), REC)
    prefix = package(out).get("prefix") or ""
    assert "rendition: http://www.idpf.org/vocab/rendition/#" in prefix
    assert f"TC260: {TC260}" in prefix
    assert [lb.carrier for lb in H.labels(out)] == ["epub:opf:AIGC"]
    plain = H.write((FIX / "plain3.epub").read_bytes(), REC)
    assert package(plain).get("prefix") == f"TC260: {TC260}"


def test_epub2_uses_name_and_content() -> None:
    out = H.write((FIX / "plain2.epub").read_bytes(), REC)
    (meta,) = [m for m in package(out).iterfind("opf:metadata/opf:meta", NS)
               if m.get("name") == "AIGC"]
    assert meta.get("content") == REC.to_json()
    assert [lb.carrier for lb in H.labels(out)] == ["epub:opf:AIGC"]


def test_duplicates_collapse_to_one() -> None:
    data = (FIX / "old-label.epub").read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    opf = archive.read(OPF).decode().replace(
        "</metadata>", '<meta name="aigc" content="{}"/></metadata>')
    doubled = io.BytesIO()
    with zipfile.ZipFile(doubled, "w") as sink:
        for info in archive.infolist():
            sink.writestr(info, opf if info.filename == OPF else archive.read(info))
    assert len(H.labels(doubled.getvalue())) == 2
    out = H.write(doubled.getvalue(), REC)
    assert [lb.record for lb in H.labels(out)] == [REC]


def test_verifier_and_damaged_books() -> None:
    assert verify(H.write((FIX / "plain3.epub").read_bytes(), REC)).verdict is Verdict.CONFIRMED
    notice = verify((FIX / "notice.epub").read_bytes())
    assert (notice.format, notice.verdict) == ("epub", Verdict.SUSPECTED)
    data = (FIX / "plain3.epub").read_bytes()
    for drop, damage in (("META-INF/container.xml", None), (None, OPF)):
        archive = zipfile.ZipFile(io.BytesIO(data))
        broken = io.BytesIO()
        with zipfile.ZipFile(broken, "w") as sink:
            for info in archive.infolist():
                if info.filename == drop:
                    continue
                content = b"<package" if info.filename == damage else archive.read(info)
                sink.writestr(info.filename, content)
        with pytest.raises(CorruptFileError):
            aiglabel.read_labels(broken.getvalue())
