"""The explicit image label renderer (GB 45438 §5.2): glyph height measured on the output,
legibility on light and dark backgrounds, the bundled font's coverage and licence."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from aiglabel.errors import InvalidLabelError
from aiglabel.explicit.image import (
    IMAGE_MIN_TEXT_HEIGHT_RATIO,
    ImageLabel,
    bundled_font,
    render_label,
)

WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def _ink_rows(before: Image.Image, after: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Height of the near-white text pixels drawn inside ``box`` (independent of the
    renderer's own measurement): rows where some pixel turned almost white on a dark plate."""
    region = after.convert("RGB").crop(box)
    plate = before.convert("RGB").crop(box)
    rows = [y for y in range(region.height)
            if any(min(region.getpixel((x, y))) > 200 and region.getpixel((x, y))
                   != plate.getpixel((x, y)) for x in range(region.width))]
    return rows[-1] - rows[0] + 1 if rows else 0


@pytest.mark.parametrize(("size", "mode"), [((800, 600), "RGB"), ((300, 1200), "L"),
                                             ((1920, 1080), "RGBA"), ((160, 120), "P")])
@pytest.mark.parametrize("background", [BLACK, WHITE, (128, 64, 200)])
def test_glyphs_are_at_least_five_percent_of_the_shortest_side(
        size: tuple[int, int], mode: str, background: tuple[int, int, int]) -> None:
    image = Image.new("RGB", size, background).convert(mode)
    result = render_label(image)
    short = min(size)
    assert result.glyph_ratio >= IMAGE_MIN_TEXT_HEIGHT_RATIO
    assert result.glyph_height >= math.ceil(0.05 * short)
    if background != WHITE:  # the white text shows against the picture itself too
        measured = _ink_rows(image, result.image, result.box)
        assert measured >= math.ceil(0.05 * short) - 1
    # Only the label's rectangle changed.
    diff = ImageChops.difference(image.convert("RGB"), result.image.convert("RGB")).getbbox()
    assert diff is not None
    left, top, right, bottom = result.box
    assert left <= diff[0]
    assert top <= diff[1]
    assert diff[2] <= right
    assert diff[3] <= bottom
    assert result.image.size == size


@pytest.mark.parametrize("position", ["bottom-right", "bottom-left", "top-right", "top-left",
                                      "bottom", "top"])
def test_positions(position: str) -> None:
    result = render_label(Image.new("RGB", (640, 480), BLACK), ImageLabel(position=position))
    left, top, right, bottom = result.box
    assert (top < 240) == position.startswith("top")
    if position.endswith("left"):
        assert left < 100
    elif position.endswith("right"):
        assert right > 540
    else:
        assert abs((left + right) / 2 - 320) <= 1


