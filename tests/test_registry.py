"""The default registry's lazy identification: a codec module is imported only when its
first-bytes screen matches, so each screen must accept every head its codec's sniff claims."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from tests.conftest import MEDIA, REAL, fixture_files

from aiglabel.codecs import SCREENS, screened
from aiglabel.codecs.base import Confidence
from aiglabel.registry import default_registry

HEAD = 65536


def _heads() -> list[bytes]:
    files = fixture_files() + (sorted(p for p in REAL.rglob("*") if p.is_file())
                               if REAL.is_dir() else [])
    heads = [p.read_bytes()[:HEAD] for p in files]
    rng = random.Random(45438)
    mutated = []
    for head in heads:
        for _ in range(8):  # flip bytes in the first 16: the screens' whole territory
            data = bytearray(head[:4096])
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(min(16, len(data)))] = rng.randrange(256)
            mutated.append(bytes(data))
        mutated += [head[:n] for n in (1, 3, 4, 8, 11, 12)]  # short heads
    noise = [rng.randbytes(rng.randint(1, 512)) for _ in range(2000)]
    crafted = [b"ID3\x04\x00\x00\x00\x00\x00\x00fLaC", b"ID3\x03\x00\x00\x00\x00\x00\x00",
               b"\xff\xfb\x90\x00", b"RIFF\x00\x00\x00\x00WAVE", b"RF64\xff\xff\xff\xffWAVE",
               b"\x00\x00\x00\x08wide\x00\x00\x00\x10mdat", b"II+\x00\x08\x00\x00\x00",
               b"MM\x00*\x00\x00\x00\x08", b"FLV\x01\x05"]
    return heads + mutated + noise + crafted


def test_every_public_codec_module_has_a_screen() -> None:
    modules = {cls.__module__.rsplit(".", 1)[1] for cls in default_registry
               if cls.__module__.startswith("aiglabel.codecs.")}
    assert modules == set(SCREENS)


def test_screens_accept_every_head_a_codec_claims() -> None:
    codecs = [(cls, cls.__module__.rsplit(".", 1)[1]) for cls in default_registry]
    checked = 0
    for head in _heads():
        allowed = set(screened(head))
        for cls, module in codecs:
            if cls.sniff(head) is not Confidence.NO:
                assert module in allowed, (module, head[:16])
                checked += 1
    assert checked > 500


def test_a_fresh_process_imports_only_the_screened_codecs() -> None:
    """Labelling a PNG in a new interpreter imports the PNG codec and not, say, MKV's."""
    code = (
        "import sys, aiglabel\n"
        f"aiglabel.read_labels({str(MEDIA / 'png' / 'plain.png')!r})\n"
        "print(' '.join(m.rsplit('.', 1)[1] for m in sys.modules\n"
        "               if m.startswith('aiglabel.codecs.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    loaded = set(out.split())
    assert "png" in loaded
    assert "mkv" not in loaded
    assert "mp4" not in loaded


@pytest.mark.parametrize("head", [b"", b"\x00" * 64, b"\x7fELF\x02\x01\x01\x00"])
def test_heads_no_codec_claims_import_no_codec(head: bytes) -> None:
    assert screened(head) == []


def test_shared_magic_imports_each_claimant() -> None:
    assert screened(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") == ["png"]
    assert screened(b"ID3\x04\x00\x00\x00\x00\x00\x00") == ["flac", "mp3"]  # FLAC or MP3
    assert screened("模型写的文字".encode()) == ["text"]  # plain text has no signature
    assert screened(b"RIFF\x00\x00\x00\x00WAVE") == ["avi", "wav", "webp"]
    assert screened(b"\x00\x00\x00\x18ftypheic") == ["heif", "mp4"]
