"""Writing outputs so that nothing is ever half-written.

- `write_file`: write to a temporary file in the same directory, fsync, rename over.
- `stage_tree` and `swap_in`: make a whole new tree beside the old one, then swap the two
  in one step (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere renames with a moment
  between), so a reader sees either the old tree or the new one, never a mix.

A file that is byte-for-byte what the last build wrote (same digest, and on disk still the
same size, mtime and inode) is hard-linked into the new tree instead of written again.
The tree swapped out is kept (in `.toolkit/`) and becomes the next build's staging tree:
brought up to date in place, it needs only the files that changed, where a new tree
needs a folder and a link for every page of the site.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import shutil
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

# What the last build wrote: path -> (digest, size, mtime_ns, inode).
Manifest = dict[str, tuple[str, int, int, int]]


class UnsafePath(ValueError):
    """An output path that would leave its tree: a bug or hostile input, never written."""


def is_inside(rel: str) -> bool:
    """Whether `rel` names a path strictly inside a tree: relative, in `/`-separated parts
    none of which is empty, `.` or `..`, with no backslash or NUL. Lexical on purpose: it
    needs no file system, so a record or an entry can be judged before anything is done."""
    return (
        bool(rel)
        and "\\" not in rel
        and "\0" not in rel
        and all(part not in ("", ".", "..") for part in rel.split("/"))
    )


@dataclass
class Entry:
    """A file to write: its digest, and its bytes unless they can be fetched by digest.

    `placed` (size, mtime_ns, inode): the file is already in the new staging tree, put
    there by whoever rendered it (see `site.PostPage.spill`).
    """

    digest: str
    data: bytes | None = None
    placed: tuple[int, int, int] | None = None

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
    import tempfile  # here: a build never needs it, and it costs a start-up 4 ms

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
    # dlopen(NULL): the symbols already loaded, libc's among them. (ctypes.util.find_library
    # would run `ldconfig -p`, a tenth of a no-op build.)
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):  # not glibc/Linux: no atomic exchange
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn


_renameat2 = _libc_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot."""
    if _renameat2 is None:
        return False
    return _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


@dataclass
class Tree:
    """An output tree as a build left it: every file, and every folder's mtime.

    A folder's mtime changes whenever an entry is added to it or removed from it, so the
    folders say, without reading them, whether anything is there that the build did not
    write; the files' (size, mtime, inode) say whether one was edited in place.
    """

    files: Manifest = field(default_factory=dict)
    dirs: dict[str, int] = field(default_factory=dict)  # folder ("" is the top) -> mtime_ns

    def intact(self, top: Path) -> bool:
        """`top` holds exactly this tree: no file edited, added or removed."""
        if "" not in self.dirs:
            return False
        base = str(top)
        for folder, mtime in self.dirs.items():
            try:
                st = os.lstat(os.path.join(base, folder))
            except OSError:
                return False
            if st.st_mtime_ns != mtime or not stat.S_ISDIR(st.st_mode):
                return False
        return all(
            _same_file(os.path.join(base, rel), record) for rel, record in self.files.items()
        )


