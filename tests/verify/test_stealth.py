"""NovelAI stealth payloads in pixel LSBs (generation-traces.md §1 "NovelAI (pixels)")."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys

import pytest
from tests.conftest import MEDIA

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")

from aiglabel.verify.stealth import StealthPayload, read_stealth, stealth_trace  # noqa: E402

INFO = {
    "Software": "NovelAI",
    "Source": "NovelAI Diffusion V4.5 1229B44F",
    "Comment": json.dumps({"prompt": "a cat", "steps": 28, "sampler": "k_euler", "seed": 1}),
}


def header(magic: str, payload: bytes, length_bits: int | None = None) -> bytes:
    bits = len(payload) * 8 if length_bits is None else length_bits
    return magic.encode("ascii") + bits.to_bytes(4, "big") + payload


def embed(rgba: np.ndarray, data: bytes, *, rgb: bool = False) -> np.ndarray:
    """Write ``data`` MSB-first into the LSBs, column-major (x outer, y inner).

    Alpha variants use channel 3; RGB variants use R, G, B of each pixel in that order.
    """
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    out = rgba.copy()
    height, width = out.shape[:2]
    if rgb:
        flat = out[:, :, :3].transpose(1, 0, 2).reshape(-1).copy()
        assert bits.size <= flat.size
        flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
        out[:, :, :3] = flat.reshape(width, height, 3).transpose(1, 0, 2)
    else:
        flat = out[:, :, 3].T.reshape(-1).copy()
        assert bits.size <= flat.size
        flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
        out[:, :, 3] = flat.reshape(width, height).T
    return out


def noise(height: int = 48, width: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8)


def rgba_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(array, "RGBA")


def roundtrip_png(image: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    out = Image.open(io.BytesIO(buf.getvalue()))
    out.load()
    return out


def test_pngcomp_gzip_json() -> None:
    payload = gzip.compress(json.dumps(INFO).encode(), mtime=0)
    image = roundtrip_png(rgba_image(embed(noise(), header("stealth_pngcomp", payload))))
    found = read_stealth(image)
    assert found is not None
    assert (found.magic, found.error, found.channel, found.compressed) == (
        "stealth_pngcomp", None, "alpha", True)
    assert found.text is not None
    assert json.loads(found.text) == INFO
    trace = stealth_trace(found)
    assert (trace.source, trace.carrier, trace.key, trace.claim, trace.tier, trace.weight) == (
        "NovelAI", "pixels:alpha-lsb", "stealth_pngcomp", "ai-generated", 5, "strong")
    assert "NovelAI Diffusion V4.5" in trace.detail
    assert len(trace.detail) <= 160


def test_pnginfo_plain_text() -> None:
    text = "Steps: 20, Sampler: Euler a, CFG scale: 7 — ✓"
    image = rgba_image(embed(noise(seed=1), header("stealth_pnginfo", text.encode())))
    found = read_stealth(image)
    assert found == StealthPayload("stealth_pnginfo", text, None)
    assert stealth_trace(found).carrier == "pixels:alpha-lsb"


def test_explicit_carrier() -> None:
    found = StealthPayload("stealth_pnginfo", "x")
    assert stealth_trace(found, carrier="webp:alpha-lsb").carrier == "webp:alpha-lsb"


def test_column_major_order_matters() -> None:
    """A payload written row-major (y outer) is not found."""
    data = header("stealth_pnginfo", b"hello")
    arr = noise(seed=2)
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    flat = arr[:, :, 3].reshape(-1).copy()  # row-major
    flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
    arr[:, :, 3] = flat.reshape(arr.shape[:2])
    assert read_stealth(rgba_image(arr)) is None


@pytest.mark.parametrize(("magic", "compress"), [("stealth_rgbinfo", False),
                                                 ("stealth_rgbcomp", True)])
def test_rgb_variants(magic: str, compress: bool) -> None:
    text = json.dumps(INFO)
    payload = gzip.compress(text.encode(), mtime=0) if compress else text.encode()
    arr = embed(noise(seed=3), header(magic, payload), rgb=True)
    for image in (Image.fromarray(arr[:, :, :3].copy(), "RGB"), rgba_image(arr)):
        found = read_stealth(image)
        assert found is not None
        assert (found.magic, found.text, found.error) == (magic, text, None)
        assert stealth_trace(found).carrier == "pixels:rgb-lsb"


def test_la_image_alpha() -> None:
    arr = embed(noise(seed=4), header("stealth_pnginfo", b"grey"))
    image = Image.fromarray(arr[:, :, [0, 3]].copy(), "LA")
    found = read_stealth(image)
    assert found is not None
    assert found.text == "grey"


def test_payload_reaching_the_last_pixel() -> None:
    arr = noise(8, 8, seed=5)  # 64 bits of alpha: not even room for the header
    assert read_stealth(rgba_image(arr)) is None
    arr = noise(19, 9, seed=5)  # 171 bits: header (152) + 2 bytes, 3 bits spare
    found = read_stealth(rgba_image(embed(arr, header("stealth_pnginfo", b"ok"))))
    assert found is not None
    assert found.text == "ok"


@pytest.mark.parametrize("seed", range(5))
def test_random_pixels_give_nothing(seed: int) -> None:
    arr = noise(64, 64, seed=seed + 10)
    assert read_stealth(rgba_image(arr)) is None
    assert read_stealth(Image.fromarray(arr[:, :, :3].copy(), "RGB")) is None


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "LA", "P", "1", "I;16", "I", "F", "CMYK",
                                  "YCbCr", "PA"])
def test_plain_images_of_every_mode(mode: str) -> None:
    assert read_stealth(Image.new(mode, (32, 32))) is None


@pytest.mark.parametrize("size", [(0, 0), (1, 1), (1, 200), (200, 1), (3, 3)])
def test_tiny_images(size: tuple[int, int]) -> None:
    assert read_stealth(Image.new("RGBA", size, (1, 1, 1, 255))) is None


def test_alpha_magic_in_an_rgb_image_is_not_read() -> None:
    arr = embed(noise(seed=6), header("stealth_pnginfo", b"alpha only"))
    assert read_stealth(Image.fromarray(arr[:, :, :3].copy(), "RGB")) is None


def test_rgb_magic_in_the_alpha_channel_is_not_read() -> None:
    arr = embed(noise(seed=7), header("stealth_rgbinfo", b"wrong channel"))
    assert read_stealth(rgba_image(arr)) is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (header("stealth_pnginfo", b"", 0), "zero"),
        (header("stealth_pnginfo", b"abc", 1 << 30), "exceeds the limit"),
        (header("stealth_pnginfo", b"abc", 7000), "does not fit"),
        (header("stealth_pngcomp", b"not gzip at all"), "not valid gzip"),
        (header("stealth_pngcomp", gzip.compress(b'{"a": 1}' * 20, mtime=0)[:30]), "truncated"),
        (header("stealth_pnginfo", b"\xff\xfe\xfd"), "not valid UTF-8"),
    ],
)
def test_bad_payloads_report_an_error(data: bytes, error: str) -> None:
    found = read_stealth(rgba_image(embed(noise(seed=8), data)))
    assert found is not None
    assert found.error is not None
    assert error in found.error
    assert found.magic == data[:15].decode()
    trace = stealth_trace(found)  # the magic alone is still a trace
    assert trace.claim == "ai-generated"
    assert error in trace.detail


def test_length_not_a_multiple_of_eight() -> None:
    data = header("stealth_pnginfo", b"abc", 3 * 8 + 5)
    found = read_stealth(rgba_image(embed(noise(seed=9), data)))
    assert found is not None
    assert found.text == "abc"


def test_limits() -> None:
    bomb = gzip.compress(b"{" + b" " * 200_000 + b"}", mtime=0)
    arr = embed(noise(80, 80, seed=11), header("stealth_pngcomp", bomb))
    found = read_stealth(rgba_image(arr), max_text=10_000)
    assert found is not None
    assert found.text is None
    assert found.error is not None
    assert "exceeds 10000" in found.error
    assert read_stealth(rgba_image(arr)) is not None
    found = read_stealth(rgba_image(arr), max_payload=16)
    assert found is not None
    assert found.error is not None
    assert "exceeds the limit" in found.error


def test_large_image_reads_only_what_it_needs() -> None:
    arr = np.full((4000, 3000, 4), 255, dtype=np.uint8)
    arr = embed(arr, header("stealth_pnginfo", b"big"))
    found = read_stealth(rgba_image(arr))
    assert found is not None
    assert found.text == "big"


def test_lossy_reencode_loses_the_mark() -> None:
    arr = embed(noise(seed=12), header("stealth_rgbinfo", b"fragile"), rgb=True)
    buf = io.BytesIO()
    Image.fromarray(arr[:, :, :3].copy(), "RGB").save(buf, "JPEG", quality=90)
    with Image.open(io.BytesIO(buf.getvalue())) as image:
        image.load()
        assert read_stealth(image) is None


def test_fixture() -> None:
    with Image.open(MEDIA / "traces" / "novelai_stealth.png") as image:
        image.load()
        assert not {k for k in image.info if k in ("Software", "Comment", "parameters")}
        found = read_stealth(image)
    assert found is not None
    assert found.error is None
    assert found.magic == "stealth_pngcomp"
    assert found.text is not None
    info = json.loads(found.text)
    assert info["Software"] == "NovelAI"
    assert json.loads(info["Comment"])["sampler"] == "k_euler_ancestral"


def test_fixture_end_to_end() -> None:
    from aiglabel.verify import Verdict, verify

    report = verify(MEDIA / "traces" / "novelai_stealth.png")
    assert report.verdict is Verdict.SUSPECTED, report.to_dict()
    assert [e.detector for e in report.evidence] == ["novelai-stealth"]
    assert report.evidence[0].carrier == "pixels:alpha-lsb"


def test_modules_import_without_pillow_or_numpy() -> None:
    code = (
        "import sys\n"
        "sys.modules['PIL'] = None\nsys.modules['numpy'] = None\n"
        "import aiglabel.verify.stealth as s, aiglabel.verify.traces as t\n"
        "print(s.stealth_trace(s.StealthPayload('stealth_pngcomp', None, 'x')).source)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "NovelAI"
