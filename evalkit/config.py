"""Saved runs: a TOML file whose ``[score]``/``[compare]`` tables hold the same keys as the CLI flags."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from evalkit.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.toml"


def load_config(path: str | Path, section: str) -> dict[str, Any]:
    """The ``section`` table with paths resolved against the project root (or the config's own folder)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such config file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: invalid TOML: {exc}") from None
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise InputError(f"{p}: [{section}] must be a table")
    base = p.resolve().parent.parent if p.resolve().parent.name == "configs" else p.resolve().parent
    for key in ("hyp", "ref", "src", "report", "output"):
        if key in table:
            value = table[key]
            if isinstance(value, list):
                table[key] = [str(_resolve(base, v)) for v in value]
            elif isinstance(value, str):
                table[key] = str(_resolve(base, value))
    return table


def _resolve(base: Path, value: str) -> Path:
    v = Path(value)
    return v if v.is_absolute() else base / v
