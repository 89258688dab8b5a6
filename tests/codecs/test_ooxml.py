"""Office Open XML (DOCX/XLSX/PPTX): docProps/custom.xml property AIGC, entries copied raw."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import zipfile
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA, CodecHarness, record

import aiglabel
from aiglabel._io import Limits, Source
from aiglabel.codecs import ooxml
from aiglabel.codecs.base import Confidence
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
    UnsupportedFormatError,
)
from aiglabel.verify import Verdict, verify

if TYPE_CHECKING:
    from pathlib import Path

FIX = MEDIA / "ooxml"
FIXTURES = sorted(FIX.iterdir())
H = CodecHarness("ooxml")
REC = record("ooxml-1")
CHANGED = {"docProps/custom.xml", "[Content_Types].xml", "_rels/.rels"}


def raw_entries(data: bytes) -> dict[str, tuple[int, int, bytes]]:
    """name -> (method, CRC, compressed bytes), read with zipfile's own header parsing."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    out = {}
    for info in archive.infolist():
        head = data[info.header_offset : info.header_offset + 30]
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        out[info.filename] = (info.compress_type, info.CRC,
                              data[start : start + info.compress_size])
    return out


def custom_properties(data: bytes) -> list[tuple[str, str, str]]:
    """(name, pid, value) of every custom property, parsed with zipfile + ElementTree."""
    import xml.etree.ElementTree as ET

    archive = zipfile.ZipFile(io.BytesIO(data))
    if "docProps/custom.xml" not in archive.namelist():
        return []
    root = ET.fromstring(archive.read("docProps/custom.xml"))
    return [(p.get("name", ""), p.get("pid", ""), "".join(p.itertext())) for p in root]


def open_with_library(name: str, data: bytes) -> None:
    if name.endswith(".docx"):
        import docx

        docx.Document(io.BytesIO(data))
    elif name.endswith(".xlsx"):
        import openpyxl

        openpyxl.load_workbook(io.BytesIO(data))
    elif name.endswith(".pptx"):
        import pptx

        pptx.Presentation(io.BytesIO(data))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_write_keeps_every_other_entry_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    out = H.write(data, REC)
    assert zipfile.ZipFile(io.BytesIO(out)).testzip() is None
    before, after = raw_entries(data), raw_entries(out)
    for name, raw in before.items():
        if name not in CHANGED:
            assert after[name] == raw, name  # same compressed bytes, no re-compression
    assert set(after) - set(before) <= {"docProps/custom.xml"}
    labels = [(p[0], p[2]) for p in custom_properties(out) if p[0] == "AIGC"]
    assert labels == [("AIGC", REC.to_json())]
    others = [p for p in custom_properties(data) if p[0] != "AIGC"]
    assert [p for p in custom_properties(out) if p[0] != "AIGC"] == others
    assert H.essence(out) == H.essence(data)
    assert H.write(out, REC) == out
    open_with_library(path.name, out)


def test_a_new_part_is_registered_once() -> None:
    out = H.write((FIX / "plain.docx").read_bytes(), REC)
    archive = zipfile.ZipFile(io.BytesIO(out))
    types = archive.read("[Content_Types].xml").decode()
    rels = archive.read("_rels/.rels").decode()
    assert types.count('PartName="/docProps/custom.xml"') == 1
    assert "custom-properties+xml" in types
    assert rels.count("relationships/custom-properties") == 1
    ids = re.findall(r'Id="([^"]+)"', rels)
    assert len(ids) == len(set(ids))
    assert custom_properties(out) == [("AIGC", "2", REC.to_json())]
    again = H.write(out, record("ooxml-2"))
    assert zipfile.ZipFile(io.BytesIO(again)).read("_rels/.rels").decode() == rels


def test_an_old_label_is_replaced_keeping_its_pid() -> None:
    data = (FIX / "old-label.docx").read_bytes()
    (old,) = [p for p in custom_properties(data) if p[0] == "AIGC"]
    assert [lb.carrier for lb in H.labels(data)] == ["ooxml:custom:AIGC"]
    out = H.write(data, REC)
    assert [p for p in custom_properties(out) if p[0] == "AIGC"] == [("AIGC", old[1],
                                                                       REC.to_json())]
    assert ("Client", "2", "Example Co.") in custom_properties(out)


def test_new_property_gets_the_next_pid_and_values_are_escaped() -> None:
    data = (FIX / "custom-props.docx").read_bytes()
    assert [p[1] for p in custom_properties(data)] == ["2", "3"]
    rec = record("a<b&c>")
    out = H.write(data, rec)
    assert custom_properties(out)[-1] == ("AIGC", "4", rec.to_json())
    assert [lb.record for lb in H.labels(out)] == [rec]


def test_duplicates_and_case_variants_are_reported_and_collapsed() -> None:
    text = ooxml._NEW_CUSTOM.replace("</Properties>", "".join(
        f'<property fmtid="{ooxml.FMTID}" pid="{n}" name="{name}"><vt:lpwstr>'
        f"{value}</vt:lpwstr></property>"
        for n, (name, value) in enumerate([("AIGC", "x"), ("aigc", "y"), ("AIGC", "z")], 2))
        + "</Properties>")
    new, dropped = ooxml.with_label(text, REC.to_json())
    assert dropped == 2
    assert new.count('name="AIGC"') == 1
    assert 'pid="2"' in new


