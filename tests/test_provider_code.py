from __future__ import annotations

import pytest

from aiglabel.provider_code import (
    ServiceType,
    build_provider_code,
    code_problems,
    parse_provider_code,
    uscc_check_char,
)

# rules §F.4: real codes seen in labels.
VALID = [
    ("001191110102MACQD9K64010000", "91110102MACQD9K640", "10000"),
    ("001191110102MACQD9K64018705", "91110102MACQD9K640", "18705"),
    ("001191110102MACQD9K64028705", "91110102MACQD9K640", "28705"),
    ("001191440300708461136T1308L", "91440300708461136T", "1308L"),
    ("001191440300708461136T1XGW3", "91440300708461136T", "1XGW3"),
    ("00119144030008867405X210002", "9144030008867405X2", "10002"),
    ("001191440300MA5G49LC9K1YO01", "91440300MA5G49LC9K", "1YO01"),
    ("001191110102MAD55U9H0F10002", "91110102MAD55U9H0F", "10002"),
]


@pytest.mark.parametrize(("code", "uscc", "suffix"), VALID)
def test_real_codes_parse(code: str, uscc: str, suffix: str) -> None:
    parsed = parse_provider_code(code)
    assert parsed.uscc == uscc
    assert parsed.service_type + parsed.app_code == suffix
    assert uscc_check_char(uscc[:17]) == uscc[17]
    assert parsed.entity == code[:22]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("001191110102MACQD9K64110000", "check character is '1', expected '0'"),
        ("001191110102MACQD9K640", "22 characters"),
        ("001191110102macqd9k64010000", "layout"),
        ("Minimax Agent AI", "16 characters"),
        ("doubao", "6 characters"),
        ("001191110102MACQD9K64001234", "service type 0 requires"),
    ],
)
def test_invalid_codes_name_the_problem(value: str, why: str) -> None:
    problems = code_problems(value)
    assert any(why in p for p in problems), problems
    with pytest.raises(ValueError, match="provider code"):
        parse_provider_code(value)


def test_individual_codes_are_shape_checked_only() -> None:
    assert code_problems("0021110101199001011234X10001") != []  # 28 chars
    assert code_problems("002111010119900101123410001") == []


def test_build_provider_code_round_trips() -> None:
    code = build_provider_code("91110102MACQD9K640", service_type=ServiceType.PROPAGATION,
                               app_code="8705")
    assert code == "001191110102MACQD9K64028705"
    assert build_provider_code("91110102MACQD9K640", service_type="0", app_code="ABCD").endswith(
        "00000"
    )


@pytest.mark.parametrize(
    ("uscc", "app"),
    [("91110102MACQD9K641", "0000"), ("9111010", "0000"), ("91110102MACQD9K640", "ab")],
)
def test_build_rejects_bad_input(uscc: str, app: str) -> None:
    with pytest.raises(ValueError, match="USCC|application code"):
        build_provider_code(uscc, app_code=app)


def test_uscc_check_char_rejects_bad_alphabet() -> None:
    with pytest.raises(ValueError, match="17 characters"):
        uscc_check_char("9111010IMACQD9K64")
