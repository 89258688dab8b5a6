"""Bounded, counted reads; edit plans; lossless, atomic output.

Every codec reads through :class:`Source`, so the bytes a read pulls are counted
(``bytes_read``) and header-only reading can be proven in tests. Every write is an
:class:`EditPlan`: a list of byte strings to insert and spans of the source to copy
verbatim. :func:`emit` copies the spans with ``os.copy_file_range`` (or ``sendfile``)
when both ends are real files, so unchanged essence never passes through Python buffers.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import stat
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from aiglabel.errors import AiglabelError, CorruptFileError, LimitExceededError, OutputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

__all__ = ["DurableBatch", "EditPlan", "Limits", "Source", "SourceIO", "Span", "atomic_output",
           "emit", "fsync_path", "open_regular", "parse_errors", "publish"]

HEAD_SIZE = 64 * 1024
_COPY_CHUNK = 1 << 20


_CACHE_MIN = 1024
_CACHE_MAX = 1 << 20
_CACHE_BUDGET = 8 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """Safety budgets for reading untrusted files.

    Attributes:
        max_metadata: largest metadata structure (segment, chunk, box, packet) read into memory.
        max_items: most segments/chunks/boxes/entries walked in one file.
        max_depth: deepest box or element nesting followed.
    """

    max_metadata: int = 16 * 1024 * 1024
    max_items: int = 1_000_000
    max_depth: int = 32


DEFAULT_LIMITS = Limits()


@contextlib.contextmanager
def parse_errors(name: str | None, what: str = "file") -> Iterator[None]:
    """Attach ``name`` to aiglabel errors and turn low-level parse errors (``struct.error``,
    ``IndexError``, ...) raised while walking a damaged file into :class:`CorruptFileError`."""
    try:
        yield
    except AiglabelError as exc:
        if exc.path is None:
            exc.path = name
        raise
    except (struct.error, IndexError, EOFError, UnicodeError, OverflowError,
            RecursionError) as exc:
        msg = f"damaged {what} structure ({type(exc).__name__}: {exc})"
        raise CorruptFileError(msg, path=name) from exc


class Source:
    """A seekable binary input with counted, bounds-checked reads.

    Args:
        fileobj: a seekable binary file object, positioned anywhere.
        name: the path or a display name, used in error messages.
        limits: the reading budgets.
    """

    def __init__(
        self, fileobj: BinaryIO, *, name: str | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self._f = fileobj
        self.name = name
        self.limits = limits
        try:
            self.size = fileobj.seek(0, os.SEEK_END)
        except (OSError, ValueError) as exc:
            msg = f"input is not seekable ({exc})"
            raise CorruptFileError(msg, path=name) from exc
        self.bytes_read = 0
        self.reads = 0
        # A time.monotonic() value after which reads fail (the verifier's per-file time limit).
        self.deadline: float | None = None
        self._head: bytes | None = None
        self._cache: dict[tuple[int, int], bytes] = {}
        self._cached = 0
        # A real file is read with pread: exactly the bytes asked for, no read-ahead buffer
        # (a PNG walk reads ~200 chunk headers of 8 bytes; buffered reads would pull 8 KiB each).
        self._fd = self.fileno() if isinstance(fileobj, io.BufferedReader | io.FileIO) else None

    @classmethod
    def from_bytes(cls, data: bytes, name: str | None = None) -> Source:
        """Wrap an in-memory buffer."""
        return cls(io.BytesIO(data), name=name)

    @property
    def head(self) -> bytes:
        """The first 64 KiB (or the whole file when smaller), read once."""
        if self._head is None:
            self._head = self.read_upto(0, HEAD_SIZE)
        return self._head

    def fileno(self) -> int | None:
        """The OS file descriptor, or ``None`` for in-memory input."""
        try:
            return self._f.fileno()
        except (OSError, AttributeError, io.UnsupportedOperation):
            return None

    def read_upto(self, offset: int, n: int) -> bytes:
        """Read at most ``n`` bytes at ``offset`` (short at end of file)."""
        if offset < 0 or n < 0:
            msg = f"negative offset or length ({offset}, {n})"
            raise CorruptFileError(msg, path=self.name)
        if offset >= self.size or n == 0:
            return b""
        if self.deadline is not None and time.monotonic() > self.deadline:
            msg = "time limit exceeded while reading"
            raise LimitExceededError(msg, path=self.name)
        want = min(n, self.size - offset)
        head = self._head
        if head is not None and offset + want <= len(head):
            return head[offset : offset + want]  # already read: do not read or count it again
        key = (offset, want)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if self._fd is not None:
            data = os.pread(self._fd, want, offset)
            while len(data) < want:  # pread may return short; stop at a real end of file
                more = os.pread(self._fd, want - len(data), offset + len(data))
                if not more:
                    break
                data += more
        else:
            self._f.seek(offset)
            data = self._f.read(want)
        self.bytes_read += len(data)
        self.reads += 1
        # Metadata payloads are often read twice (labels, then other metadata): keep the
        # mid-sized ones, within a small budget.
        if _CACHE_MIN <= len(data) <= _CACHE_MAX and self._cached + len(data) <= _CACHE_BUDGET:
            self._cache[key] = data
            self._cached += len(data)
        return data

    def read_at(self, offset: int, n: int) -> bytes:
        """Read exactly ``n`` bytes at ``offset``.

        Raises:
            CorruptFileError: the file ends first.
        """
        if offset + n > self.size or offset < 0 or n < 0:
            msg = f"truncated: needs bytes {offset}..{offset + n} but the file has {self.size}"
            raise CorruptFileError(msg, path=self.name)
        return self.read_upto(offset, n)

    def read_metadata(self, offset: int, n: int, what: str) -> bytes:
        """Read a metadata structure, enforcing ``limits.max_metadata``.

        Raises:
            LimitExceededError: the structure is larger than the budget.
            CorruptFileError: the file ends first.
        """
        if n > self.limits.max_metadata:
            msg = f"{what} of {n} bytes exceeds the {self.limits.max_metadata}-byte limit"
            raise LimitExceededError(msg, path=self.name)
        return self.read_at(offset, n)

    def iter_range(self, offset: int, length: int) -> Iterator[bytes]:
        """Yield the bytes of a range in 1 MiB chunks (for digests)."""
        end = offset + length
        while offset < end:
            chunk = self.read_upto(offset, min(_COPY_CHUNK, end - offset))
            if not chunk:
                msg = f"truncated at byte {offset}"
                raise CorruptFileError(msg, path=self.name)
            yield chunk
            offset += len(chunk)


@dataclass(frozen=True, slots=True)
class Span:
    """A byte range of the source, copied verbatim."""

    offset: int
    length: int


@dataclass(slots=True)
class EditPlan:
    """The output of an implicit-label write, as source spans and new bytes in file order.

    Attributes:
        pieces: ``bytes`` to write, or :class:`Span` ranges of the source to copy.
        carrier: the carrier the label was written to.
        removed: carriers whose AIGC label was removed (GB 6.1 c): one label per file).
    """

    pieces: list[bytes | Span] = field(default_factory=list)
    carrier: str = ""
    removed: list[str] = field(default_factory=list)

    def copy(self, start: int, end: int) -> None:
        """Append the source range ``[start, end)``, merging with a preceding adjacent span."""
        if end <= start:
            return
        if self.pieces and isinstance(self.pieces[-1], Span):
            last = self.pieces[-1]
            if last.offset + last.length == start:
                self.pieces[-1] = Span(last.offset, end - last.offset)
                return
        self.pieces.append(Span(start, end - start))

    def add(self, data: bytes) -> None:
        """Append new bytes."""
        if data:
            self.pieces.append(data)

    def extend(self, pieces: Iterable[bytes | Span]) -> None:
        """Append ``pieces`` in order: spans copied (see :meth:`copy`), bytes added."""
        for piece in pieces:
            if isinstance(piece, Span):
                self.copy(piece.offset, piece.offset + piece.length)
            else:
                self.add(piece)

    @property
    def output_size(self) -> int:
        """Size in bytes of the file this plan produces."""
        return sum(p.length if isinstance(p, Span) else len(p) for p in self.pieces)


def _copy_fd_range(src_fd: int, dst_fd: int, offset: int, length: int) -> bool:
    """Copy with the kernel; return False when no kernel path is available."""
    copy_file_range = getattr(os, "copy_file_range", None)
    done = 0
    if copy_file_range is not None:
        try:
            while done < length:
                n = copy_file_range(src_fd, dst_fd, length - done, offset + done)
                if n == 0:
                    break
                done += n
            if done == length:
                return True
        except OSError:
            pass
    try:
        while done < length:
            n = os.sendfile(dst_fd, src_fd, offset + done, length - done)
            if n == 0:
                return False
            done += n
    except OSError:
        if done:
            raise
        return False
    return True


# A span at least this long that keeps its offset (padding absorbed the label) is copied as
# part of one copy from offset 0: measured here, copy_file_range of 1 GiB takes ~0.26 s from
# offset 0 and 0.35-0.45 s from a later offset (benchmarks/bench_av.py).
OVERLAY_MIN = 1 << 20


def _overlay(plan: EditPlan, src: Source, src_fd: int, out: BinaryIO, out_fd: int) -> bool:
    """Copy ``src[0:end of the kept span]`` in one call, then write the other pieces over it
    at their own offsets. Only for an empty output and a long span whose offset is unchanged;
    returns False (nothing written) when that does not apply or the kernel refuses."""
    pos, anchor = 0, None
    places: list[tuple[int, bytes | Span]] = []
    for piece in plan.pieces:
        places.append((pos, piece))
        if (isinstance(piece, Span) and piece.offset == pos and piece.length >= OVERLAY_MIN
                and (anchor is None or piece.length > anchor.length)):
            anchor = piece
        pos += piece.length if isinstance(piece, Span) else len(piece)
    copy_file_range = getattr(os, "copy_file_range", None)
    if anchor is None or copy_file_range is None or out.tell() != 0:
        return False
    if any(isinstance(p, Span) and p.offset + p.length > src.size for _, p in places):
        return False  # emit's piece-by-piece path reports the truncation
    out.flush()
    try:
        _copy_at(copy_file_range, src_fd, out_fd, 0, 0, anchor.offset + anchor.length)
        for at, piece in places:
            if piece is anchor:
                continue
            if isinstance(piece, bytes):
                view = memoryview(piece)
                while view:
                    n = os.pwrite(out_fd, view, at)
                    view, at = view[n:], at + n
            else:
                _copy_at(copy_file_range, src_fd, out_fd, piece.offset, at, piece.length)
    except OSError:
        os.ftruncate(out_fd, 0)  # start again the ordinary way
        out.seek(0)
        return False
    out.seek(0, os.SEEK_END)
    return True


def _copy_at(copy_file_range: Any, src_fd: int, dst_fd: int, src_at: int, dst_at: int,
             length: int) -> None:
    done = 0
    while done < length:
        n = copy_file_range(src_fd, dst_fd, length - done, src_at + done, dst_at + done)
        if n == 0:
            msg = "copy_file_range returned 0 before the end of the range"
            raise OSError(msg)
        done += n


def emit(plan: EditPlan, src: Source, out: BinaryIO) -> int:
    """Write a plan to ``out``; return the number of bytes written.

    Spans are copied by the kernel when both ``src`` and ``out`` have file descriptors.
    """
    src_fd = src.fileno()
    try:
        out_fd: int | None = out.fileno()
    except (OSError, AttributeError, io.UnsupportedOperation):
        out_fd = None
    if src_fd is not None and out_fd is not None and _overlay(plan, src, src_fd, out, out_fd):
        return plan.output_size
    written = 0
    for piece in plan.pieces:
        if isinstance(piece, bytes):
            out.write(piece)
            written += len(piece)
            continue
        if piece.offset + piece.length > src.size:
            msg = f"truncated: span {piece.offset}+{piece.length} beyond {src.size} bytes"
            raise CorruptFileError(msg, path=src.name)
        if src_fd is not None and out_fd is not None:
            out.flush()
            # copy_file_range writes at the fd's own position and advances it.
            if _copy_fd_range(src_fd, out_fd, piece.offset, piece.length):
                out.seek(0, os.SEEK_END)
                written += piece.length
                continue
        for chunk in src.iter_range(piece.offset, piece.length):
            out.write(chunk)
        written += piece.length
    out.flush()
    return written


def publish(tmp: Path, dst: Path, *, overwrite: bool) -> None:
    """Give the finished file ``tmp`` the name ``dst``: a rename over it with ``overwrite``,
    else a hard link that fails if ``dst`` appeared meanwhile (never clobbering it), with a
    checked rename on filesystems without hard links.

    Raises:
        OutputError: ``dst`` exists and ``overwrite`` is false.
    """
    if overwrite:
        os.replace(tmp, dst)
        return
    try:
        os.link(tmp, dst)
    except FileExistsError as exc:
        msg = "output exists (use --overwrite or --in-place)"
        raise OutputError(msg, path=str(dst)) from exc
    except OSError:
        # Filesystems without hard links: fall back to a checked rename.
        if dst.exists():
            msg = "output exists (use --overwrite or --in-place)"
            raise OutputError(msg, path=str(dst)) from None
        os.replace(tmp, dst)
    else:
        tmp.unlink()


def _new_temp(dst: Path, mode: int) -> tuple[int, Path]:
    """Create ``.<name>.<random>.aiglabel-tmp`` beside ``dst`` exclusively, with ``mode``
    (less the umask, applied by the kernel: no process-wide ``os.umask`` dance, so it is safe
    while other threads create files)."""
    # As tempfile.mkstemp: binary and not inherited on Windows, close-on-exec elsewhere.
    flags = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
             | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0))
    for _ in range(100):
        tmp = dst.parent / f".{dst.name}.{secrets.token_hex(4)}.aiglabel-tmp"
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            msg = f"cannot create a file in {dst.parent} ({exc.strerror})"
            raise OutputError(msg, path=str(dst)) from exc
    msg = f"cannot create a temporary file in {dst.parent} (all names taken)"
    raise OutputError(msg, path=str(dst))


def _start_writeback(fd: int) -> None:
    """Ask the kernel to start writing ``fd``'s dirty pages now, without waiting.

    Linux's ``POSIX_FADV_DONTNEED`` starts asynchronous writeback of the whole file (and drops
    pages already clean), so a :class:`DurableBatch`'s later ``syncfs`` waits only for the
    tail of the I/O instead of issuing all of it at once: the disk works while the next files
    are copied. Measured in ``benchmarks/bench_label.py``: in-place batches 2.7x -> 1.9x ``cp``.
    Elsewhere (no ``posix_fadvise``) the sync at commit does all the work.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with contextlib.suppress(OSError):
            advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


