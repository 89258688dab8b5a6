"""A small YAML reader: enough for the values of a Markdown front matter (rules §C.4, §H 14).

Reads plain, single- and double-quoted scalars (YAML 1.2.2 §7.3), block and flow mappings,
block scalars (``|``/``>``), and keeps sequences as their text (no Annex E value is one). It
resolves nothing: a plain scalar that a YAML 1.1 or 1.2 loader would turn into a number,
boolean, date or null is reported (:func:`typed_findings`), so a label never changes type
silently. Used by :mod:`.markdown`; the tests check it against PyYAML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aiglabel.model import Finding, Severity

__all__ = ["Mapping", "Node", "Scalar", "is_item", "parse_value", "split_key", "to_json_text",
           "typed_findings"]

# YAML 1.1 (PyYAML) and 1.2 core schema resolution of plain scalars (rules §H 14, §G 13).
_NULL = re.compile(r"(?:~|null|Null|NULL)?")
_BOOL = re.compile(r"(?:true|false|yes|no|on|off)", re.I)
_INT = re.compile(r"[-+]?(?:[0-9][0-9_]*|0o[0-7]+|0x[0-9a-fA-F_]+|0b[01_]+)")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*|[0-9][0-9_]*)"
                    r"(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:"
                   r"[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?")
# YAML 1.2.2 §5.7 escapes of double-quoted scalars.
_DQ_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_DQ_SIMPLE = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
              "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
              "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_BLOCK_HEADER = re.compile(r"([|>])([-+]?)[1-9]?([-+]?)[ \t]*(?:#.*)?")


def is_item(text: str) -> bool:
    return text == "-" or text.startswith(("- ", "-\t"))


# --- a small YAML reader: enough for front matter values -------------------------------------


@dataclass(frozen=True, slots=True)
class Scalar:
    """A YAML scalar: its text, and for plain scalars YAML reads as another type, that type."""

    text: str
    typed: str | None = None


@dataclass(frozen=True, slots=True)
class Mapping:
    """A YAML mapping as ordered pairs (duplicate keys kept, rules §G 9)."""

    pairs: tuple[tuple[str, Node], ...]


Node = Scalar | Mapping  # a sequence is kept as its text: no Annex E value is one


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))


def split_key(text: str) -> tuple[str, str] | None:
    """``(key, rest)`` of a ``key: value`` line (indentation removed), else ``None``. Linear in
    the line's length: a key ends at the first ``:`` followed by a blank or the line end."""
    if not text or text[0] in "#?[]{},&*!|>%@`" or is_item(text):
        return None
    if text[0] in "\"'":
        end = _quoted_end(text, 0)
        if end < 0:
            return None
        after = text[end + 1 :].lstrip(" \t")
        if not after.startswith(":"):  # "key":value is fine after a quoted key
            return None
        return _unquote(text[: end + 1]), after[1:]
    i = 0
    while (i := text.find(":", i)) >= 0:
        if i + 1 == len(text) or text[i + 1] in " \t":
            key = text[:i].rstrip(" \t")
            return (key, text[i + 1 :]) if key and " #" not in key else None
        i += 1
    return None


def _quoted_end(text: str, start: int) -> int:
    """Index of the quote closing the scalar that opens at ``start``, or -1."""
    quote, i, n = text[start], start + 1, len(text)
    while i < n:
        c = text[i]
        if quote == '"' and c == "\\":
            i += 2
            continue
        if c == quote:
            if quote == "'" and text[i + 1 : i + 2] == "'":
                i += 2  # '' is an escaped quote in single-quoted scalars
                continue
            return i
        i += 1
    return -1


def _fold(inner: str) -> str:
    """YAML flow folding: a line break between text becomes a space, an empty line a newline."""
    if "\n" not in inner:
        return inner
    lines = inner.split("\n")
    out = lines[0].rstrip(" \t\r")
    broke = False
    for line in lines[1:]:
        part = line.strip(" \t\r")
        if not part:
            out += "\n"
            broke = True
        else:
            out += ("" if broke else " ") + part
            broke = False
    return out


def _unquote(text: str) -> str:
    """The value of a quoted scalar ``text`` (quotes included)."""
    inner = _fold(text[1:-1])
    if text[0] == "'":
        return inner.replace("''", "'")

    def one(m: re.Match[str]) -> str:
        digits = m.group(1) or m.group(2) or m.group(3)
        if digits:
            code = int(digits, 16)
            return chr(code) if code <= 0x10FFFF else m.group(0)
        return _DQ_SIMPLE.get(m.group(4), m.group(0))

    value = _DQ_ESCAPE.sub(one, inner)
    # \uD83D\uDE00 escapes a pair: join it; a lone surrogate becomes U+FFFD.
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _plain(text: str) -> Scalar:
    """A plain scalar, its YAML type noted when it is not a string (rules §H 14)."""
    value = text.strip()
    for name, pattern in (("null", _NULL), ("bool", _BOOL), ("int", _INT), ("float", _FLOAT),
                          ("timestamp", _DATE)):
        if pattern.fullmatch(value):
            return Scalar(value, name)
    return Scalar(value)


def _strip_comment(text: str) -> str:
    for mark in (" #", "\t#"):
        cut = text.find(mark)
        if cut >= 0:
            text = text[:cut]
    return "" if text.startswith("#") else text


