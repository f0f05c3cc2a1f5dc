"""Where generated module text is kept between processes, and found again.

Two stores, both keyed by :mod:`s2s.fingerprint`:

- the **cache** (:class:`ModuleCache`): one file per key under `$S2S_CACHE_DIR`, or
  the platform's user cache directory (from `platformdirs`: `~/.cache/s2s` on
  Linux).  `S2S_CACHE=0` turns it off.  An entry is written to a temporary file and
  renamed into place, so readers see a whole entry or none; each entry opens with a
  header (format, key, length, sha256 of the text) and ends with a footer, and one
  that fails the check (a truncated or damaged file) is a miss, overwritten when the
  module is regenerated.  A directory that cannot be written is replaced by memory,
  with one warning.  The entries are kept under a size cap (`$S2S_CACHE_SIZE`): a
  hit marks an entry used (its modification time), and storing one removes the
  least recently used entries beyond the cap.
- **committed modules** (:func:`find_committed`): a module `s2s generate` wrote into a
  project's `generated/` directory carries its content key and the sha256 of its
  code in the header (:func:`stamp`); `grad` uses it directly when the key matches.

The cache knows nothing of functions: it stores text under a key (a hex digest).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import warnings
from dataclasses import dataclass

from .files import read_bytes, read_text

DIR_VARIABLE = "S2S_CACHE_DIR"
SWITCH_VARIABLE = "S2S_CACHE"
SIZE_VARIABLE = "S2S_CACHE_SIZE"
#: The default cap on the entries' total size.  An entry is a module of a few KiB
#: (1.7 to 5 KiB for the examples), so this keeps several thousand gradients.
DEFAULT_SIZE = 32 * 2**20
#: Storing an entry checks the cap once in this many stores (chosen by key, which is
#: a uniform hash): a check stats every entry, about 4 ms per 1,000, and the cap is
#: then overshot by a few entries at most.
EVICT_EVERY = 16
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)
ENTRY_SUFFIX = ".s2s"
_ENTRY_FORMAT = 1
_ENTRY_NAME = re.compile(r"[0-9a-f]{16,128}" + re.escape(ENTRY_SUFFIX))
NOTE_SUFFIX = ".note"
_NOTE_NAME = re.compile(r"[\w.-]+" + re.escape(NOTE_SUFFIX))
_TEMP_NAME = re.compile(r"\..+\.\d+\.[0-9a-f]{8}\.tmp")
_KEY = re.compile(r"[0-9a-f]{16,128}")
_OFF = {"0", "false", "no", "off"}


class CacheWarning(UserWarning):
    """The cache cannot do its job (an unwritable directory, an edited module)."""


@dataclass(frozen=True)
class CacheInfo:
    """What `s2s cache info` reports."""

    directory: str | None  # None: no directory (memory only)
    source: str  # where the directory came from
    enabled: bool
    entries: int
    size: int  # bytes
    leftovers: int  # temporary files of interrupted writes
    cap: int  # bytes: least recently used entries beyond it are removed
    cap_source: str  # where the cap came from


class ModuleCache:
    """Module text stored by key: in memory for this process, and on disk.

    `directory=None` keeps entries in memory only.
    """

    def __init__(self, directory: str | None):
        self.directory = directory
        self._memory: dict[str, str] = {}
        self._writable = directory is not None

    def path(self, key: str) -> str | None:
        """The file an entry is (or would be) stored in."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"a cache key is a hex digest, not {key!r}")
        if self.directory is None:
            return None
        return os.path.join(self.directory, key + ENTRY_SUFFIX)

    def lookup(self, key: str) -> str | None:
        """The text stored under `key`, or None (missing, or failing its check)."""
        if key in self._memory:
            return self._memory[key]
        path = self.path(key)
        if path is None:
            return None
        try:
            data = read_bytes(path)
        except OSError:
            return None
        text = _read_entry(data, key)
        if text is not None:
            self._memory[key] = text
            _mark_used(path)
        return text

    def store(self, key: str, text: str) -> None:
        """Keep `text` under `key`; an unwritable directory falls back to memory."""
        path = self.path(key)
        self._memory[key] = text
        if path is None or not self._writable:
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            write_atomic(path, _entry(key, text))
            if int(key[:8], 16) % EVICT_EVERY == 0:
                self.evict(size_cap(), keep=path)
        except OSError as e:
            self._writable = False
            warnings.warn(
                f"s2s cannot write its cache in {self.directory} "
                f"({e.strerror or e}); gradients are kept in memory and regenerated in "
                f"each new process. Set {DIR_VARIABLE} to a writable directory, or "
                f"{SWITCH_VARIABLE}=0 to turn the cache off.",
                CacheWarning,
                stacklevel=2,
            )

    def recall(self, name: str, key: str) -> str | None:
        """The value of the note `name` if it was kept under `key` (see
        :meth:`remember`), else None."""
        path = self._note_path(name)
        try:
            kept_key, _, value = (
                read_text(path).partition(" ") if path else ("", "", "")
            )
        except (OSError, UnicodeError):
            return None
        return value if kept_key == key and value else None

    def remember(self, name: str, key: str, value: str) -> None:
        """Keep a small note beside the entries: one file per name, holding the last
        `value` and the `key` it is valid for; not an entry (not counted nor evicted),
        removed by :meth:`clear`.  A directory that cannot be written keeps none."""
        path = self._note_path(name)
        if path is not None and self._writable:
            with contextlib.suppress(OSError):
                os.makedirs(self.directory, exist_ok=True)
                write_atomic(path, f"{key} {value}")

    def _note_path(self, name: str) -> str | None:
        if not _NOTE_NAME.fullmatch(name + NOTE_SUFFIX):
            raise ValueError(
                f"a note's name is letters, digits, '_', '.' and '-', not {name!r}"
            )
        return (
            None
            if self.directory is None
            else os.path.join(self.directory, name + NOTE_SUFFIX)
        )

    def info(self) -> CacheInfo:
        entries = self._entries()
        leftovers = sum(bool(_TEMP_NAME.fullmatch(name)) for name, _ in self._files())
        return CacheInfo(
            self.directory,
            directory_source(),
            enabled(),
            len(entries),
            sum(size for _, size, _ in entries),
            leftovers,
            *cap_setting(),
        )

    def evict(self, cap: int, keep: str | None = None) -> int:
        """Remove the least recently used entries until they total at most `cap`
        bytes (never `keep`, the entry just stored); return how many were removed."""
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        removed = 0
        for path, size, _ in sorted(entries, key=lambda entry: entry[2]):
            if total <= cap:
                break
            if path == keep:
                continue
            with contextlib.suppress(FileNotFoundError):  # another process's eviction
                os.unlink(path)
                removed += 1
            total -= size
        return removed

    def _entries(self) -> list[tuple[str, int, float]]:
        """(path, size, time of last use) of each entry on disk."""
        found = []
        if self.directory is None:
            return found
        with contextlib.suppress(OSError), os.scandir(self.directory) as items:
            for item in items:
                if _ENTRY_NAME.fullmatch(item.name):
                    with contextlib.suppress(OSError):  # removed meanwhile
                        stat = item.stat()
                        found.append((item.path, stat.st_size, stat.st_mtime))
        return found

    def clear(self) -> int:
        """Remove every entry (and note, and leftover temporary file); return how many
        entries.

        Only files named like entries are touched, whatever else is in the directory.
        """
        self._memory.clear()
        removed = 0
        for name, path in self._files():
            if any(p.fullmatch(name) for p in (_ENTRY_NAME, _TEMP_NAME, _NOTE_NAME)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed += bool(_ENTRY_NAME.fullmatch(name))
        return removed

    def _files(self) -> list[tuple[str, str]]:
        if self.directory is None:
            return []
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return []
        return [(name, os.path.join(self.directory, name)) for name in names]


# --- entries --------------------------------------------------------------------------


def _entry(key: str, text: str) -> bytes:
    body = text.encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    head = f"# s2s cache entry {_ENTRY_FORMAT} {key} {len(body)} {digest}\n"
    return head.encode() + body + _footer(key)


def _footer(key: str) -> bytes:
    return f"\n# s2s cache end {key}\n".encode()


def _read_entry(data: bytes, key: str) -> str | None:
    """The text of an entry, or None if it is not a whole, undamaged entry for `key`."""
    head, newline, rest = data.partition(b"\n")
    parts = head.decode("ascii", "replace").split(" ")
    if not newline or parts[:4] != ["#", "s2s", "cache", "entry"] or len(parts) != 8:
        return None
    version, stored_key, length, digest = parts[4:]
    if version != str(_ENTRY_FORMAT) or stored_key != key or not length.isdigit():
        return None
    body, footer = rest[: int(length)], rest[int(length) :]
    if footer != _footer(key) or hashlib.sha256(body).hexdigest() != digest:
        return None
    return body.decode("utf-8")


def _mark_used(path: str) -> None:
    """Record a hit: eviction removes the entries least recently used first."""
    with contextlib.suppress(OSError):  # a read-only cache still serves its entries
        os.utime(path)


def write_atomic(path: str, data: str | bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory and an
    atomic rename: a reader sees the old file or the new one, never half of one.

    Text is written as UTF-8 with "\\n" line ends on every platform.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory, name = os.path.split(path)
    temp = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    # os.open with 0o666 honours the umask, unlike tempfile's private 0o600.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


_BINARY = getattr(os, "O_BINARY", 0)


# --- where the cache is ---------------------------------------------------------------


def enabled() -> bool:
    """False when S2S_CACHE is 0 (or false, no, off)."""
    return os.environ.get(SWITCH_VARIABLE, "1").strip().lower() not in _OFF


def directory_source() -> str:
    return f"${DIR_VARIABLE}" if os.environ.get(DIR_VARIABLE) else "platform default"


def cache_directory() -> str | None:
    """$S2S_CACHE_DIR, else the platform's user cache directory (None if unknown)."""
    chosen = os.environ.get(DIR_VARIABLE)
    if chosen:
        return os.path.abspath(os.path.expanduser(chosen))
    return user_cache_directory()


def user_cache_directory() -> str | None:
    """The platform's per-user cache directory for s2s (`~/.cache/s2s` or
    `$XDG_CACHE_HOME/s2s` on Linux, `~/Library/Caches/s2s` on macOS,
    `%LOCALAPPDATA%\\s2s\\Cache` on Windows); None when there is no home to put it in.
    """
    import platformdirs  # only when a gradient is stored or looked up

    directory = platformdirs.user_cache_dir("s2s", appauthor=False)
    return directory if os.path.isabs(directory) else None


def size_cap() -> int:
    """The cap on the entries' total size in bytes (see :func:`cap_setting`); a
    value that is not a size warns, once."""
    cap, source = cap_setting()
    if source not in ("default", f"${SIZE_VARIABLE}"):
        _warn_once(f"s2s keeps its cache under {format_size(cap)}: {source}.")
    return cap


def cap_setting() -> tuple[int, str]:
    """The cap in bytes, and where it came from: `$S2S_CACHE_SIZE` (a number of
    bytes, or with a binary unit: 500K, 64M, 1G), else :data:`DEFAULT_SIZE`."""
    text = os.environ.get(SIZE_VARIABLE, "").strip()
    if not text:
        return DEFAULT_SIZE, "default"
    size = parse_size(text)
    if size is None:
        return DEFAULT_SIZE, (
            f"the default, since ${SIZE_VARIABLE}={text!r} is not a size (write "
            "bytes, or 500K, 64M, 1G)"
        )
    return size, f"${SIZE_VARIABLE}"


def parse_size(text: str) -> int | None:
    """`123` -> 123 bytes; `64K`, `64KB`, `64KiB` -> 65536; M, G and T likewise
    (binary units, as `s2s cache info` prints them); None if not a size."""
    found = _SIZE.fullmatch(text)
    if found is None:
        return None
    number, unit = found.groups()
    return int(float(number) * 1024 ** " kmgt".index(unit.lower() or " "))


def format_size(size: float) -> str:
    """Bytes in the largest binary unit that keeps the number at least 1."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, CacheWarning, stacklevel=3)


#: One cache per directory for the life of the process, so that a directory that
#: cannot be written warns once and its in-memory entries are shared.
_OPEN: dict[str | None, ModuleCache] = {}


def open_cache() -> ModuleCache:
    """The cache the environment names (whether or not S2S_CACHE turns it off)."""
    directory = cache_directory()
    if directory not in _OPEN:
        _OPEN[directory] = ModuleCache(directory)
    return _OPEN[directory]


def default_cache() -> ModuleCache | None:
    """The cache `grad` uses: None when S2S_CACHE=0."""
    return open_cache() if enabled() else None


# --- committed modules ------------------------------------------------------------------

_KEY_LABEL = "# Content key: "
_CODE_LABEL = "# Code sha256: "
#: A directory with one of these is a project's root: the search for generated/ stops.
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def stamp(header: str, content_key: str, code: str) -> str:
    """A committed module's text: the header comment, the content key, the sha256 of
    the code that follows (so an edit by hand is noticed), then the code."""
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    return "\n".join(lines + [_KEY_LABEL + content_key, _CODE_LABEL + digest, code])


def read_stamp(text: str) -> tuple[str, bool] | None:
    """(content key, whether the code is as s2s wrote it) from a module's header."""
    parts = _split_stamp(text)
    if parts is None:
        return None
    key, digest, code = parts
    return key, hashlib.sha256(code.encode("utf-8")).hexdigest() == digest


def stamped_code(text: str) -> str:
    """The code of a module `s2s generate` wrote, without its header (all of `text`
    if it has none)."""
    parts = _split_stamp(text)
    return text if parts is None else parts[2]


def _split_stamp(text: str) -> tuple[str, str, str] | None:
    """(content key, code sha256, code) of a stamped module, or None."""
    start = ("\n" + text[:4096]).find("\n" + _KEY_LABEL)
    if start < 0:
        return None
    key_line, _, rest = text[start:].partition("\n")
    code_line, newline, code = rest.partition("\n")
    if not code_line.startswith(_CODE_LABEL) or not newline:
        return None
    return key_line[len(_KEY_LABEL) :], code_line[len(_CODE_LABEL) :], code


def committed_paths(source_file: str, function: str) -> list[str]:
    """Where `s2s generate` would have put the module of `function` in `source_file`:
    `generated/STEM_FUNCTION.py` in the file's directory or a parent, up to the
    project root (the first directory with pyproject.toml, setup.py, setup.cfg or .git).
    Outside a project, only the file's own directory."""
    name = f"{os.path.splitext(os.path.basename(source_file))[0]}_{function}.py"
    directory = os.path.dirname(os.path.abspath(source_file))
    found = []
    while True:
        found.append(os.path.join(directory, "generated", name))
        if any(os.path.exists(os.path.join(directory, m)) for m in PROJECT_MARKERS):
            return found
        parent = os.path.dirname(directory)
        if parent == directory:
            return found[:1]
        directory = parent


def find_committed(
    source_file: str, function: str, content_key: str
) -> tuple[str, str] | None:
    """(path, text) of a committed module generated from exactly these inputs, if any.

    A module whose key matches but whose code was edited is not used (one warning).
    """
    for path in committed_paths(source_file, function):
        try:
            text = read_text(path)
        except (OSError, UnicodeDecodeError):
            continue
        stamped = read_stamp(text)
        if stamped is None or stamped[0] != content_key:
            continue
        if stamped[1]:
            return path, text
        warnings.warn(
            f"{path} was edited after s2s generated it, so it is not used; "
            f"regenerate it with the command in its header.",
            CacheWarning,
            stacklevel=2,
        )
    return None
