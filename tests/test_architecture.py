"""The layout is the architecture: data <- models <- solving <- analysis | studies | reports <- web <- cli
(the command line starts the workbench: `ewppt serve` is a thin command over optimizer.web.server).

Every import of the engine's own modules (at the top of a file or inside a function) goes down
the layers or stays in its own wing; the three wings on one layer do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAYER = {"data": 0, "models": 1, "solving": 2, "analysis": 3, "studies": 3, "reports": 3, "web": 4, "cli": 5, "__main__": 6}


def wing(module: str) -> str | None:
    """The wing of a dotted module name of the engine (None for the package itself)."""
    parts = module.split(".")
    if parts[0] == "models":
        return "models"
    if parts[0] != "optimizer" or len(parts) == 1:
        return None
    return parts[1]


def engine_files() -> list[Path]:
    return sorted(p for folder in ("optimizer", "models") for p in (ROOT / folder).rglob("*.py")
                  if p.name != "__init__.py" or p.parent.name != "optimizer")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of the engine's own modules in a file; `from optimizer
    import NAME` counts as importing the module that defines NAME."""
    from optimizer import _PUBLIC

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "optimizer":
                found += [(node.lineno, _PUBLIC.get(alias.name, f"optimizer.{alias.name}")) for alias in node.names]
            else:
                found += [(node.lineno, node.module)]
    return [(line, name) for line, name in found if name.split(".")[0] in ("optimizer", "models")]


def test_every_module_sits_in_a_wing():
    assert {wing(module_name(p)) for p in engine_files()} == set(LAYER)


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_wing_above_it_or_beside_it(path):
    own = wing(module_name(path))
    for line, name in imported(path):
        other = wing(name)
        if other is None or other == own:
            continue
        assert LAYER[other] < LAYER[own], f"{path.relative_to(ROOT)}:{line} ({own}) imports {name} ({other})"


def test_the_solving_wing_loads_without_pandas_or_pyomo_for_the_interrupt_handler():
    """The command line installs Ctrl-C handling before the heavy imports (optimizer/__main__.py)."""
    import subprocess
    import sys

    code = ("import sys; import optimizer.solving.interrupt, optimizer.solving.progress; "
            "print(sorted(m for m in ('pandas', 'pyomo', 'numpy', 'typer') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
