"""One exception type for problems a user can fix; the CLI prints it as one line."""
from __future__ import annotations


class InputError(ValueError):
    """Bad input (files, options, data shapes): the message says what and how to fix it."""


class ModelError(RuntimeError):
    """A neural model cannot be loaded (missing package, no local copy, hub switched off)."""


class ClusterError(RuntimeError):
    """The Dask cluster cannot run the job (no scheduler there, no workers, workers with another evalkit)."""
