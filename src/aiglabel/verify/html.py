"""A self-contained HTML page for ``aiglabel verify --html REPORT.html``.

::

    from aiglabel.verify.html import write_html

    write_html("report.html", [report.to_dict() for report in reports])

The page is one file: inline CSS, one small inline script (search by path; the verdict filter
is CSS-only and works with scripts disabled), no external resources, and a Content Security
Policy that forbids loading anything but ``data:`` images. Every value from a report is
escaped, since paths, details and metadata come from files that may be hostile.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import io
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from aiglabel.verify._quiet import quiet_warnings

__all__ = ["make_thumbnail", "render_html", "write_html"]

VERDICTS = ("confirmed", "possibly", "suspected", "none")
"""Verdicts from most to least serious; also the order of the header badges."""

THUMBNAIL_FORMATS = frozenset({"jpeg", "png", "webp", "gif", "tiff", "heif", "heic", "avif"})
"""Report ``format`` values :func:`write_html` makes thumbnails for."""

RECORD_FIELDS = (
    "Label", "ContentProducer", "ProduceID", "ReservedCode1",
    "ContentPropagator", "PropagateID", "ReservedCode2",
)  # fmt: skip

_SHORT = 160  # characters shown before a value is cut (the full text goes in ``title``)
_TITLE_MAX = 8000  # characters of a long value kept in its ``title`` attribute
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}")
# C0/C1 controls (bar tab and newline), bidi and zero-width controls, lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069"
                     "\ufeff\ud800-\udfff]")  # fmt: skip

_CSS = """
:root{--fg:#1d232b;--mute:#5d6672;--line:#d8dde3;--bg:#f4f6f8;--card:#fff}
*{box-sizing:border-box}
body{margin:0;padding:1.2rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI","PingFang SC",
"Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:var(--fg);
background:var(--bg)}
h1{font-size:1.35rem;margin:0 0 .2rem}
.meta{color:var(--mute);margin:0 0 .6rem}
.vf{position:absolute;opacity:0;pointer-events:none}
.bar{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin:.4rem 0 1rem}
.bar label{cursor:pointer;border:2px solid transparent}
.bar label:hover{filter:brightness(.92)}
#q{margin-left:auto;padding:.3rem .5rem;min-width:16rem;border:1px solid var(--line);
border-radius:4px}
.badge{display:inline-block;padding:.12rem .55rem;border-radius:999px;font-weight:600;
font-size:.85rem;white-space:nowrap;background:#e3e7ec;color:#333}
.b-confirmed{background:#b71c1c;color:#fff}.b-possibly{background:#ef6c00;color:#fff}
.b-suspected{background:#f9c74f;color:#3d2c00}.b-none{background:#e0e4e8;color:#3b4650}
.b-all{background:#fff;color:var(--fg);border-color:var(--line)!important}
.b-errors{background:#fde7e9;color:#8e0b16}
.b-compliant{background:#dff3e4;color:#1b5e20}.b-noncompliant{background:#fde7e9;color:#8e0b16}
.b-inconclusive{background:#fff3cd;color:#6b4f00}.b-not_found{background:#eef1f4;color:#3b4650}
.i-intact,.i-trusted{color:#1b5e20}.i-invalid,.i-binding-broken{color:#b71c1c;font-weight:600}
.i-unknown-key,.i-opaque{color:#8d6e00}ul.sig{margin:.3em 0 0;padding-left:1.2em;font-size:.9em}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid #b9c2cc;
border-radius:6px;padding:.8rem 1rem;margin:0 0 .8rem;display:flex;gap:1rem}
.card.v-confirmed{border-left-color:#b71c1c}.card.v-possibly{border-left-color:#ef6c00}
.card.v-suspected{border-left-color:#f9c74f}.card.nomatch{display:none}
.thumb{flex:0 0 auto;width:96px;height:96px;display:flex;align-items:center;
justify-content:center;background:#eef1f4;border-radius:4px;overflow:hidden}
.thumb img{max-width:96px;max-height:96px}
.glyph{font:700 .8rem ui-monospace,monospace;color:var(--mute);text-transform:uppercase}
.body{flex:1 1 auto;min-width:0}
.path{font:600 .95rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:0 0 .3rem;
overflow-wrap:anywhere}
.facts{display:flex;flex-wrap:wrap;gap:.3rem .9rem;align-items:center;color:var(--mute)}
.notice{color:var(--fg);font-weight:600}
table{border-collapse:collapse;width:100%;margin:.6rem 0 .2rem;font-size:.85rem}
th,td{border-top:1px solid var(--line);padding:.25rem .4rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{color:var(--mute);font-weight:600}
dl.rec{display:grid;grid-template-columns:max-content 1fr;gap:0 .6rem;margin:.3rem 0 0;
font-size:.8rem}
dl.rec dt{color:var(--mute)}dl.rec dd{margin:0;font-family:ui-monospace,monospace;
overflow-wrap:anywhere}
ul.notes{margin:.5rem 0 0;padding-left:1.2rem}ul.notes li{overflow-wrap:anywhere}
.sev-error{color:#8e0b16}.sev-warning{color:#7a4a00}.sev-info{color:var(--mute)}
.alert{background:#fff3cd;border-left:4px solid #e0a800;padding:.3rem .6rem;margin:.5rem 0 0}
.alert.err{background:#fde7e9;border-left-color:#b71c1c}
.alert ul{margin:.2rem 0;padding-left:1.2rem}
.cut{cursor:help;border-bottom:1px dotted var(--mute)}
.foot{color:var(--mute);font-size:.8rem;margin-top:.4rem}
.empty{color:var(--mute)}
#vf-confirmed:checked~main .card:not(.v-confirmed),
#vf-possibly:checked~main .card:not(.v-possibly),
#vf-suspected:checked~main .card:not(.v-suspected),
#vf-none:checked~main .card:not(.v-none),
#vf-errors:checked~main .card:not(.has-errors){display:none}
#vf-all:checked~header label[for=vf-all],#vf-confirmed:checked~header label[for=vf-confirmed],
#vf-possibly:checked~header label[for=vf-possibly],
#vf-suspected:checked~header label[for=vf-suspected],
#vf-none:checked~header label[for=vf-none],#vf-errors:checked~header label[for=vf-errors]{
border-color:#1d232b}
.vf:focus-visible~header .bar{outline:2px solid #1d6fd6;outline-offset:3px}
@media print{body{background:#fff;padding:0;font-size:11px}.card{break-inside:avoid;
box-shadow:none}#q{display:none}.bar label{border-color:transparent!important}
.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

# Static: no report data ever enters the script, so its hash can pin it in the CSP.
_JS = (
    "(function(){var q=document.getElementById('q');if(!q)return;q.hidden=false;"
    "q.addEventListener('input',function(){var s=q.value.toLowerCase();"
    "document.querySelectorAll('.card').forEach(function(c){"
    "var p=(c.getAttribute('data-path')||'').toLowerCase();"
    "c.classList.toggle('nomatch',s!==''&&p.indexOf(s)<0);});});})();"
)
_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
    + "'; base-uri 'none'; form-action 'none'"
)


def _clean(value: object) -> str:
    """Text of ``value`` with invisible and unencodable characters made visible."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _esc(value: object) -> str:
    return html.escape(_clean(value), quote=True)


def _text(value: object, empty: str = "—") -> str:
    """Escaped HTML for a value; long values are cut, the full text goes in ``title``."""
    if value is None or value == "":
        return f'<span class="empty">{empty}</span>'
    text = _clean(value)
    if len(text) <= _SHORT:
        return html.escape(text)
    full = text if len(text) <= _TITLE_MAX else f"{text[:_TITLE_MAX]}… (+{len(text) - _TITLE_MAX})"
    more = len(text) - _SHORT
    return (f'<span class="cut" title="{html.escape(full)}">'
            f"{html.escape(text[:_SHORT])}… <small>(+{more})</small></span>")  # fmt: skip


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _key(value: object) -> str:
    """A CSS class suffix from a closed vocabulary value (anything odd becomes ``other``)."""
    ok = isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_-]{0,30}", value)
    return value if ok and isinstance(value, str) else "other"


def _size(n: object) -> str:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        return '<span class="empty">size unknown</span>'
    if n < 1024:
        return f"{n} B"
    value, unit = float(n), "B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):  # noqa: B007 - the last unit is used below
        value /= 1024
        if value < 1024:
            break
    return f'<span title="{n:,} bytes">{value:.1f} {unit}</span>'


def _thumb_uri(value: object) -> str | None:
    """``value`` when it is a base64 ``data:image/`` URI of a raster format, else ``None``."""
    if isinstance(value, str) and _DATA_IMAGE.fullmatch(value):
        return value
    return None


def _badge(kind: str, text: object, extra: str = "") -> str:
    return f'<span class="badge b-{_key(kind)}"{extra}>{_esc(text)}</span>'


def _record(record: object) -> str:
    if not isinstance(record, Mapping):
        return ""
    keys = [k for k in RECORD_FIELDS if k in record]
    keys += sorted((str(k) for k in record if k not in RECORD_FIELDS), key=str)
    rows = "".join(f"<dt>{_esc(k)}</dt><dd>{_text(record.get(k))}</dd>" for k in keys)
    return f'<dl class="rec">{rows}</dl>'


def _signatures(items: object) -> str:
    """The label's signature checks (aiglabel.signing), one line each."""
    rows = [f'<li class="i-{_key(sig.get("state"))}">{_text(sig.get("field"))}: '
            f'{_text(sig.get("state"))} — {_text(sig.get("detail"))}</li>'
            for sig in _list(items) if isinstance(sig, Mapping)
            and sig.get("state") not in ("absent", None)]
    return f'<ul class="sig">{"".join(rows)}</ul>' if rows else ""


def _evidence(items: list[Any]) -> str:
    rows = []
    for ev in items:
        if not isinstance(ev, Mapping):
            continue
        integrity = ev.get("integrity")
        contributes = ev.get("contributes")
        rows.append(
            "<tr>"
            f"<td>{_text(ev.get('kind'))}<br><small>{_text(ev.get('detector'), '')}</small></td>"
            f"<td>{_text(ev.get('carrier'))}</td><td>{_text(ev.get('claim'))}</td>"
            f"<td>{_text(ev.get('tier'))}</td>"
            f'<td class="i-{_key(integrity)}">{_text(integrity)}</td>'
            f"<td>{_badge(str(contributes), contributes) if contributes else _text(None)}</td>"
            f"<td>{_text(ev.get('detail'))}{_record(ev.get('record'))}"
            f"{_signatures(ev.get('signatures'))}</td></tr>"
        )
    if not rows:
        return ""
    head = "".join(f"<th>{h}</th>" for h in (
        "Kind", "Carrier", "Claim", "Tier", "Integrity", "Contributes", "Detail"))  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _findings(items: list[Any]) -> str:
    lis = []
    for f in items:
        if not isinstance(f, Mapping):
            continue
        sev = f.get("severity")
        carrier = f.get("carrier")
        where = f" <small>({_text(carrier)})</small>" if carrier else ""
        lis.append(f'<li class="sev-{_key(sev)}"><b>{_esc(sev)}</b> <code>{_text(f.get("code"))}'
                   f"</code> {_text(f.get('message'))}{where}</li>")  # fmt: skip
    return f'<ul class="notes">{"".join(lis)}</ul>' if lis else ""


def _alert(heading: str, items: list[Any], cls: str) -> str:
    if not items:
        return ""
    lis = "".join(f"<li>{_text(x)}</li>" for x in items)
    return f'<div class="{cls}"><b>{heading}</b><ul>{lis}</ul></div>'


def _card(index: int, report: Mapping[str, Any], thumbs: Mapping[str, str]) -> str:
    path = report.get("path")
    path_text = _clean(path if path is not None else "")
    verdict = report.get("verdict")
    vkey = verdict if verdict in VERDICTS else "other"
    fmt = report.get("format")
    errors = _list(report.get("errors"))
    uri = _thumb_uri(thumbs.get(path)) if isinstance(path, str) else None
    # the URI passed _DATA_IMAGE; escaping it changes nothing but keeps every attribute uniform
    thumb = (f'<img src="{html.escape(uri)}" alt="">' if uri
             else f'<span class="glyph">{_esc(str(fmt)[:5]) if fmt else "?"}</span>')  # fmt: skip
    notice = report.get("notice")
    status = report.get("status")
    label = report.get("label_to_write")
    seconds = report.get("seconds")
    timing = f"{seconds:.3f} s" if isinstance(seconds, int | float) else "—"
    warn = "".join(f"<li>{_text(w)}</li>" for w in _list(report.get("warnings")))
    classes = f"card v-{vkey}" + (" has-errors" if errors else "")
    return (
        f'<article class="{classes}" id="f{index}" data-path="{html.escape(path_text)}">'
        f'<div class="thumb">{thumb}</div><div class="body">'
        f'<p class="path" title="{html.escape(path_text)}">{_text(path_text, "(no path)")}</p>'
        f'<div class="facts">{_badge(vkey, verdict if verdict is not None else "—")}'
        + (f'<span class="notice" lang="zh-Hans">{_text(notice)}</span>' if notice else "")
        + f"<span>status {_badge(str(status), status)}</span>"
        f"<span>format <b>{_text(fmt)}</b></span><span>{_size(report.get('size'))}</span>"
        + (f"<span>label to write <b>{_text(label)}</b></span>" if label else "")
        + "</div>"
        + _alert("Errors", errors, "alert err")
        + _alert("Contradictions", _list(report.get("contradictions")), "alert")
        + _evidence(_list(report.get("evidence")))
        + _findings(_list(report.get("findings")))
        + (f'<ul class="notes sev-warning">{warn}</ul>' if warn else "")
        + f'<div class="foot">read {_size(report.get("bytes_read"))} in {timing}</div>'
        "</div></article>"
    )


def render_html(
    reports: Sequence[Mapping[str, Any]],
    *,
    title: str = "aiglabel verification report",
    generated_at: str | None = None,
    thumbnails: Mapping[str, str] | None = None,
) -> str:
    """Return a self-contained HTML page for ``reports`` (``VerifyReport.to_dict()`` mappings).

    Cards keep the input order; the header badges count files per verdict and files with
    errors, and double as filters. ``thumbnails`` maps a report's ``path`` to a base64
    ``data:image/`` URI (PNG, JPEG, GIF or WebP); anything else is dropped. ``generated_at``
    defaults to the current UTC time; given it, the output is deterministic.
    """
    if generated_at is None:
        generated_at = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    thumbs = thumbnails or {}
    items = [r for r in reports if isinstance(r, Mapping)]
    counts = {v: sum(1 for r in items if r.get("verdict") == v) for v in VERDICTS}
    n_errors = sum(1 for r in items if _list(r.get("errors")))
    n_other = len(items) - sum(counts.values())
    radios = "".join(f'<input type="radio" name="vf" class="vf" id="vf-{k}"'
                     f'{" checked" if k == "all" else ""} aria-label="show {k}">'
                     for k in ("all", *VERDICTS, "errors"))  # fmt: skip
    labels = [f'<label for="vf-all" class="badge b-all">all {len(items)}</label>']
    labels += [f'<label for="vf-{v}" class="badge b-{v}">{v} {counts[v]}</label>' for v in VERDICTS]
    labels.append(f'<label for="vf-errors" class="badge b-errors">with errors {n_errors}</label>')
    if n_other:
        labels.append(f'<span class="badge">other verdict {n_other}</span>')
    cards = "".join(_card(i, r, thumbs) for i, r in enumerate(items, 1))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="aiglabel">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style></head>\n<body>{radios}\n"
        f"<header><h1>{_esc(title)}</h1>"
        f'<p class="meta">generated {_esc(generated_at)} · {len(items)} file'
        f'{"" if len(items) == 1 else "s"}</p>'
        f'<nav class="bar">{"".join(labels)}'
        '<input id="q" type="search" placeholder="search path" aria-label="search path" hidden>'
        f"</nav></header>\n<main>\n{cards}\n</main>\n<script>{_JS}</script>\n</body></html>\n"
    )


_heif_registered = False
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def make_thumbnail(
    path: str | os.PathLike[str], *, max_side: int = 160, max_pixels: int = 64_000_000
) -> str | None:
    """Return a small ``data:image/...;base64,`` thumbnail of the image at ``path``, or ``None``.

    ``None`` when Pillow is missing, Pillow cannot open the file, the image has more than
    ``max_pixels`` pixels (checked from the header, before decoding) or anything else fails:
    this never raises. Encodes WebP when Pillow has it, else JPEG (PNG for transparency).
    """
    global _heif_registered
    try:
        from PIL import Image, ImageOps, features
    except Exception:
        return None
    if not _heif_registered:
        _heif_registered = True
        try:
            import pillow_heif  # type: ignore[import-untyped,unused-ignore]

            pillow_heif.register_heif_opener()
        except Exception:  # HEIF thumbnails are optional
            pass
    try:
        with quiet_warnings(), Image.open(path) as src:  # DecompressionBombWarning, ...
            width, height = src.size
            if width <= 0 or height <= 0 or width * height > max_pixels:
                return None
            if src.format == "JPEG":
                src.draft("RGB", (max_side, max_side))
            src.thumbnail((max_side, max_side))
            im: Image.Image = src
            try:
                im = ImageOps.exif_transpose(src)
            except Exception:
                im = src
            alpha = im.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
                im.mode == "P" and "transparency" in im.info
            )
            im = im.convert("RGBA" if alpha else "RGB")
            buf = io.BytesIO()
            if features.check("webp"):
                im.save(buf, "WEBP", quality=70, method=4)
                mime = "webp"
            elif alpha:
                im.save(buf, "PNG", optimize=True)
                mime = "png"
            else:
                im.save(buf, "JPEG", quality=70, optimize=True)
                mime = "jpeg"
        return f"data:image/{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"
    except Exception:
        return None


def write_html(
    path: str | os.PathLike[str],
    reports: Sequence[Mapping[str, Any]],
    *,
    thumbnails_from_files: bool = True,
    title: str = "aiglabel verification report",
    generated_at: str | None = None,
) -> None:
    """Render ``reports`` with :func:`render_html` and write the page to ``path`` atomically.

    With ``thumbnails_from_files``, image reports (``format`` in :data:`THUMBNAIL_FORMATS`)
    get a thumbnail from :func:`make_thumbnail`. The page goes to a temporary file in the
    target's folder, which then replaces ``path``; on failure the temporary file is removed.
    """
    thumbs: dict[str, str] = {}
    if thumbnails_from_files:
        for report in reports:
            src = report.get("path")
            fmt = report.get("format")
            if isinstance(src, str) and src not in thumbs and str(fmt).lower() in THUMBNAIL_FORMATS:
                uri = make_thumbnail(src)
                if uri is not None:
                    thumbs[src] = uri
    data = render_html(reports, title=title, generated_at=generated_at, thumbnails=thumbs).encode()
    target = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(target))
    for _ in range(16):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:  # os.open with 0o666 lets the umask decide the page's mode, like a plain open()
            fd = os.open(tmp, _CREATE, 0o666)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