def test_the_text_is_readable_on_any_background() -> None:
    """White glyphs with a dark outline on a translucent dark plate: the text pixels differ
    strongly from the plate around them on a white and a black picture."""
    for background in (WHITE, BLACK):
        result = render_label(Image.new("RGB", (800, 600), background))
        region = result.image.crop(result.box)
        lightest = max(min(region.getpixel((x, y))) for x in range(region.width)
                       for y in range(region.height))
        plate = region.getpixel((2, region.height // 2))
        assert lightest > 240
        assert max(plate) < 160


def test_wording_rules_and_font_coverage() -> None:
    with pytest.raises(InvalidLabelError, match="generation element"):
        ImageLabel(wording="AI")
    with pytest.raises(InvalidLabelError, match="no glyph"):
        render_label(Image.new("RGB", (400, 300)), ImageLabel(wording="AI生成🙂"))
    with pytest.raises(InvalidLabelError, match="at least 5 %"):
        ImageLabel(ratio=0.04)
    with pytest.raises(InvalidLabelError, match="position"):
        ImageLabel(position="middle")
    for wording in ("AI生成", "人工智能生成", "本内容由人工智能生成", "人工智能合成", "AI合成"):
        render_label(Image.new("RGB", (1200, 800)), ImageLabel(wording=wording))


def test_the_bundled_font_ships_with_its_licence() -> None:
    font = Path(bundled_font())
    assert font.is_file()
    assert font.stat().st_size < 100_000
    licence = (font.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL Open Font License" in licence


# --- files: the label drawn, the format kept, then the implicit label -----------------------


def _label_file(tmp_path: Path, fixture: str) -> tuple[bytes, bytes]:
    from tests.conftest import MEDIA, record

    import aiglabel
    from aiglabel.explicit.text import TextNotice

    src = MEDIA / fixture
    dst = tmp_path / src.name
    result = aiglabel.label(src, dst, record("img"), notice=TextNotice())
    assert result.notice is not None
    assert [lb.record for lb in aiglabel.read_labels(dst)] == [record("img")]
    return src.read_bytes(), dst.read_bytes()


def _open(data: bytes) -> Image.Image:
    import io

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_jpeg_keeps_its_quantization_exif_and_icc(tmp_path: Path) -> None:
    before, after = _label_file(tmp_path, "jpeg/exif-icc.jpg")
    old, new = _open(before), _open(after)
    assert new.format == "JPEG"
    assert new.size == old.size
    assert new.quantization == old.quantization  # type: ignore[attr-defined]
    assert new.info.get("icc_profile") == old.info.get("icc_profile")
    assert new.getexif() == old.getexif()
    assert ImageChops.difference(old.convert("RGB"), new.convert("RGB")).getbbox() is not None


@pytest.mark.parametrize("fixture", ["png/plain.png", "webp/lossless.webp", "tiff/plain.tif"])
def test_lossless_formats_stay_lossless_outside_the_label(tmp_path: Path, fixture: str) -> None:
    before, after = _label_file(tmp_path, fixture)
    old, new = _open(before), _open(after)
    assert new.format == old.format
    diff = ImageChops.difference(old.convert("RGBA"), new.convert("RGBA")).getbbox(
        alpha_only=False)
    assert diff is not None
    # Every pixel outside the bottom-right label rectangle is identical.
    short = min(old.size)
    assert diff[0] > old.width // 3
    assert diff[1] > old.height // 3
    assert (diff[3] - diff[1]) >= math.ceil(0.05 * short)


def test_animated_and_other_formats_are_refused(tmp_path: Path) -> None:
    from tests.conftest import MEDIA, record

    import aiglabel
    from aiglabel.errors import CarrierUnsupportedError
    from aiglabel.explicit.text import TextNotice

    with pytest.raises(CarrierUnsupportedError, match="animated"):
        aiglabel.label(MEDIA / "webp" / "animated.webp", tmp_path / "a.webp", record("x"),
                       notice=TextNotice())
    with pytest.raises(CarrierUnsupportedError, match="JPEG, PNG, WebP and TIFF"):
        aiglabel.label(next((MEDIA / "gif").iterdir()), tmp_path / "a.gif", record("x"),
                       notice=TextNotice())
    assert not list(tmp_path.iterdir())


def test_the_output_is_self_checked() -> None:
    import io

    from tests.conftest import MEDIA

    from aiglabel.explicit.image import add_image_label, check_output

    data = (MEDIA / "jpeg" / "exif-icc.jpg").read_bytes()
    output, rendered = add_image_label(data, name="a.jpg")
    source = Image.open(io.BytesIO(data))
    height = check_output(source, output, rendered)
    assert height >= math.ceil(0.05 * min(source.size))
    with pytest.raises(InvalidLabelError, match="self-check failed"):
        check_output(source, data, rendered)  # an output without the label is caught


def test_cli_font_option(tmp_path: Path) -> None:
    import shutil

    from tests.conftest import MEDIA, PRODUCER
    from typer.testing import CliRunner

    from aiglabel.cli.main import app

    runner = CliRunner()
    png = str(MEDIA / "png" / "plain.png")
    missing = runner.invoke(app, ["label", png, "-o", str(tmp_path / "a"), "--explicit",
                                  "--notice", "AI生成🙂", "--producer", PRODUCER])
    assert missing.exit_code == 1
    assert "no glyph" in missing.output
    assert "--font" in missing.output
    font = tmp_path / "own.otf"
    shutil.copy(bundled_font(), font)
    given = runner.invoke(app, ["label", png, "-o", str(tmp_path / "b"), "--explicit",
                                "--font", str(font), "--producer", PRODUCER])
    assert given.exit_code == 0, given.output
    assert (tmp_path / "b" / "plain.png").is_file()
    for args in (["--explicit", "--font", str(tmp_path / "none.otf")], ["--font", str(font)]):
        bad = runner.invoke(app, ["label", png, "-o", str(tmp_path / "c"), *args])
        assert bad.exit_code == 2
