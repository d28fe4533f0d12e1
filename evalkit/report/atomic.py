"""Write-then-rename, so a crash or a full disk never leaves a half-written report behind."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from evalkit.errors import InputError


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{p}: cannot create directory {p.parent}: {exc.strerror}") from None
    if p.is_dir():
        raise InputError(f"{p}: is a directory; give a file name")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise InputError(f"{p}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p
