"""The trust file: which public keys may sign labels for which provider code (rules §D.5.7).

A JSON file a platform (or a producer checking its own output) keeps::

    {"format": "aiglabel-trust/1",
     "keys": [{"code": "001191110102MACQD9K64010000", "role": "producer",
               "alg": "ES256", "kid": "3f9a0c1d2e4b5a69",
               "public_key": "-----BEGIN PUBLIC KEY-----\\n...\\n-----END PUBLIC KEY-----\\n",
               "not_before": "2026-11-29", "not_after": null, "note": "..."}]}

``role`` is ``producer`` (may sign ReservedCode1 for labels whose ``ContentProducer`` is
``code``), ``platform`` (ReservedCode2, ``ContentPropagator`` = ``code``) or ``any``.
``kid`` must be the key's own id; ``not_before``/``not_after`` (ISO dates, optional) bound when
the key is trusted, checked at verification time (tokens carry no signing time). A key embedded
in a label is trusted only through this file, and only for the code listed with it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiglabel.errors import InvalidLabelError

__all__ = ["TRUST_FORMAT", "TrustEntry", "TrustStore"]

TRUST_FORMAT = "aiglabel-trust/1"
ROLES = ("producer", "platform", "any")


@dataclass(frozen=True, slots=True)
class TrustEntry:
    """One trusted key (see the module docstring)."""

    code: str
    role: str
    alg: str
    kid: str
    public_key: str
    not_before: str | None = None
    not_after: str | None = None
    note: str | None = None

    def in_force(self, today: dt.date) -> bool:
        """Whether ``today`` lies within ``not_before`` .. ``not_after``."""
        start = dt.date.fromisoformat(self.not_before) if self.not_before else dt.date.min
        end = dt.date.fromisoformat(self.not_after) if self.not_after else dt.date.max
        return start <= today <= end


class TrustStore:
    """Trusted label-signing keys, looked up by provider code, role and key id."""

    def __init__(self, entries: list[TrustEntry] | None = None) -> None:
        self.entries: list[TrustEntry] = list(entries or [])

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrustStore:
        """Read a trust file; every entry's key and key id are checked.

        Raises:
            InvalidLabelError: unreadable or malformed, naming the file and the entry.
        """
        from aiglabel.signing.keys import key_id, load_public_key

        shown = os.fspath(path)
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            msg = f"cannot read the trust file ({exc})"
            raise InvalidLabelError(msg, path=shown) from None
        if not isinstance(data, dict) or data.get("format") != TRUST_FORMAT:
            msg = f"not a trust file (expected \"format\": \"{TRUST_FORMAT}\")"
            raise InvalidLabelError(msg, path=shown)
        raw_keys = data.get("keys", [])
        if not isinstance(raw_keys, list):
            msg = "\"keys\" must be a list of key entries"
            raise InvalidLabelError(msg, path=shown)
        entries = []
        for i, raw in enumerate(raw_keys):
            try:
                if not isinstance(raw, dict) or not all(
                        isinstance(v, str) or v is None for v in raw.values()):
                    msg = "an entry is an object of strings"
                    raise ValueError(msg)
                entry = TrustEntry(**raw)
                alg, spki = load_public_key(entry.public_key.encode())
                problems = [
                    (entry.role not in ROLES, f"role must be one of {', '.join(ROLES)}"),
                    (alg != entry.alg, f"alg {entry.alg!r} but the key is {alg}"),
                    (key_id(spki) != entry.kid, f"kid {entry.kid!r} is not the key's id "
                                                f"{key_id(spki)}"),
                ]
                entry.in_force(dt.date.today())  # dates parse
            except (TypeError, ValueError, AttributeError, InvalidLabelError) as exc:
                msg = f"trust entry {i}: {getattr(exc, 'message', exc)}"
                raise InvalidLabelError(msg, path=shown) from None
            bad = [text for failed, text in problems if failed]
            if bad:
                msg = f"trust entry {i} ({entry.code}): {bad[0]}"
                raise InvalidLabelError(msg, path=shown)
            entries.append(entry)
        return cls(entries)

    def to_json(self) -> str:
        """The trust file's text (pretty JSON)."""
        data: dict[str, Any] = {"format": TRUST_FORMAT,
                                "keys": [asdict(e) for e in self.entries]}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trust file atomically (a temporary file renamed over it)."""
        import tempfile

        target = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(self.to_json())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, entry: TrustEntry) -> None:
        """Trust one more key (an entry with the same code, role and kid is replaced)."""
        self.entries = [e for e in self.entries
                        if (e.code, e.role, e.kid) != (entry.code, entry.role, entry.kid)]
        self.entries.append(entry)

    def lookup(self, code: str, role: str, kid: str, public_key: bytes | None = None,
               today: dt.date | None = None) -> tuple[TrustEntry | None, str]:
        """The entry trusting the key ``kid`` (whose DER SubjectPublicKeyInfo, when given,
        must equal the trusted key: a key id alone is 64 bits) to sign as ``role`` for
        ``code`` on ``today``, and if none, why."""
        from aiglabel.signing.keys import load_public_key

        day = today or dt.date.today()
        same_kid = [e for e in self.entries if e.kid == kid]
        if public_key is not None:
            same_kid = [e for e in same_kid
                        if load_public_key(e.public_key.encode())[1] == public_key]
        if not same_kid:
            return None, "the key is not in the trust file"
        for_code = [e for e in same_kid if e.code == code and e.role in (role, "any")]
        if not for_code:
            codes = ", ".join(sorted({f"{e.code} ({e.role})" for e in same_kid}))
            return None, f"the key is trusted for {codes}, not as {role} for {code}"
        for entry in for_code:
            if entry.in_force(day):
                return entry, "trusted"
        spans = "; ".join(f"{e.not_before or '-'} to {e.not_after or '-'}" for e in for_code)
        return None, f"the key was trusted for {code} from {spans}, not on {day.isoformat()}"
