"""Tables and folders the engine may not read: refused with the file named, never a crash.

(As root every file is readable: these tests are skipped then; the corpus's folder-as-table and
named-pipe cases in tests/bad_instances cover the paths that need no permissions.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from optimizer.data.errors import InvalidInstance
from optimizer.data.io import load_instance

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
as_root = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads every file")


@pytest.fixture
def tiny(tmp_path: Path):
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    yield folder
    for path in (folder, *folder.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _messages(path: Path) -> list[str]:
    with pytest.raises(InvalidInstance) as raised:
        load_instance(path)
    return [str(p) for p in raised.value.problems]


@as_root
def test_unreadable_table(tiny: Path) -> None:
    (tiny / "pairs.csv").chmod(0)
    assert _messages(tiny) == ["pairs.csv: cannot be read: Permission denied"]


@as_root
def test_unreadable_scenario(tiny: Path) -> None:
    (tiny / "scenario.toml").chmod(0)
    assert _messages(tiny) == ["scenario.toml: cannot be read: Permission denied"]


@as_root
def test_unreadable_folder(tiny: Path) -> None:
    tiny.chmod(0)
    assert _messages(tiny) == [f"{tiny}: cannot read the instance folder: Permission denied"]


def test_unreadable_table_and_folder_simulated(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same, as root: opening pairs.csv, then listing the folder, fails as for another user."""
    real_open = Path.open

    def refuse(path: Path, *args, **kwargs):
        if path.name == "pairs.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert _messages(tiny) == ["pairs.csv: cannot be read: Permission denied"]
    monkeypatch.setattr(os, "listdir", lambda path: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    assert _messages(tiny) == [f"{tiny}: cannot read the instance folder: Permission denied"]
