"""``--cluster ADDRESS``: start a local Dask cluster or join a scheduler, and check the workers can run evalkit.

``local`` starts one worker process per core, ``local:N`` N of them (one thread each: the metrics are pure
Python and would only contend for the GIL); ``tcp://host:8786`` (or any Dask address, ``tls://`` included)
joins a running scheduler, whose workers may live on other machines, in Kubernetes or in an HPC queue.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator

from evalkit.cluster.runner import Runner
from evalkit.errors import ClusterError, InputError

ENV = "EVALKIT_CLUSTER"
OFF = ("", "none", "off", "no")
WAIT_FOR_WORKERS_S = 60.0
_LOCAL = re.compile(r"^local(?::(\d+))?$")


def cluster_address(value: str | None) -> str | None:
    """The address to use: the flag's value, else ``$EVALKIT_CLUSTER``; ``none``/``off`` mean a single process."""
    chosen = value if value is not None else os.environ.get(ENV)
    if chosen is None or chosen.strip().lower() in OFF:
        return None
    parse_address(chosen)
    return chosen.strip()


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", n_workers or None)`` or ``("remote", None)``; anything else is an InputError."""
    text = address.strip()
    m = _LOCAL.match(text.lower())
    if m:
        n = int(m.group(1)) if m.group(1) else None
        if n is not None and n < 1:
            raise InputError(f"--cluster {address}: a local cluster needs at least one worker")
        return "local", n
    if "://" in text and text.split("://", 1)[1]:
        return "remote", None
    raise InputError(f"--cluster {address!r}: expected local, local:N or a scheduler address such as "
                     "tcp://host:8786")


def worker_version() -> str:
    """Runs on each worker: the evalkit it imports."""
    from evalkit import __version__

    return __version__


@contextlib.contextmanager
def connect(address: str) -> Iterator[Runner]:
    """A Runner on the cluster at ``address``; a local cluster is shut down on the way out."""
    kind, n = parse_address(address)
    from distributed import Client, LocalCluster

    from evalkit.stats.table import default_workers

    _quiet()
    cluster = None
    try:
        if kind == "local":
            cluster = LocalCluster(n_workers=n or default_workers(), threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.CRITICAL)
            client = Client(cluster)
        else:
            client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        _check_workers(client, address)
        yield Runner(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _check_workers(client: object, address: str) -> None:
    from evalkit import __version__

    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)  # type: ignore[attr-defined]
    except TimeoutError:
        raise ClusterError(f"the Dask scheduler at {address} has no workers (start some: dask worker {address})") from None
    try:
        versions = client.run(worker_version)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - a worker without evalkit fails in many ways
        raise ClusterError(f"the workers at {address} cannot run evalkit ({type(exc).__name__}: {exc}); "
                           f"install evalkit {__version__} on every worker") from None
    other = {w: v for w, v in versions.items() if v != __version__}
    if other:
        worker, version = next(iter(other.items()))
        raise ClusterError(f"worker {worker} runs evalkit {version}, this machine {__version__}: install the same "
                           "version everywhere, or scores could differ")


def _quiet() -> None:
    """Dask logs to stderr; evalkit keeps stderr for its own one-line messages."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