def stage_tree(
    entries: dict[str, Entry],
    dest: Path,
    staging: Path,
    previous: Tree | None = None,
    reuse: Tree | None = None,
    load: Callable[[str], bytes] | None = None,
    source: Callable[[str], Path | str | None] | None = None,
) -> Tree:
    """Make `staging` hold exactly `entries`, ready to be swapped in for `dest`.

    `staging` is either absent or empty, or (with `reuse`, the record of what an earlier
    build left there) an old tree brought up to date in place: files that are still right
    stay, the rest are replaced, and anything there that the record does not name is
    removed. Each file to write is, in order of preference: hard-linked from `dest`
    (unchanged since the last build, per `previous`), hard-linked from `source(digest)`
    (a stored copy), or written (its bytes, or `load(digest)`). Files are only ever
    unlinked and created, never written into: they share inodes with `dest`.
    """
    unsafe = [rel for rel in entries if not is_inside(rel)]
    if unsafe:
        raise UnsafePath(
            f"refusing to write {unsafe[0]!r}: not a path inside {dest.name}/ "
            "(a name in the content that should have been refused by the check)"
        )
    previous = previous or Tree()
    # Plain strings and os calls: this loop runs once per file of the site, and pathlib's
    # objects cost more than the system calls they wrap.
    top, old_top = str(staging), str(dest)
    wanted = {""}
    for rel in entries:
        folder = os.path.dirname(rel)
        while folder not in wanted:
            wanted.add(folder)
            folder = os.path.dirname(folder)
    try:
        if reuse is None:
            os.makedirs(top, exist_ok=True)
            os.chmod(top, 0o777 & ~_umask())  # as any folder; mkdtemp makes it private
            have: Manifest = {}
            made = {""}
        else:
            have, made = _tidy(top, reuse, entries, wanted)
        tree = Tree()
        for rel, entry in sorted(entries.items()):
            target = os.path.join(top, rel)
            folder = os.path.dirname(rel)
            if entry.placed is not None and reuse is None:
                tree.files[rel] = (entry.digest, *entry.placed)
                while folder not in made:
                    made.add(folder)
                    folder = os.path.dirname(folder)
                continue
            if folder not in made:
                _make_folders(top, folder, made)
            kept = have.get(rel)
            if kept is not None:
                if kept[0] == entry.digest and _same_file(target, kept):
                    tree.files[rel] = kept
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
            old = previous.files.get(rel)
            if (
                old is not None
                and old[0] == entry.digest
                and _link_unchanged(os.path.join(old_top, rel), target, old)
            ):
                tree.files[rel] = old
                continue
            stored = source(entry.digest) if source is not None else None
            if stored is not None:
                with contextlib.suppress(OSError):
                    os.link(stored, target)
                    st = os.stat(target)
                    tree.files[rel] = (entry.digest, st.st_size, st.st_mtime_ns, st.st_ino)
                    continue
            data = entry.data if entry.data is not None else _load(load, entry.digest)
            if reuse is not None:  # whatever an old tree holds here is replaced, not followed
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
            fd = os.open(target, _NEW_FILE, 0o666)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()  # the mtime we record must be the file's last
                st = os.fstat(f.fileno())
            tree.files[rel] = (entry.digest, st.st_size, st.st_mtime_ns, st.st_ino)
        tree.dirs = {folder: os.lstat(os.path.join(top, folder)).st_mtime_ns for folder in wanted}
    except BaseException:
        discard(staging)
        raise
    return tree


# A file is always created, never written through: not into an existing file (which may
# be hard-linked to the live tree), nor through a symlink.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def _make_folders(top: str, folder: str, made: set[str]) -> None:
    """Make `folder` and those above it that are not in `made` (which has ""), each a real
    folder: anything else in the way (a file, a symlink) is removed, never followed."""
    missing = []
    while folder not in made:
        missing.append(folder)
        folder = os.path.dirname(folder)
    for name in reversed(missing):
        path = os.path.join(top, name)
        try:
            os.mkdir(path)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                _remove(path)
                os.mkdir(path)
        made.add(name)