@contextlib.contextmanager
def atomic_output(
    dst: Path, *, overwrite: bool = False, durable: bool = False, mode_from: Path | None = None,
    batch: DurableBatch | None = None, readable: bool = False,
) -> Iterator[BinaryIO]:
    """Yield a temporary file next to ``dst`` that becomes ``dst`` only on success.

    On any exception the temporary file is removed and ``dst`` is untouched.

    Args:
        dst: the final path.
        overwrite: replace an existing ``dst`` (``os.replace``); otherwise an existing
            ``dst`` is an error, checked again at the moment of linking.
        durable: fsync the file before the rename and the folder after it (in-place mode).
        mode_from: copy permission bits from this file.
        readable: open the temporary file for reading too (``w+b``, buffered), for writers
            that read their output back (c2pa-rs).
        batch: with ``durable``, hand the finished temporary file to this
            :class:`DurableBatch` instead: it is renamed over ``dst`` when the batch commits,
            after one filesystem sync for all its files.

    Raises:
        OutputError: ``dst`` exists (and not ``overwrite``) or cannot be written.
    """
    folder = dst.parent
    if not overwrite and dst.exists():
        msg = "output exists (use --overwrite or --in-place)"
        raise OutputError(msg, path=str(dst))
    # A new file gets 0o666 less the umask from the kernel, as a plain open() would; a copy
    # of ``mode_from`` starts private (0o600) and takes the source's bits once written.
    fd, tmp = _new_temp(dst, 0o600 if mode_from is not None else 0o666)
    try:
        with (open(fd, "w+b", closefd=True) if readable
              else open(fd, "wb", buffering=0, closefd=True)) as raw:
            yield raw
            raw.flush()
            if durable and batch is None:
                os.fsync(raw.fileno())
            elif durable:
                _start_writeback(raw.fileno())
        if mode_from is not None:
            with contextlib.suppress(OSError):
                st = os.stat(mode_from)
                os.chmod(tmp, st.st_mode & 0o7777)
                if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                    os.chown(tmp, st.st_uid, st.st_gid)  # keeps the owner when run as root
        if durable and batch is not None:
            batch.defer(tmp, dst)
            return
        publish(tmp, dst, overwrite=overwrite)
        if durable:
            fsync_path(folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


class DurableBatch:
    """In-place replacements made durable together: each finished temporary file waits here;
    :meth:`commit` syncs the filesystems once (``syncfs``, else ``sync``), renames every file
    over its target, then fsyncs each folder. Until the commit the targets are untouched; a
    crash at any point leaves each target old or new, never partial (the temporary files of an
    interrupted batch stay behind as ``.<name>.*.aiglabel-tmp``). It commits by itself every
    ``max_files`` files or ``max_bytes`` bytes, and when its ``with`` block ends normally; on
    an exception (Ctrl-C included) it is aborted: the pending temporary files are removed and
    their targets left alone.

    It is thread-safe: worker threads may :meth:`defer` files while another commits. Once the
    ``with`` block has ended (or :meth:`abort` was called) the batch is closed: a late
    :meth:`defer` from a worker that was still running removes its temporary file and raises,
    so nothing is replaced after an interrupt and no temporary file is left behind.
    """

    def __init__(self, *, max_files: int = 64, max_bytes: int = 256 << 20) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._pending: list[tuple[Path, Path]] = []
        self._bytes = 0
        self._lock = threading.RLock()
        self._closed = False
        self.committed = 0

    def __enter__(self) -> DurableBatch:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            with self._lock:
                self._closed = True
                self._commit()
        else:
            self.abort()

    @property
    def closed(self) -> bool:
        """True once the ``with`` block ended or :meth:`abort` was called."""
        return self._closed

    def defer(self, tmp: Path, dst: Path) -> None:
        """Queue ``tmp`` (complete, closed) to replace ``dst``; commits when the batch is full.

        Raises:
            OutputError: the batch is closed (``tmp`` is removed, ``dst`` left alone), or a
                commit this call started failed.
        """
        size = tmp.stat().st_size
        with self._lock:
            if self._closed:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                msg = "stopped before the file was replaced (the batch was closed)"
                raise OutputError(msg, path=str(dst))
            self._pending.append((tmp, dst))
            self._bytes += size
            if len(self._pending) >= self.max_files or self._bytes >= self.max_bytes:
                self._commit()

    def commit(self) -> None:
        """Sync, rename every pending file into place, fsync the folders.

        Raises:
            OutputError: the sync failed (every pending file is then dropped, its target left
                as it was), or a rename failed (the other files are still committed).
        """
        with self._lock:
            self._commit()

    def _commit(self) -> None:
        pending, self._pending, self._bytes = self._pending, [], 0
        if not pending:
            return
        folders = list(dict.fromkeys(dst.parent for _, dst in pending))
        try:
            _sync_filesystems(folders)
        except OSError as exc:
            _remove_temps(pending)
            msg = f"cannot make the rewritten files durable ({exc.strerror or exc})"
            raise OutputError(msg, path=str(pending[0][1])) from exc
        failed: OutputError | None = None
        for tmp, dst in pending:
            try:
                os.replace(tmp, dst)
                self.committed += 1
            except OSError as exc:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                failed = failed or OutputError(f"cannot replace the file ({exc.strerror})",
                                               path=str(dst))
        for folder in folders:
            try:
                fsync_path(folder)
            except OSError as exc:
                failed = failed or OutputError(
                    f"cannot sync the folder ({exc.strerror or exc})", path=str(folder))
        if failed is not None:
            raise failed

    def discard(self) -> None:
        """Drop the pending files (their targets stay as they were)."""
        with self._lock:
            _remove_temps(self._pending)
            self._pending, self._bytes = [], 0

    def abort(self) -> None:
        """Close the batch and drop its pending files; later :meth:`defer` calls fail."""
        with self._lock:
            self._closed = True
            self.discard()


def _remove_temps(pending: list[tuple[Path, Path]]) -> None:
    for tmp, _ in pending:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def fsync_path(path: Path) -> None:
    """``fsync`` a file or folder by path (a folder: make the names in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_filesystems(folders: list[Path]) -> None:
    """Make every written byte on the filesystems holding ``folders`` durable: ``syncfs`` on
    one folder per filesystem (Linux), else ``sync``."""
    import ctypes

    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    seen: set[int] = set()
    for folder in folders:
        fd = os.open(folder, os.O_RDONLY)
        try:
            device = os.fstat(fd).st_dev
            if device not in seen:
                seen.add(device)
                if syncfs(fd) != 0:
                    os.sync()
        finally:
            os.close(fd)


def open_regular(path: str, display: str) -> io.BufferedReader:
    """Open the media file ``path`` for reading; a FIFO, device or socket is refused without
    blocking (a FIFO with no writer would hang ``open``, where no Ctrl-C reaches a worker
    thread). ``display`` names the file in the error.

    Raises:
        CorruptFileError: not a regular file.
        OSError: from ``open``; ``IsADirectoryError`` for a folder.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            msg = "not a regular file"
            raise CorruptFileError(msg, path=display)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb", closefd=True)  # noqa: SIM115  (the caller closes it)
    except BaseException:
        os.close(fd)
        raise


class SourceIO(io.RawIOBase):
    """A read-only, seekable file over the first ``size`` bytes of a :class:`Source` (all of
    it by default), so every byte a third-party parser (pypdf, c2pa-python) reads is counted
    and the deadline is checked."""

    def __init__(self, src: Source, size: int | None = None) -> None:
        super().__init__()
        self._src = src
        self._size = src.size if size is None else size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            msg = "negative seek position"
            raise OSError(msg)
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = min(len(view), max(self._size - self._pos, 0))
        data = self._src.read_upto(self._pos, n)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)
