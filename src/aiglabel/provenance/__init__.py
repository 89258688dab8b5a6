"""C2PA provenance: sign manifests with the AI claim and the GB label, read them offline.

Needs the ``c2pa`` extra (c2pa-python and cryptography), imported only when a function runs.

Public API:

- :func:`sign_c2pa` (path to new path) and :func:`sign_c2pa_bytes` (in memory) write a manifest
  with a ``c2pa.actions.v2`` assertion (``c2pa.created``, or ``c2pa.opened`` + ``c2pa.edited``
  for edits) carrying the IPTC ``digitalSourceType``, and the GB 45438 label in the
  ``cn.org.tc260.aigc`` assertion (:data:`GB_ASSERTION_LABEL`); they return
  :class:`C2paSignResult` and bytes.
- :func:`read_c2pa` returns a :class:`C2paReport` (state ``Trusted``/``Valid``/``Invalid``/
  ``Remote``, failure codes, signer, source types of the active manifest and its ingredients,
  ``is_ai``, the GB label) or ``None`` when there is no manifest; trust anchors are optional.
- :func:`make_dev_ca` writes a development CA and a signer certificate c2pa-rs accepts
  (:class:`DevCA`).
- :func:`detect_mime`, :data:`SUPPORTED_MIME_TYPES`, :func:`supported_mime_types`: which
  formats sign; :func:`is_ai_source_type`, :data:`AI_SOURCE_TYPES`: what counts as an AI claim;
  :func:`c2pa_settings`: the offline c2pa-rs settings used everywhere here.

See ``docs/c2pa.md`` for trust lists and the files the development CA writes.
"""

from __future__ import annotations

from aiglabel.provenance._c2pacommon import (
    AI_SOURCE_TYPES,
    GB_ASSERTION_LABEL,
    SUPPORTED_MIME_TYPES,
    c2pa_settings,
    detect_mime,
    supported_mime_types,
)
from aiglabel.provenance.c2pa_read import C2paReport, C2paState, is_ai_source_type, read_c2pa
from aiglabel.provenance.c2pa_sign import C2paSignResult, sign_c2pa, sign_c2pa_bytes
from aiglabel.provenance.devca import DevCA, make_dev_ca

__all__ = [
    "AI_SOURCE_TYPES",
    "GB_ASSERTION_LABEL",
    "SUPPORTED_MIME_TYPES",
    "C2paReport",
    "C2paSignResult",
    "C2paState",
    "DevCA",
    "c2pa_settings",
    "detect_mime",
    "is_ai_source_type",
    "make_dev_ca",
    "read_c2pa",
    "sign_c2pa",
    "sign_c2pa_bytes",
    "supported_mime_types",
]
