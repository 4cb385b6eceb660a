"""Shared fixtures: the bundled instances and a helper that sums a plan over years."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer import load_instance

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"


@pytest.fixture(scope="session")
def tiny():
    return load_instance(INSTANCES / "tiny")

