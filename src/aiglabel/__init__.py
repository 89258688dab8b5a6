"""aiglabel: GB 45438-2025 labels for AI-generated content.

Write the implicit (metadata) label losslessly, read every label a file carries, and check it
against the standard::

    import aiglabel

    record = aiglabel.AIGCRecord.for_producer("001191110102MACQD9K64010000")
    aiglabel.label("in.png", "out.png", record)
    for found in aiglabel.read_labels("out.png"):
        print(found.carrier, found.record)
"""

from __future__ import annotations

from aiglabel._api import (
    FileInput,
    Inspection,
    LabelResult,
    detect_format,
    essence_digest,
    inspect,
    label,
    label_bytes,
    label_stream,
    read_labels,
)
from aiglabel._io import DurableBatch
from aiglabel.codecs.base import FoundLabel
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    InvalidLabelError,
    LimitExceededError,
    OutputError,
    UnsupportedFormatError,
)
from aiglabel.explicit.text import TextNotice
from aiglabel.gb45438 import FIELDS, AIGCRecord, new_produce_id, parse_label, to_json
from aiglabel.model import Finding, Severity

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "AIGCRecord",
    "AiglabelError",
    "CarrierUnsupportedError",
    "CorruptFileError",
    "DurableBatch",
    "FileInput",
    "Finding",
    "FoundLabel",
    "Inspection",
    "InvalidLabelError",
    "LabelResult",
    "LimitExceededError",
    "OutputError",
    "Severity",
    "TextNotice",
    "UnsupportedFormatError",
    "__version__",
    "detect_format",
    "essence_digest",
    "inspect",
    "label",
    "label_bytes",
    "label_stream",
    "new_produce_id",
    "parse_label",
    "read_labels",
    "to_json",
]
