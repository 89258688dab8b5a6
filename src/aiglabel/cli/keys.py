"""``aiglabel keys init``: a label-signing key pair and a trust file (and a C2PA test CA).

Files written into ``-o DIR`` (existing ones are refused without ``--overwrite``):

- ``aiglabel-signing.key``: the private key, PKCS#8 PEM, mode 0600 (encrypted with
  ``AIGLABEL_KEY_PASSPHRASE`` when that is set); pass it to ``--sign-key``;
- ``aiglabel-signing.pub.pem``: the public key to publish;
- ``aiglabel-trust.json``: a trust file trusting that key for the provider code and role;
  pass it to ``aiglabel verify --trust``;
- with ``--c2pa``: a development CA and a C2PA signer (:mod:`aiglabel.provenance.devca`;
  see ``docs/c2pa.md``): for ``label --c2pa-cert``/``--c2pa-key`` and ``verify
  --c2pa-anchors``. Development only: platforms will not trust it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path  # noqa: TC003  (typer reads the annotations at run time)
from typing import Annotated

import typer

from aiglabel.cli._common import guard

__all__ = ["KEY_FILE", "PUBLIC_FILE", "TRUST_FILE", "app"]

KEY_FILE = "aiglabel-signing.key"
PUBLIC_FILE = "aiglabel-signing.pub.pem"
TRUST_FILE = "aiglabel-trust.json"

app = typer.Typer(
    name="keys",
    help="Signing keys for labels (ReservedCode1/2) and C2PA development certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``path`` through a new temporary file (mode 0600 for private keys, 0644 else)
    renamed over it: an existing file or symlink there is replaced, never written through."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@app.command("init")
def init_command(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="DIR", help="Folder for the key files "
                     "(created if missing).", show_default=False),
    ],
    producer: Annotated[
        str | None,
        typer.Option("--producer", metavar="CODE", help="Provider code the trust file trusts "
                     "the key for; default: AIGLABEL_PRODUCER, else the demo code.",
                     show_default=False),
    ] = None,
    alg: Annotated[
        str,
        typer.Option("--alg", metavar="ALG", help="es256 (ECDSA P-256, default) or ed25519."),
    ] = "es256",
    role: Annotated[
        str,
        typer.Option("--role", metavar="ROLE", help="producer (signs ReservedCode1 with "
                     "`label --sign-key`) or platform (ReservedCode2, `propagate --sign-key`)."),
    ] = "producer",
    c2pa: Annotated[
        bool,
        typer.Option("--c2pa", help="Also write a development CA, a C2PA signer certificate "
                     "chain and key, and the trust-anchor PEM."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing key files.")
    ] = False,
) -> None:
    """Create a label-signing key pair, its public key and a trust file (and with --c2pa a
    C2PA development CA and signer); print the file names and the public key to publish."""
    from aiglabel.config import default_producer
    from aiglabel.errors import InvalidLabelError
    from aiglabel.signing.keys import KEY_ALGORITHMS, PASSPHRASE_ENV, generate_key
    from aiglabel.signing.trust import ROLES, TrustEntry, TrustStore

    if alg.lower() not in KEY_ALGORITHMS:
        msg = f"{alg!r} is not one of {', '.join(KEY_ALGORITHMS)}"
        raise typer.BadParameter(msg, param_hint="'--alg'")
    if role not in ROLES[:2]:
        msg = f"{role!r} is not producer or platform"
        raise typer.BadParameter(msg, param_hint="'--role'")
    code, demo = (producer, False) if producer is not None else default_producer()
    paths = [output / KEY_FILE, output / PUBLIC_FILE, output / TRUST_FILE]
    with guard():
        existing = [p for p in paths if p.exists()]
        if existing and not overwrite:
            msg = f"{existing[0]} exists (use --overwrite to replace the key files)"
            raise typer.BadParameter(msg, param_hint="'--output'")
        output.mkdir(parents=True, exist_ok=True)
        try:
            key = generate_key(alg)
        except InvalidLabelError as exc:
            raise typer.BadParameter(exc.message, param_hint="'--alg'") from None
        passphrase = os.environ.get(PASSPHRASE_ENV)
        _write(paths[0], key.private_pem(passphrase.encode() if passphrase else None),
               private=True)
        _write(paths[1], key.public_pem())
        store = TrustStore([TrustEntry(code, role, key.alg, key.kid, key.public_pem().decode(),
                                       not_before=dt.date.today().isoformat(),
                                       note=f"created by aiglabel keys init ({role})")])
        _write(paths[2], store.to_json().encode("utf-8"))
        typer.echo(f"{paths[0]}  private key ({key.alg}, kid {key.kid}); keep it secret"
                   + (" (encrypted)" if passphrase else ""))
        typer.echo(f"{paths[1]}  public key: publish it so platforms can trust it")
        typer.echo(f"{paths[2]}  trust file: {role} key for {code}")
        if demo:
            typer.echo(f"aiglabel: warning: trusted for the DEMO producer code {code}; pass "
                       "--producer", err=True)
        if c2pa:
            from aiglabel.provenance.devca import make_dev_ca

            ca = make_dev_ca(output, overwrite=overwrite)
            for path, what in ca.described():
                typer.echo(f"{path}  {what}")
        typer.echo("")
        typer.echo(key.public_pem().decode().rstrip())


@app.command("trust")
def trust_command(
    trust_file: Annotated[
        Path, typer.Argument(metavar="TRUSTFILE", help="Trust file to add to (created if "
                             "missing).", show_default=False),
    ],
    public_key: Annotated[
        Path, typer.Argument(metavar="PUBKEY.pem", help="A provider's published public key.",
                             show_default=False),
    ],
    code: Annotated[
        str, typer.Option("--code", metavar="CODE", help="The provider code the key signs "
                          "for.", show_default=False),
    ],
    role: Annotated[
        str, typer.Option("--role", metavar="ROLE", help="producer, platform or any."),
    ] = "producer",
    not_after: Annotated[
        str | None, typer.Option("--not-after", metavar="DATE", help="Last day the key is "
                                 "trusted (ISO date).", show_default=False),
    ] = None,
) -> None:
    """Trust a published public key for a provider code (adds it to TRUSTFILE)."""
    from aiglabel.errors import InvalidLabelError
    from aiglabel.signing.keys import key_id, load_public_key
    from aiglabel.signing.trust import ROLES, TrustEntry, TrustStore

    if role not in ROLES:
        msg = f"{role!r} is not one of {', '.join(ROLES)}"
        raise typer.BadParameter(msg, param_hint="'--role'")
    with guard():
        try:
            alg, spki = load_public_key(public_key.read_bytes())
            store = TrustStore.load(trust_file) if trust_file.exists() else TrustStore()
            entry = TrustEntry(code, role, alg, key_id(spki), public_key.read_text("ascii"),
                               not_before=dt.date.today().isoformat(), not_after=not_after)
            entry.in_force(dt.date.today())
        except (InvalidLabelError, OSError, ValueError) as exc:
            typer.echo(f"aiglabel: error: {public_key}: {getattr(exc, 'message', exc)}",
                       err=True)
            raise typer.Exit(1) from None
        store.add(entry)
        store.save(trust_file)
        typer.echo(f"{trust_file}: trusts {alg} key {entry.kid} as {role} for {code}")
