"""The C2PA step of :func:`aiglabel.label`: sign a manifest as the **last** step.

The explicit label (if any) and the implicit GB label are written first, to an unnamed-looking
temporary file in the destination folder; the C2PA manifest is then signed over that result
(so its hard binding covers both labels) into the destination, atomically, and the temporary
file is removed whatever happens. The manifest records ``c2pa.created`` (or an edit) with the
digital source type and carries the GB label written (:mod:`aiglabel.provenance.c2pa_sign`).
Crash-safe in-place patches do not apply: the whole file is rewritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiglabel._api import LabelResult
    from aiglabel.gb45438 import AIGCRecord

__all__ = ["C2paOptions", "label_with_c2pa"]


@dataclass(frozen=True, slots=True)
class C2paOptions:
    """How to sign the manifest: the signer's certificate chain and private key (PEM files;
    ``aiglabel keys init --c2pa`` makes development ones), the IPTC digital source type
    (``trainedAlgorithmicMedia``, or ``compositeWithTrainedAlgorithmicMedia`` for AI edits of
    existing content), and an optional title."""

    cert_chain: str
    key: str
    source_type: str = "trainedAlgorithmicMedia"
    title: str | None = None


def label_with_c2pa(src: str | os.PathLike[str], dst: str | os.PathLike[str] | None,
                    record: AIGCRecord, c2pa: C2paOptions, *, in_place: bool,
                    overwrite: bool, **label_args: Any) -> LabelResult:
    """Label ``src`` (see :func:`aiglabel.label`), then sign the C2PA manifest into ``dst``.

    Raises:
        everything :func:`aiglabel.label` raises, plus UnsupportedFormatError for a format
        c2pa-python cannot sign and InvalidLabelError for unusable credentials.
    """
    from aiglabel._api import _destination, _writable, label
    from aiglabel._io import publish
    from aiglabel.provenance._c2pacommon import source_type_uri
    from aiglabel.provenance.c2pa_sign import sign_c2pa

    source_type_uri(c2pa.source_type)  # an unknown type fails before any work
    src_path = Path(src)
    dst_path = _destination(src_path, dst, in_place=in_place)
    _writable(dst_path, overwrite=overwrite or in_place)
    temps = [Path(_temp(dst_path, ".aiglabel-c2pa")), Path(_temp(dst_path, ".aiglabel-signed"))]
    labelled, signed_path = temps
    try:
        result = label(src_path, labelled, record, overwrite=True, **label_args)
        signed = sign_c2pa(labelled, signed_path, cert_chain=c2pa.cert_chain, key=c2pa.key,
                           gb_label=result.record, source_type=c2pa.source_type,
                           title=c2pa.title, overwrite=True)
        _check_signed(labelled, signed_path, result.record, label_args.get("sign"),
                      str(src_path))
        os.chmod(signed_path, stat.S_IMODE(src_path.stat().st_mode))  # as label() keeps it
        if overwrite or in_place:
            os.replace(signed_path, dst_path)
        else:
            publish(signed_path, dst_path, overwrite=False)
    finally:
        for path in temps:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    if in_place:
        _fsync(dst_path)
    return dataclasses.replace(
        result, source=str(src_path), destination=str(dst_path),
        bytes_written=dst_path.stat().st_size,
        c2pa=f"{signed.alg} manifest, {signed.intent}, {signed.manifest_size} bytes")


def _temp(dst: Path, suffix: str) -> str:
    fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=suffix, dir=dst.parent)
    os.close(fd)
    return name


def _check_signed(labelled: Path, signed: Path, record: AIGCRecord, sign: Any,
                  name: str) -> None:
    """The signed file must still parse and carry exactly the GB label written, and a content
    binding must survive (c2pa-rs rewrites some formats: PDF wholesale, and it has been seen
    to break HEIC item locations)."""
    from aiglabel import essence_digest, read_labels
    from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, InvalidLabelError

    try:
        found = [x.record for x in read_labels(signed)]
    except CorruptFileError as exc:
        msg = (f"after C2PA signing the file no longer parses ({exc.message}); c2pa-python "
               "damaged this file's structure, so nothing was written")
        raise CarrierUnsupportedError(msg, path=name) from None
    if found != [record]:
        msg = "after C2PA signing the file does not carry the GB label written; nothing written"
        raise CarrierUnsupportedError(msg, path=name)
    if getattr(sign, "bind_content", False) and essence_digest(signed) != essence_digest(
            labelled):
        msg = ("C2PA signing rewrites this format's content bytes, which would break the "
               "label's content binding; sign without --bind-content or without --c2pa")
        raise InvalidLabelError(msg, path=name)


def _fsync(path: Path) -> None:
    """Make the renamed file and its folder entry durable (in-place writes)."""
    from aiglabel._io import fsync_path

    fsync_path(path)
    fsync_path(path.parent)
