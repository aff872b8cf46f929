"""Writing outputs so that nothing is ever half-written.

- `write_file`: write to a temporary file in the same directory, fsync, rename over.
- `stage_tree` and `swap_in`: build a whole new directory next to the old one, then swap
  the two in one step (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two renames with a
  moment between), so a reader sees either the old tree or the new one, never a mix.

A file that is byte-for-byte what the last build wrote (same digest, and on disk still the
same size, mtime and inode) is hard-linked into the new tree instead of written again.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

# What the last build wrote: path -> (digest, size, mtime_ns, inode).
Manifest = dict[str, tuple[str, int, int, int]]


@dataclass
class Entry:
    """A file to write: its digest, and its bytes unless they can be fetched by digest."""

    digest: str
    data: bytes | None = None

    @staticmethod
    def of(data: bytes) -> Entry:
        return Entry(hashlib.sha256(data).hexdigest(), data)


def write_file(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data` (an identical file is left alone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = None
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
        mode = stat.S_IMODE(path.stat().st_mode)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes files only we can read: keep the old file's mode, or the usual one.
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@functools.cache
def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; once, before any threads write
    os.umask(mask)
    return mask


def _libc_renameat2():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn


_renameat2 = _libc_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot."""
    if _renameat2 is None:
        return False
    return _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                      _RENAME_EXCHANGE) == 0


def stage_tree(entries: dict[str, Entry], dest: Path, previous: Manifest | None = None,
               load: Callable[[str], bytes] | None = None,
               source: Callable[[str], Path | None] | None = None) -> tuple[Path, Manifest]:
    """Write every entry into a new directory beside `dest`; return it and its manifest.

    Each file is, in order of preference: hard-linked from `dest` (unchanged since the
    last build, per `previous`), hard-linked from `source(digest)` (a stored copy), or
    written (its bytes, or `load(digest)`).
    """
    previous = previous or {}
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.new-"))
    manifest: Manifest = {}
    # Plain strings and os calls: this loop runs once per file of the site, and pathlib's
    # objects cost more than the system calls they wrap.
    top, old_top = str(staging), str(dest)
    try:
        made: set[str] = {top}
        for rel, entry in sorted(entries.items()):
            target = os.path.join(top, rel)
            folder = os.path.dirname(target)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            old = previous.get(rel)
            if old is not None and old[0] == entry.digest and _link_unchanged(
                    os.path.join(old_top, rel), target, old):
                manifest[rel] = old
                continue
            stored = source(entry.digest) if source is not None else None
            if stored is not None:
                with contextlib.suppress(OSError):
                    os.link(stored, target)
                    st = os.stat(target)
                    manifest[rel] = (entry.digest, st.st_size, st.st_mtime_ns, st.st_ino)
                    continue
            data = entry.data if entry.data is not None else _load(load, entry.digest)
            with open(target, "wb") as f:
                f.write(data)
                f.flush()  # the mtime we record must be the file's last
                st = os.fstat(f.fileno())
            manifest[rel] = (entry.digest, st.st_size, st.st_mtime_ns, st.st_ino)
        staging.chmod(0o755)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, manifest


def _load(load: Callable[[str], bytes] | None, digest: str) -> bytes:
    if load is None:
        raise LookupError(f"no bytes for {digest}")
    return load(digest)


def _link_unchanged(old: str, new: str, recorded: tuple[str, int, int, int]) -> bool:
    try:
        st = os.stat(old)
        if (st.st_size, st.st_mtime_ns, st.st_ino) != recorded[1:]:
            return False  # edited since we wrote it: write it again
        os.link(old, new)
        return True
    except OSError:
        return False


BACKGROUND_DELETE = 1000  # files; smaller old trees are deleted before returning


def _discard(tree: Path, files: int) -> None:
    """Remove an old tree. A big one is renamed aside and deleted by a detached process,
    so the build does not wait for thousands of unlinks it has no use for."""
    if files < BACKGROUND_DELETE:
        shutil.rmtree(tree, ignore_errors=True)
        return
    trash = tree.with_name(f".{tree.name.lstrip('.')}.trash")
    try:
        os.rename(tree, trash)
        subprocess.Popen(
            [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], True)",
             str(trash)], start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        shutil.rmtree(trash if trash.exists() else tree, ignore_errors=True)


def swap_in(staging: Path, dest: Path, files: int = 0) -> None:
    """Make `staging` become `dest`; the old `dest` (about `files` files) is removed."""
    if dest.is_dir() and not dest.is_symlink() and _exchange(staging, dest):
        _discard(staging, files)  # staging now holds the old tree
        return
    old = None
    if dest.exists() or dest.is_symlink():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.rename(dest, old)
    os.rename(staging, dest)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()
