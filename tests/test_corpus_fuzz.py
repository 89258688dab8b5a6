"""Hostile input: every fixture truncated and bit-flipped; only AiglabelError may escape."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import fixture_files, fixture_id, record

import aiglabel

if TYPE_CHECKING:
    from pathlib import Path

FIXTURES = fixture_files()


def exercise(data: bytes) -> None:
    """Run every read and write operation; AiglabelError is the only allowed failure."""
    messages: list[str] = []
    for op in (
        lambda: aiglabel.read_labels(data),
        lambda: aiglabel.inspect(data),
        lambda: aiglabel.essence_digest(data),
        lambda: aiglabel.label_bytes(data, record("fuzz")),
    ):
        try:
            op()
        except aiglabel.AiglabelError as exc:
            messages.append(str(exc))
    assert all("\n" not in m for m in messages)


@pytest.mark.parametrize("path", FIXTURES, ids=[fixture_id(p) for p in FIXTURES])
def test_truncations(path: Path) -> None:
    data = path.read_bytes()
    cuts = sorted({0, 1, 2, 4, 8, 12, 16, 20, 32, 64, 100, len(data) // 3, len(data) // 2,
                   len(data) - 20, len(data) - 1})
    for cut in cuts:
        if 0 <= cut < len(data):
            exercise(data[:cut])


@pytest.mark.parametrize("path", FIXTURES, ids=[fixture_id(p) for p in FIXTURES])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flips=st.lists(st.tuples(st.integers(0, 4095), st.integers(1, 255)), min_size=1,
                      max_size=6))
def test_bit_flips_in_headers(path: Path, flips: list[tuple[int, int]]) -> None:
    data = bytearray(path.read_bytes())
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    exercise(bytes(data))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"hello, plain text\n" * 5, "unsupported format"),
        (b"\x00" * 300, "unsupported format"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", "truncated"),
    ],
)
def test_bad_input_gives_one_line_error(data: bytes, message: str) -> None:
    with pytest.raises(aiglabel.AiglabelError, match=message) as info:
        aiglabel.label_bytes(data, record("bad"), name="bad.jpg")
    assert str(info.value).startswith("bad.jpg: ")
    assert "\n" not in str(info.value)
