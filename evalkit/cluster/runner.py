"""Run tasks on a Dask cluster: results in order, the first failure stops the run, worker deaths are Dask's job.

A task that raises (an InputError about a bad line, say) cancels the run's other tasks and is re-raised here,
so the CLI prints its one line instead of a cluster finishing useless work. A worker that dies is replaced (by
its nanny) and the scheduler reruns its tasks elsewhere; only a task that kills workers again and again ends
the run, as a ClusterError. Results are kept per task index, so a rerun task cannot add a duplicate.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from evalkit.errors import ClusterError


class Runner:
    """A connected ``distributed.Client`` and what evalkit needs from it."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def map(self, fn: Callable[..., Any], args: Sequence[tuple[Any, ...]], name: str,
            done: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``[fn(*a) for a in args]`` on the workers; ``done(i, result)`` is called as each finishes."""
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        futures = [self.client.submit(fn, *a, key=f"{name}-{i}-{token}", pure=False) for i, a in enumerate(args)]
        position = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        try:
            # This client's own loop: as_completed would take the process's default client's, which need not be
            # this one when the caller holds a Client of its own.
            for future, result in as_completed(futures, loop=self.client.loop, with_results=True, raise_errors=True):
                i = position[future.key]
                results[i] = result
                if done is not None:
                    done(i, result)
        except BaseException as exc:
            self.client.cancel(futures)
            raise _translate(exc, name) from None
        return results


def _translate(exc: BaseException, name: str) -> BaseException:
    """Dask's own failures as one-line errors; the tasks' own exceptions (InputError, bugs) pass unchanged."""
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        return ClusterError(f"task {exc.task} killed its worker each time Dask ran it, up to the scheduler's "
                            "allowed-failures (out of memory? the workers' logs say why)")
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("evalkit"):
        from evalkit import __version__

        return ClusterError(f"a worker cannot import {exc.name}: install evalkit {__version__} on every worker")
    return exc