def parse_value(rest: str, cont: list[str], depth: int = 0) -> Node:
    """Parse the value of ``key: rest`` followed by its continuation lines.

    Raises:
        ValueError: the value is not YAML this reader understands (unclosed quotes or
            brackets, nesting deeper than 32).
    """
    if depth > 32:
        msg = "nesting deeper than 32"
        raise ValueError(msg)
    head = rest.strip()
    if not head or head.startswith("#"):
        body = [c for c in cont if c.strip() and not c.strip().startswith("#")]
        if not body:
            return Scalar("", "null")
        if is_item(body[0].strip()):
            return Scalar("\n".join(c.strip() for c in body))
        return _block_mapping(cont, depth)
    if head[0] == "{":
        return _flow_mapping("\n".join([head, *cont]), depth)
    if head[0] in "\"'":
        text = "\n".join([head, *cont])
        end = _quoted_end(text, 0)
        if end < 0:
            msg = "unclosed quoted scalar"
            raise ValueError(msg)
        return Scalar(_unquote(text[: end + 1]))
    block = _BLOCK_HEADER.fullmatch(head)
    if block is not None:
        return Scalar(_block_scalar(block, cont))
    parts = [_strip_comment(head)]
    parts += [c.strip() for c in cont if not c.strip().startswith("#")]
    return _plain(_fold("\n".join(parts)))


def _block_mapping(lines: list[str], depth: int) -> Mapping:
    pairs: list[tuple[str, Node]] = []
    child: tuple[str, str] | None = None
    cont: list[str] = []
    base: int | None = None
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            if child is not None:
                cont.append(line)
            continue
        if base is None:
            base = _indent(line)
        split = split_key(line.lstrip(" \t")) if _indent(line) <= base else None
        if split is None:
            if child is None:
                msg = f"expected 'key: value', got {stripped[:40]!r}"
                raise ValueError(msg)
            cont.append(line)
            continue
        if child is not None:
            pairs.append((child[0], parse_value(child[1], cont, depth + 1)))
        child, cont = split, []
    if child is not None:
        pairs.append((child[0], parse_value(child[1], cont, depth + 1)))
    return Mapping(tuple(pairs))


def _block_scalar(header: re.Match[str], lines: list[str]) -> str:
    """A literal (``|``) or folded (``>``) block scalar with its chomping indicator."""
    cut = min((_indent(line) for line in lines if line.strip()), default=0)
    text = "\n".join(line[cut:] for line in lines)
    body = text.rstrip("\n \t")
    chomp = header.group(2) or header.group(3)
    tail = {"-": "", "+": "\n" + text[len(body) :].replace(" ", "")}.get(chomp, "\n")
    return (body if header.group(1) == "|" else _fold(body)) + (tail if body else "")


def _flow_mapping(text: str, depth: int = 0) -> Mapping:
    """A YAML flow mapping ``{key: value, ...}`` whose values are scalars or flow mappings
    (a flow sequence is kept as its text)."""
    body = text.strip()
    if depth > 32 or len(body) < 2 or body[0] != "{" or body[-1] != "}":
        msg = "not a closed flow mapping {...}"
        raise ValueError(msg)
    pairs: list[tuple[str, Node]] = []
    for item in _flow_items(body[1:-1]):
        key, rest = split_key(item) or (item, "")
        rest = rest.strip()
        if rest.startswith("{"):
            pairs.append((key, _flow_mapping(rest, depth + 1)))
        elif rest[:1] in ("'", '"') and _quoted_end(rest, 0) == len(rest) - 1:
            pairs.append((key, Scalar(_unquote(rest))))
        else:
            pairs.append((key, _plain(_fold(rest))))
    return Mapping(tuple(pairs))


def _flow_items(body: str) -> list[str]:
    """The entries of a flow collection: split at commas outside quotes and brackets."""
    items: list[str] = []
    start = level = i = 0
    lead = True  # a quote opens a scalar only where a value or key starts
    while i < len(body):
        c = body[i]
        if c in "\"'" and lead:
            end = _quoted_end(body, i)
            if end < 0:
                msg = "unclosed quote in a flow collection"
                raise ValueError(msg)
            i = end
        elif c in "{[":
            level += 1
        elif c in "}]":
            level -= 1
        elif c == "," and level == 0:
            items.append(body[start:i])
            start = i + 1
        lead = c in "{[,:" or (c in " \t\r\n" and lead)
        i += 1
    items.append(body[start:])
    return [item.strip() for item in items if item.strip()]


def to_json_text(node: Node) -> str:
    """Compact JSON of a node, pairs in order (duplicates kept); every scalar is a string."""
    if isinstance(node, Scalar):
        return json.dumps(node.text, ensure_ascii=False)
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + to_json_text(v)
                          for k, v in node.pairs) + "}"


def typed_findings(node: Node, carrier: str) -> list[Finding]:
    # rules §H 14 / §G 13: an unquoted YAML scalar that reads as a number (or a boolean, date,
    # null) is not a string; the reader keeps the text as written and records the error.
    out: list[Finding] = []
    if isinstance(node, Mapping):
        for key, value in node.pairs:
            if isinstance(value, Scalar) and value.typed:
                out.append(Finding("G13.not-string", Severity.ERROR,
                                   f"{key}: unquoted YAML value {value.text!r} reads as "
                                   f"{value.typed}, not string (quote it)", carrier))
            elif isinstance(value, Mapping):
                out.extend(typed_findings(value, carrier))
    return out