def test_data_descriptors_are_copied_with_their_entries() -> None:
    data = (FIX / "descriptors.docx").read_bytes()
    out = H.write(data, REC)
    kept = [i for i in zipfile.ZipFile(io.BytesIO(out)).infolist() if i.filename not in CHANGED]
    assert kept
    assert all(i.flag_bits & 0x08 for i in kept)
    assert [lb.record for lb in H.labels(out)] == [REC]


def test_identification_by_bytes() -> None:
    docx_bytes = (FIX / "plain.docx").read_bytes()
    assert H.codec().confirm(Source.from_bytes(docx_bytes)) is Confidence.STRONG
    assert aiglabel.inspect(docx_bytes, name="misnamed.png").format == "ooxml"
    epub = io.BytesIO()
    with zipfile.ZipFile(epub, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("META-INF/container.xml", "<container/>")
    assert H.codec().confirm(Source.from_bytes(epub.getvalue())) is Confidence.NO  # EPUB's
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(UnsupportedFormatError):
        aiglabel.read_labels(plain_zip.getvalue())


def _with_custom(custom: bytes, *, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    source = zipfile.ZipFile(io.BytesIO((FIX / "custom-props.docx").read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compress) as sink:
        for info in source.infolist():
            content = custom if info.filename == "docProps/custom.xml" else source.read(info)
            sink.writestr(info.filename, content)
    return out.getvalue()


def test_zip_bomb_and_damaged_archives_fail_cleanly() -> None:
    bomb = _with_custom(b"<Properties>" + b" " * (40 << 20) + b"</Properties>")
    assert len(bomb) < 200_000
    with pytest.raises(LimitExceededError):
        aiglabel.read_labels(bomb)
    with pytest.raises(LimitExceededError):
        H.codec().read_labels(Source(io.BytesIO(bomb), limits=Limits(max_metadata=1 << 20)))
    data = (FIX / "plain.docx").read_bytes()
    for cut in (100, len(data) // 2, len(data) - 10):
        with pytest.raises(AiglabelError):
            aiglabel.label_bytes(data[:cut], REC)
    entity = _with_custom(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Properties>&a;</Properties>')
    with pytest.raises(CorruptFileError):
        aiglabel.read_labels(entity)
    too_many = bytearray(data)
    end = too_many.rfind(b"PK\x05\x06")
    too_many[end + 8 : end + 10] = b"\xff\xfe"
    too_many[end + 10 : end + 12] = b"\xff\xfe"
    with pytest.raises(AiglabelError):
        aiglabel.read_labels(bytes(too_many))


def _as_zip64(data: bytes) -> bytes:
    """The archive with a ZIP64 end record and locator (APPNOTE §4.3.14-15) and the classic
    end record's counts and offsets set to their "see ZIP64" values."""
    end = data.rfind(b"PK\x05\x06")
    _, _, _, count, size, offset, comment_len = struct.unpack("<HHHHIIH", data[end + 4 : end + 22])
    record = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, count, count, size,
                                          offset)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, end, 1)
    classic = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                                           0xFFFFFFFF, comment_len)
    return data[:end] + record + locator + classic + data[end + 22 :]


def test_zip64_is_read_but_not_rewritten() -> None:
    data = _as_zip64((FIX / "old-label.docx").read_bytes())
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None  # a valid ZIP64 archive
    assert [lb.carrier for lb in aiglabel.read_labels(data)] == ["ooxml:custom:AIGC"]
    with pytest.raises(CarrierUnsupportedError, match="ZIP64"):
        aiglabel.label_bytes(data, REC)


def test_verifier_confirms_labels_and_finds_the_notice() -> None:
    labelled = H.write((FIX / "plain.docx").read_bytes(), REC)
    assert verify(labelled).verdict is Verdict.CONFIRMED
    notice = verify((FIX / "notice.docx").read_bytes())
    assert (notice.format, notice.verdict) == ("ooxml", Verdict.SUSPECTED)
    assert notice.evidence[0].detector == "text-notice"
    assert verify((FIX / "plain.pptx").read_bytes()).verdict is Verdict.NONE


def test_visible_text_of_each_kind() -> None:
    codec = H.codec()
    text = codec.visible_text(Source.from_bytes((FIX / "notice.docx").read_bytes()), 10_000)
    assert text is not None
    assert text.strip().splitlines()[-1] == "本内容由人工智能生成"
    slides = codec.visible_text(Source.from_bytes((FIX / "plain.pptx").read_bytes()), 10_000)
    assert slides is not None
    assert "A generated slide." in slides
    cells = codec.visible_text(Source.from_bytes((FIX / "plain.xlsx").read_bytes()), 10_000)
    assert cells is not None
    assert "generated" in cells


def test_exiftool_reads_the_custom_property(exiftool: str, tmp_path: Path) -> None:
    for name in ("plain.docx", "custom-props.docx", "plain.xlsx", "plain.pptx"):
        dst = tmp_path / name
        dst.write_bytes(H.write((FIX / name).read_bytes(), REC))
        value = subprocess.run([exiftool, "-b", "-XML:AIGC", str(dst)], capture_output=True,
                               check=True, timeout=60).stdout
        assert value.decode() == REC.to_json(), name


def test_cli_labels_a_folder_of_documents(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    result = CliRunner().invoke(app, ["label", str(FIX), "-o", str(tmp_path / "out"),
                                      "--producer", "001191110102MACQD9K64010000", "-q"])
    assert result.exit_code == 0, result.output
    for path in FIXTURES:
        labels = aiglabel.read_labels(tmp_path / "out" / path.name)
        assert [lb.carrier for lb in labels] == ["ooxml:custom:AIGC"]
