"""Shared fixtures: where the real data lives, and skipping cleanly when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
WMT23 = SHARED_DATA / "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23"


def require(path: Path) -> Path:
    """Skip the calling test (with the reason) unless ``path`` exists."""
    if not path.exists():
        pytest.skip(f"real data not available: {path} (../shared/data is absent)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return require(SHARED_DATA)


@pytest.fixture
def wmt23() -> Path:
    return require(WMT23)
