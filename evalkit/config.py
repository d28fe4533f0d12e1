"""Saved runs: a TOML file whose ``[score]``/``[compare]`` tables hold the same keys as the CLI flags."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from evalkit.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.toml"
T = TypeVar("T")


def read_toml(path: str | Path) -> dict[str, Any]:
    """A whole TOML file; a missing or invalid file is an input error."""
    return _read_toml(Path(path))


def _read_toml(p: Path) -> dict[str, Any]:
    if not p.is_file():
        raise InputError(f"{p}: no such config file")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: invalid TOML: {exc}") from None


def load_dataclass(cls: type[T], path: str | Path, section: str, overrides: dict[str, Any] | None = None) -> T:
    """A config dataclass from the ``section`` table (``-`` or ``_`` in keys); ``overrides`` that are not None win.

    Unknown keys and wrong types are input errors, so that a typo in a training config cannot pass silently.
    """
    p = Path(path)
    table = _read_toml(p).get(section)
    if not isinstance(table, dict):
        raise InputError(f"{p}: no [{section}] table")
    values = {k.replace("-", "_"): v for k, v in table.items()}
    unknown = sorted(set(values) - set(getattr(cls, "__dataclass_fields__", {})))
    if unknown:
        raise InputError(f"{p}: unknown key(s) in [{section}]: {', '.join(unknown)}")
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return cls(**values)
    except TypeError as exc:
        raise InputError(f"{p}: {exc}") from None


def resolve_path(path: str | Path, base: Path) -> Path:
    """``path`` itself if absolute (``~`` expanded), else relative to ``base``."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def load_config(path: str | Path, section: str) -> dict[str, Any]:
    """The ``section`` table with paths resolved against the project root (or the config's own folder)."""
    p = Path(path)
    table = _read_toml(p).get(section, {})
    if not isinstance(table, dict):
        raise InputError(f"{p}: [{section}] must be a table")
    base = p.resolve().parent.parent if p.resolve().parent.name == "configs" else p.resolve().parent
    for key in ("hyp", "ref", "src", "report", "output"):
        if key in table:
            value = table[key]
            if isinstance(value, list):
                table[key] = [str(resolve_path(v, base)) for v in value]
            elif isinstance(value, str):
                table[key] = str(resolve_path(value, base))
    return table
