"""Build the bundled label font: a subset of Noto Sans CJK SC (SIL OFL 1.1).

Run from the repository root (downloads the source font from PyPI when no path is given)::

    python scripts/make_font.py [path/to/NotoSansCJK-Regular.ttc path/to/LICENSE]

The source is the OpenType collection in the PyPI package ``noto-cjk-sans-otc`` 0.0.1
(``NotoSansCJK-Regular.ttc``, face 2 = Noto Sans CJK SC). The subset keeps printable ASCII and
the Han characters of the usual label wordings (:data:`HAN`), drops hinting, and renames the
family to "aiglabel Label Sans" (a modified version, as the OFL asks). Output:
``src/aiglabel/explicit/fonts/aiglabel-label-sans.otf`` and ``OFL.txt`` (the licence, copied from
the package). Deterministic for a given source and fontTools version. Needs fontTools.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "aiglabel" / "explicit" / "fonts"
FONT = OUT / "aiglabel-label-sans.otf"
SOURCE_PACKAGE = "noto-cjk-sans-otc==0.0.1"
SC_FACE = 2  # NotoSansCJK-Regular.ttc: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK
FAMILY = "aiglabel Label Sans"
# Han characters of the wordings aiglabel ships or documents (rules §A.0, §A.8), with common
# neighbours of a notice ("此图片/视频/音频/文本/内容由人工智能生成合成", "AI生成", ...).
HAN = ("人工智能生成合成本内容由此图片视频音频文本作品部分使用辅助创作标识提示已经过"
       "经的为是含有自动")
PUNCTUATION = "，。、：；！？（）《》“”‘’—…·"
TEXT = "".join(chr(c) for c in range(0x20, 0x7F)) + HAN + PUNCTUATION


def _source(argv: list[str]) -> tuple[Path, bytes]:
    """The TTC path and the licence text (from the package, or next to the given font)."""
    if argv:
        return Path(argv[0]), Path(argv[1]).read_bytes()
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(tmp),
                    SOURCE_PACKAGE], check=True)
    (wheel,) = tmp.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp / "x")
    ttc = next((tmp / "x").rglob("NotoSansCJK-Regular.ttc"))
    licence = next((tmp / "x").rglob("LICENSE")).read_bytes()
    return ttc, licence


def main() -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    ttc, licence = _source(sys.argv[1:])
    font = TTCollection(str(ttc)).fonts[SC_FACE]
    font.recalcTimestamp = False  # keep the source's head.modified: reproducible output
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.layout_features = ["kern", "liga", "locl"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=TEXT)
    subsetter.subset(font)
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "") + "-Regular"
        elif record.nameID == 3:
            record.string = FAMILY + " (subset of Noto Sans CJK SC)"
    OUT.mkdir(parents=True, exist_ok=True)
    font.save(str(FONT))
    (OUT / "OFL.txt").write_bytes(licence)
    data = FONT.read_bytes()
    print(f"{FONT.relative_to(ROOT)}: {len(data)} bytes, {len(set(TEXT))} characters, "
          f"sha256 {hashlib.sha256(data).hexdigest()[:12]}")


if __name__ == "__main__":
    main()