def _tidy(
    top: str, record: Tree, entries: dict[str, Entry], wanted: set[str]
) -> tuple[Manifest, set[str]]:
    """Remove from an old tree every file `entries` does not hold, every folder not in
    `wanted`, and anything the record does not name; what remains, and its folders.

    The record is only believed inside the tree: a folder counts only if it and every
    folder above it are real folders (not symlinks) named by the record, and a file only
    if its folder counts, so no record, however damaged, makes us touch anything outside.
    """
    made: set[str] = set()
    changed: list[str] = []
    # Sorted, a folder comes after the folders above it.
    for folder, mtime in sorted(record.dirs.items()):
        if folder and (not is_inside(folder) or os.path.dirname(folder) not in made):
            continue
        try:
            st = os.lstat(os.path.join(top, folder))
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        made.add(folder)
        if st.st_mtime_ns != mtime:
            changed.append(folder)
    have = {
        rel: kept
        for rel, kept in record.files.items()
        if is_inside(rel) and os.path.dirname(rel) in made
    }
    for rel in [rel for rel in have if rel not in entries]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(top, rel))
        del have[rel]
    named: dict[str, set[str]] | None = None
    for folder in changed:
        # Something was added or removed here since: keep only what the record names
        # (and what we believe of it).
        if named is None:
            named = {}
            for rel in (*have, *made):
                if rel:
                    named.setdefault(os.path.dirname(rel), set()).add(os.path.basename(rel))
        for item in os.scandir(os.path.join(top, folder)):
            if item.name not in named.get(folder, ()):
                _remove(item.path)
    for folder in sorted(made - wanted, key=len, reverse=True):
        _remove(os.path.join(top, folder))
        made.discard(folder)
    return have, made


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _same_file(path: str, record: tuple[str, int, int, int]) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns, st.st_ino) == record[1:]


def _load(load: Callable[[str], bytes] | None, digest: str) -> bytes:
    if load is None:
        raise LookupError(f"no bytes for {digest}")
    return load(digest)


def _link_unchanged(old: str, new: str, recorded: tuple[str, int, int, int]) -> bool:
    if not _same_file(old, recorded):
        return False  # edited since we wrote it: write it again
    try:
        os.link(old, new)
    except OSError:
        return False
    return True


BACKGROUND_DELETE = 1000  # files; smaller trees are deleted before returning


def discard(tree: Path) -> None:
    """Remove a tree nothing needs. A big one is renamed aside and deleted by a detached
    process, so the build does not wait for thousands of unlinks it has no use for."""
    if not os.path.lexists(tree):
        return
    if not tree.is_dir() or tree.is_symlink():
        tree.unlink()
        return
    files = sum(len(names) for _, _, names in os.walk(tree))
    if files < BACKGROUND_DELETE:
        shutil.rmtree(tree, ignore_errors=True)
        return
    import subprocess  # here: most builds discard nothing

    trash = tree.with_name(f".{tree.name.lstrip('.')}.trash-{os.getpid()}")
    try:
        os.rename(tree, trash)
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import shutil, sys; shutil.rmtree(sys.argv[1], True)",
                str(trash),
            ],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        shutil.rmtree(trash if trash.exists() else tree, ignore_errors=True)


def swap_in(staging: Path, dest: Path) -> bool:
    """Make `staging` become `dest`. True when the old `dest` is now at `staging` (the
    caller keeps it or discards it); False when there was none."""
    if dest.is_dir() and not dest.is_symlink() and _exchange(staging, dest):
        return True
    if not os.path.lexists(dest):
        os.rename(staging, dest)
        return False
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    os.rename(dest, old)
    try:
        os.rename(staging, dest)
        os.rename(old, staging)  # a read-only `dest` cannot move to another folder
    except OSError as e:
        # Put both back, so that no `.site.old-PID` is left behind and `dest` is as it was.
        if not os.path.lexists(staging):
            os.rename(dest, staging)
        os.rename(old, dest)
        raise OSError(
            e.errno,
            f"{e.strerror} ({dest.name}/ could not be replaced and is as it was: "
            "make it writable, or delete it)",
            str(dest),
        ) from e
    return True


OUTPUT_DIRS = ("site", "feeds", "drafts")
PREVIEW = "preview"  # the tree `toolkit serve` shows: .toolkit/preview, never site/


def destination(root: Path, directory: str) -> Path:
    """Where an output tree lives: the preview under .toolkit/, where no deploy looks."""
    return root / ".toolkit" / PREVIEW if directory == PREVIEW else root / directory
