"""An uploaded instance (the web workbench): an .xlsx workbook or a .zip of an instance folder.

`load_upload` writes the upload only inside the caller's private `workdir`, under names it
chooses itself (never a path taken from the upload): a zip member whose name holds `..`, is
absolute or is a symbolic link refuses the whole upload, and so does an upload over
`max_bytes` or one that would unpack to more than `max_unpacked` bytes (a zip bomb; an .xlsx
workbook is a zip too). The instance is then read by `load_instance`, so a bad cell is
reported as `ewppt validate` reports it (sheet or file, row, column, value).
"""

from __future__ import annotations

import io
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from optimizer.data.errors import InvalidInstance, Problem, UploadRefused
from optimizer.data.io import SCENARIO_FILE, Instance, load_instance

__all__ = ["UploadRefused", "load_upload"]

UNPACKED_FACTOR = 20  # an upload may unpack to at most this many times max_bytes (text compresses ~5-10x)
MAX_MEMBERS = 1000  # files in a zipped instance folder (an instance has at most a dozen tables)
IGNORED = ("__MACOSX/",)  # what macOS's "Compress" adds beside the folder


def load_upload(data: bytes, filename: str, workdir: Path, max_bytes: int, max_unpacked: int | None = None
                ) -> Instance:
    """The instance in an uploaded `.xlsx` workbook or `.zip` of an instance folder.

    Writes only inside `workdir` (a private temporary folder the caller owns and removes).
    Raises `UploadRefused` (an `InvalidInstance`) for an upload that is too large, of another
    kind, or a zip with unsafe members; `InvalidInstance` with every problem for an instance
    that does not validate.
    """
    workdir = Path(workdir)
    name = _safe_name(filename)
    if len(data) > max_bytes:
        raise UploadRefused(name, f"the upload is {len(data):,} bytes, more than the {max_bytes:,} allowed")
    limit = max_unpacked if max_unpacked is not None else UNPACKED_FACTOR * max_bytes
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        _members(data, name, limit)  # a workbook is a zip: openpyxl would unpack a bomb
        path = _fresh(workdir) / name
        path.write_bytes(data)
        return load_instance(path)
    if suffix == ".zip":
        return load_instance(_unzip(data, name, workdir, limit))
    raise UploadRefused(name, "expected an .xlsx workbook or a .zip of an instance folder")


def _fresh(workdir: Path) -> Path:
    """A new folder inside `workdir` for one upload (two uploads into one workdir never mix)."""
    return Path(tempfile.mkdtemp(prefix="upload-", dir=workdir))


def _safe_name(filename: str) -> str:
    """The upload's own file name when it is plain (messages then name it: `plan.xlsx [pairs]`),
    else `upload` with its suffix. Never a path: only the last part, and only plain characters."""
    last = re.split(r"[\\/]", str(filename or ""))[-1].strip()
    suffix = Path(last).suffix.lower()
    if re.fullmatch(r"[\w\-. ()]{1,100}", last) and not last.startswith("."):
        return last
    return f"upload{suffix if suffix in ('.xlsx', '.zip') else ''}"


def _members(data: bytes, name: str, limit: int) -> list[zipfile.ZipInfo]:
    """The archive's members, checked: readable, not too many, not unpacking beyond `limit`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        kind = ".xlsx workbook" if name.lower().endswith(".xlsx") else ".zip archive"
        raise UploadRefused(name, f"not a readable {kind}: {exc}") from None
    with archive:
        members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise UploadRefused(name, f"the archive holds {len(members):,} files, more than the {MAX_MEMBERS:,} allowed")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limit:
        raise UploadRefused(name, f"the archive unpacks to {unpacked:,} bytes, more than the {limit:,} allowed")
    return members


def _unsafe(member: zipfile.ZipInfo) -> str | None:
    """Why a member may not be unpacked, or None."""
    raw = member.filename
    parts = PurePosixPath(raw.replace("\\", "/")).parts
    if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw):
        return "an absolute path"
    if ".." in parts:
        return "a path out of the folder ('..')"
    if "\x00" in raw or any(not part.isprintable() for part in parts):
        return "a name with control characters"
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # Python's zipfile writes no type
        return "not a regular file"
    return None


def _unzip(data: bytes, name: str, workdir: Path, limit: int) -> Path:
    """Unpack the zipped instance folder into `workdir/instance` and return the folder holding
    scenario.toml (the zip's root, or the one folder the zip holds)."""
    members = _members(data, name, limit)
    for member in members:
        why = _unsafe(member)
        if why:
            raise UploadRefused(name, f"refused: the member {member.filename!r} is {why}")
    kept = [m for m in members if not m.filename.startswith(IGNORED) and not m.is_dir()]
    scenarios = [m for m in kept if PurePosixPath(m.filename).name == SCENARIO_FILE]
    if len(scenarios) != 1:
        found = ", ".join(m.filename for m in scenarios)
        raise InvalidInstance([Problem(name, f"expected one instance folder with {SCENARIO_FILE}; found "
                                       + (f"{len(scenarios)} ({found})" if scenarios else "none"))])
    root = PurePosixPath(scenarios[0].filename).parent
    folder_name = root.name if root.parts and re.fullmatch(r"[\w\-.]{1,100}", root.name) else "instance"
    target = _fresh(workdir) / folder_name
    target.mkdir()
    base = target.resolve()
    written = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in kept:
            relative = PurePosixPath(member.filename)
            if root.parts and relative.parts[:len(root.parts)] != root.parts:
                continue  # beside the instance folder: not part of it
            inside = relative.parts[len(root.parts):]
            if len(inside) != 1:
                continue  # an instance is the folder's own files; sub-folders are not read
            path = (target / inside[0]).resolve()
            if path.parent != base:  # the checks above make this impossible; hold it anyway
                raise UploadRefused(name, f"refused: the member {member.filename!r} is outside the folder")
            try:
                with archive.open(member) as source, open(path, "xb") as sink:
                    while chunk := source.read(1 << 16):
                        written += len(chunk)
                        if written > limit:
                            raise UploadRefused(name, f"the archive unpacks to more than the {limit:,} bytes allowed")
                        sink.write(chunk)
            except FileExistsError:
                shutil.rmtree(target, ignore_errors=True)
                raise UploadRefused(name, f"the archive holds {inside[0]!r} twice; keep one") from None
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
                shutil.rmtree(target, ignore_errors=True)
                raise UploadRefused(name, f"not a readable .zip archive ({member.filename!r}: {exc})") from None
            except UploadRefused:
                shutil.rmtree(target, ignore_errors=True)
                raise
    return target
