"""A result folder holds one run: it is written whole into a temporary sibling, then swapped in.

    with result_folder("results/tiny") as folder:   # folder: results/.tiny.<random>.tmp
        ...write every file into folder...
    # on success the old results/tiny is replaced as a whole; on any exception (Ctrl-C too)
    # the temporary folder is removed and results/tiny is exactly as it was

- ewppt replaces only a folder it wrote (one holding run.json or the `.ewppt-result` marker),
  or an empty one; anything else is refused with `UnusableOutput`, so `--out ~/Documents`
  never wipes a user's folder.
- The swap runs under an exclusive `flock` on a lock file beside the folder, so two runs into
  one folder never mix: the folder is one run's or the other's. On Linux the swap is one
  `renameat2(RENAME_EXCHANGE)`, so a reader never finds the folder missing.
- A folder opened inside another one being written (a frontier's point-k/) is written in place:
  the outer folder is swapped as a whole.
- A path that cannot hold a folder raises `UnusableOutput` (exit 2); a write that fails (disk
  full) raises `OutputWriteFailed` (exit 9). Either way nothing temporary is left behind.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from optimizer.data.io import current_umask

MARKER = ".ewppt-result"  # written into a result folder that has no run.json of its own
OWN_FILES = ("run.json", MARKER)

# Temporary folders being written now; a Ctrl-C watchdog that must exit at once removes them.
LIVE_TEMP_DIRS: set[Path] = set()

# errno values of a write that failed for want of room or rights, not for a fault of ewppt's
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM}


class OutputError(Exception):
    """The output could not be written; the message is one line for the user."""


class UnusableOutput(OutputError):
    """The output path cannot be (or must not be) a result folder: a file, under a file, not
    writable, or a folder ewppt did not write."""


class OutputWriteFailed(OutputError):
    """Writing failed midway (disk full, ...); the previous folder is as it was."""


def remove_live_temp_dirs() -> None:
    """Remove every temporary folder being written (for a hard exit that skips `finally`)."""
    for path in list(LIVE_TEMP_DIRS):
        shutil.rmtree(path, ignore_errors=True)
        LIVE_TEMP_DIRS.discard(path)


def is_ours(folder: Path) -> bool:
    return any((folder / name).exists() for name in OWN_FILES)


def check_out_dir(path: str | Path, force: bool = False) -> Path:
    """The absolute folder path, or `UnusableOutput` saying why it cannot be a result folder.
    Called before a long computation, so a bad --out fails at once; `force` also accepts a
    non-empty folder ewppt did not write."""
    folder = Path(os.path.abspath(path))
    if folder.is_symlink():
        folder = folder.resolve()  # swap the folder the link points to, not the link
    if folder.exists() and not folder.is_dir():
        raise UnusableOutput(f"{path} is a file, not a folder; choose a folder for the output")
    if folder.is_dir() and not force and any(folder.iterdir()) and not is_ours(folder):
        raise UnusableOutput(f"{path} is a folder ewppt did not write and it is not empty; ewppt replaces "
                             "an output folder as a whole, so choose a new or empty folder")
    check_writable_parent(path, folder)
    return folder


def check_writable_parent(path: str | Path, target: Path) -> None:
    """Raise UnusableOutput unless `target` (the absolute form of `path`, as the user typed it)
    can be created: its nearest existing ancestor is a folder this process may write in."""
    ancestor = target.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UnusableOutput(f"{path} is under {ancestor}, which is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UnusableOutput(f"{path} cannot be written: {ancestor} is read-only")


@contextmanager
def result_folder(path: str | Path, update: bool = False, force: bool = False, mark: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling of `path` to write into; on success swap it into place.

    `update=True` starts from the folder's current files (hard links) and holds the lock from
    the start, for a command that adds to a result (the HTML report); `force=True` replaces a
    non-empty folder ewppt did not write (`generate --force`); `mark=False` leaves out the
    marker (an instance folder is not a result folder a solve may replace).
    """
    folder = Path(os.path.abspath(path))
    if any(folder.is_relative_to(live) for live in tuple(LIVE_TEMP_DIRS)):
        folder.mkdir(parents=True, exist_ok=True)  # inside a folder being written: swapped with it
        yield folder
        return
    folder = check_out_dir(path, force)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = open(folder.parent / f".{folder.name}.lock", "a")  # noqa: SIM115 - held until the swap
    except OSError as exc:
        raise UnusableOutput(f"{path} cannot be written: {exc.strerror}") from None
    try:
        if update:
            fcntl.flock(lock, fcntl.LOCK_EX)
        tmp = _make_temp_sibling(folder, path)
        try:
            if update:
                shutil.copytree(folder, tmp, copy_function=_link_or_copy, dirs_exist_ok=True)
            yield tmp
            if mark and not is_ours(tmp):
                (tmp / MARKER).write_text("written by ewppt; a re-run replaces this folder as a whole\n")
            fcntl.flock(lock, fcntl.LOCK_EX)  # a no-op when update already holds it
            _swap_into_place(tmp, folder, path, force)
        except OSError as exc:
            if exc.errno not in WRITE_ERRORS:
                raise
            raise OutputWriteFailed(f"the output could not be written to {path} ({exc.strerror}); "
                                    "the previous folder is as it was") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the new folder unswapped, or the old one after a swap
            LIVE_TEMP_DIRS.discard(tmp)
    finally:
        lock.close()  # releases the lock


def _make_temp_sibling(folder: Path, path: str | Path) -> Path:
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the path is fine, the disk is full
            raise OutputWriteFailed(f"the output could not be written to {path} ({exc.strerror}); "
                                    "the previous folder is as it was") from None
        raise UnusableOutput(f"{path} cannot be written: {exc.strerror}") from None
    LIVE_TEMP_DIRS.add(tmp)
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; a result folder follows the umask
    return tmp


def _swap_into_place(tmp: Path, folder: Path, path: str | Path, force: bool) -> None:
    """Put tmp at folder; the old folder, if any, ends at tmp for the caller to remove. Lock held."""
    if not folder.exists():
        os.rename(tmp, folder)
        return
    # checked again under the lock: another program may have filled the folder meanwhile
    check_out_dir(path, force)
    if _exchange(tmp, folder):
        return
    old = tmp.with_name(tmp.name + ".old")
    LIVE_TEMP_DIRS.add(old)
    os.rename(folder, old)
    try:
        os.rename(tmp, folder)
    except BaseException:
        os.rename(old, folder)  # put the previous folder back as it was
        raise
    finally:
        LIVE_TEMP_DIRS.discard(old)
    os.rename(old, tmp)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux's renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # an old kernel or a file system without it
        return False
    raise OSError(code, os.strerror(code), str(b))


def _link_or_copy(src: str, dst: str) -> None:
    """Share a file with the folder it comes from: ewppt replaces files, never edits them."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def png_bytes(fig, dpi: int) -> bytes:
    """A matplotlib figure as PNG bytes, the same bytes for the same figure (no software stamp),
    to be written with atomic_write."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", bbox_inches="tight", pad_inches=0.15,
                metadata={"Software": None})
    return buffer.getvalue()
