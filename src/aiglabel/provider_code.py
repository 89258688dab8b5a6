"""The 27-character service-provider code (TC260 coding rule, 网安秘字〔2025〕29号).

Layout (labeling rules §F.1)::

    pos  1-2   format definition code, "00" under this rule
    pos  3     subject type: "1" organisation, "2" individual
    pos  4     binding method: "1" = bound to the USCC (organisations)
    pos  5-22  unified social credit code (USCC, GB 32100-2015), own check character at 22
    pos  23    service type: "1" generation, "2" propagation, "0" not compiled
    pos  24-27 model/application code chosen by the provider ("0000" when pos 23 is "0")

There is no check character over the whole code; only the USCC's (§F.2).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CODE_LENGTH",
    "ProviderCode",
    "ServiceType",
    "build_provider_code",
    "code_problems",
    "is_code_shaped",
    "parse_provider_code",
    "uscc_check_char",
]

CODE_LENGTH = 27
# GB 32100-2015: the 31-character alphabet (no I, O, S, V, Z); a character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100-2015: weights of characters 1-17 (= 3**i mod 31).
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# §F.3 shape: what any code looks like, individuals included.
_SHAPE_RE = re.compile(r"00[12][0-9A-Z][0-9A-Z]{18}[0-9A-Z]{5}")
# §F.3 strict layout for organisations bound to their USCC.
_STRICT_ORG_RE = re.compile(r"0011[0-9A-HJ-NPQRTUWXY]{18}[012][0-9A-Z]{4}")


class ServiceType(StrEnum):
    """Position 23 of the code (§F.1)."""

    NOT_COMPILED = "0"
    GENERATION = "1"
    PROPAGATION = "2"


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 USCC characters.

    Raises:
        ValueError: ``first17`` is not 17 characters of the USCC alphabet.
    """
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        msg = f"a USCC body is 17 characters of {USCC_ALPHABET!r}, got {first17!r}"
        raise ValueError(msg)
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


@dataclass(frozen=True, slots=True)
class ProviderCode:
    """A parsed 27-character provider code."""

    code: str
    format_code: str
    subject_type: str
    binding: str
    uscc: str
    service_type: str
    app_code: str

    @property
    def entity(self) -> str:
        """The first 22 characters: the same for every code of one legal entity."""
        return self.code[:22]


def is_code_shaped(value: str) -> bool:
    """True when ``value`` has the §F.3 shape (27 characters, ``00`` prefix, upper case)."""
    return _SHAPE_RE.fullmatch(value) is not None


def code_problems(value: str) -> list[str]:
    """List what is wrong with a provider code; an empty list means it is valid.

    Individuals' codes (subject type ``2``) are checked for shape only (§F.4: their binding is
    not reliably known).
    """
    return list(_code_problems(value))  # a batch checks the same few codes on every file


@functools.lru_cache(maxsize=256)
def _code_problems(value: str) -> tuple[str, ...]:
    if len(value) != CODE_LENGTH:
        return (f"is {len(value)} characters, a provider code has {CODE_LENGTH}",)
    if not is_code_shaped(value):
        return ("does not have the layout 00 + subject + binding + 18 + 5 upper-case "
                "alphanumerics",)
    if value[2] == "2":
        return ()
    problems: list[str] = []
    if _STRICT_ORG_RE.fullmatch(value) is None:
        problems.append(
            "does not match the organisation layout (0011, USCC alphabet, service digit 0/1/2)"
        )
        return tuple(problems)
    uscc = value[4:22]
    expected = uscc_check_char(uscc[:17])
    if uscc[17] != expected:
        problems.append(f"USCC check character is {uscc[17]!r}, expected {expected!r}")
    if value[22] == "0" and value[23:] != "0000":
        problems.append("service type 0 requires the application code 0000")
    return tuple(problems)


def parse_provider_code(value: str) -> ProviderCode:
    """Parse and validate a provider code.

    Raises:
        ValueError: the code is not valid; the message says why.
    """
    problems = code_problems(value)
    if problems:
        msg = f"provider code {value!r} " + "; ".join(problems)
        raise ValueError(msg)
    return ProviderCode(
        code=value,
        format_code=value[0:2],
        subject_type=value[2],
        binding=value[3],
        uscc=value[4:22],
        service_type=value[22],
        app_code=value[23:27],
    )


def build_provider_code(
    uscc: str,
    *,
    service_type: ServiceType | str = ServiceType.GENERATION,
    app_code: str = "0000",
) -> str:
    """Build an organisation's provider code from its USCC.

    Args:
        uscc: the 18-character unified social credit code; its check character is verified.
        service_type: position 23.
        app_code: the 4-character model/application code chosen by the provider.

    Raises:
        ValueError: the USCC or the application code is invalid.
    """
    uscc = uscc.strip().upper()
    if len(uscc) != 18:
        msg = f"a USCC has 18 characters, got {len(uscc)}"
        raise ValueError(msg)
    if uscc[17] != uscc_check_char(uscc[:17]):
        msg = f"USCC {uscc!r} has a wrong check character (expected {uscc_check_char(uscc[:17])!r})"
        raise ValueError(msg)
    service = ServiceType(service_type)
    if re.fullmatch(r"[0-9A-Z]{4}", app_code) is None:
        msg = f"application code must be 4 digits or upper-case letters, got {app_code!r}"
        raise ValueError(msg)
    if service is ServiceType.NOT_COMPILED:
        app_code = "0000"
    return parse_provider_code(f"0011{uscc}{service.value}{app_code}").code
