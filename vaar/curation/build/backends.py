"""Where the per-clip work of ``vaar build`` runs: a local process pool or a Ray cluster.

Both backends are :class:`concurrent.futures.Executor`\\ s, so the pipeline's bounded
submit / ``wait(FIRST_COMPLETED)`` loop is the same code for both; the driver stays the only
writer of the ledger and the manifest, and results stream back as futures complete.

:data:`Backend` is a policy:

* ``local`` (default) — a ``forkserver`` process pool of ``--workers`` processes on this machine.
  No extra dependency, lowest start-up cost (well under a second).
* ``ray`` — each clip is a Ray task (1 CPU) on whatever cluster ``--ray-address`` names (none:
  a Ray instance started for this build on this machine). Costs a few seconds of start-up and
  ~1 ms of scheduling per clip; pays off when one machine's cores are not enough. A worker
  killed mid-clip is retried by Ray (``max_retries``); once the retries are spent the clip is
  recorded as ``failed`` with the reason, never lost. Needs ``pip install 'vaar[ray]'``.

Workers write media straight into the build folder (temporary name, then rename), so on a
cluster the build folder must be a path that every node can reach under the same name (NFS,
a shared Lustre/EFS mount, ...). Downloads stay in the driver's thread pool on both backends:
they are I/O bound and limited by what the sources allow (rate limits per site and per IP),
not by CPU, so a few threads on one node fill the link, and the source cache under the build
folder is read once by the node that trims the clip.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Literal, TypeVar

from vaar.core.errors import ConfigError, MissingDependencyError

Backend = Literal["local", "ray"]
BACKENDS: tuple[Backend, ...] = ("local", "ray")
T = TypeVar("T")

#: How often Ray reruns a task whose worker process or node died (not a Python exception:
#: ``process_clip`` never raises, so an exception is a bug and is not worth a retry).
RAY_MAX_RETRIES = 3


def make_executor(
    backend: Backend, workers: int, ray_address: str | None = None, *, mp_context: Any = None
) -> Executor:
    """An executor for ``backend``; ``workers`` is the local pool size (``local``) or a hint."""
    if backend == "local":
        if ray_address:
            raise ConfigError("--ray-address needs --backend ray")
        return concurrent.futures.ProcessPoolExecutor(workers, mp_context=mp_context)
    if backend == "ray":
        return RayExecutor(ray_address)
    raise ConfigError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")


def import_ray() -> Any:
    """``ray``, or one clear line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("the Ray backend needs Ray: pip install 'vaar[ray]'") from None
    return ray


def init_ray(address: str | None, **kwargs: Any) -> bool:
    """Connect to ``address`` (None: start Ray here) unless Ray is up; True if this call started it.

    Workers' output is not streamed to the driver (library code does not print); a Ray started
    here runs no dashboard. ``ray://`` (Ray Client) addresses get Ray's defaults.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    opts: dict[str, Any] = {}
    if not (address or "").startswith("ray://"):
        opts["log_to_driver"] = False
    if address is None:
        opts["include_dashboard"] = False
    ray.init(address=address, **{**opts, **kwargs})
    return True


def _run(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[bool, Any]:
    """Body of the Ray task: returns ``(ok, value-or-exception)``.

    An exception travels back as a value, so the driver re-raises the very object ``fn``
    raised (with its attributes), not Ray's wrapper of it.
    """
    try:
        return True, fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - re-raised in the driver
        return False, exc


class _RayExecutorBase(Executor):
    """Connection and shutdown shared by the Ray executors (stateless tasks, stateful actors)."""

    def __init__(self, address: str | None, init_kwargs: dict[str, Any] | None) -> None:
        self._ray = import_ray()
        self._owns_ray = init_ray(address, **(init_kwargs or {}))
        self._lock = threading.RLock()  # re-entered when a call finishes while being submitted
        self._shutdown = False

    def _start(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """An ``ObjectRef`` of ``(ok, value-or-exception)`` for ``fn(*args, **kwargs)``."""
        raise NotImplementedError

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            ref = self._start(fn, args, kwargs)
        out: Future[T] = Future()
        ref.future().add_done_callback(lambda f: _settle(f, out))
        return out

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
        if self._owns_ray:
            self._ray.shutdown()
            self._owns_ray = False


class RayExecutor(_RayExecutorBase):
    """``submit(fn, *args)`` runs ``fn`` as a Ray task and returns a ``concurrent.futures.Future``.

    Connects to ``address`` (``auto``, ``ray://host:10001``, ``host:6379``) or, with none,
    starts a local Ray instance that :meth:`shutdown` stops again. An instance that was
    already initialised in this process (tests, notebooks) is used as it is and left running.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: float = 1.0,
        max_retries: int = RAY_MAX_RETRIES,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(address, init_kwargs)
        self._remote = self._ray.remote(num_cpus=num_cpus, max_retries=max_retries,
                                        retry_exceptions=False)(_run)

    def _start(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._remote.remote(fn, args, kwargs)


class _Actor:
    """Body of one actor of :class:`RayActorExecutor`: runs the initializer once, then tasks."""

    def __init__(self, initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
        if initializer is not None:
            initializer(*initargs)

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[bool, Any]:
        return _run(fn, args, kwargs)


class RayActorExecutor(_RayExecutorBase):
    """``actors`` long-lived Ray actors behind the same ``submit(fn, *args)`` interface.

    Each actor runs ``initializer(*initargs)`` once when it starts (and again if it is
    restarted) — the contract of ``ProcessPoolExecutor(initializer=...)``: per-process state such
    as a loaded model lives in a module global the submitted functions read. ``submit`` sends
    the call to the actor with the fewest calls in flight. An actor whose process dies is
    restarted and its call retried (``max_restarts`` / ``max_task_retries``).
    """

    def __init__(
        self,
        actors: int,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        address: str | None = None,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        max_restarts: int = 2,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if actors < 1:
            raise ConfigError(f"--actors must be >= 1, got {actors}")
        super().__init__(address, init_kwargs)
        opts: dict[str, Any] = {"num_cpus": num_cpus, "max_restarts": max_restarts,
                                "max_task_retries": max_restarts}
        if num_gpus:
            opts["num_gpus"] = num_gpus
        cls = self._ray.remote(**opts)(_Actor)
        self._actors = [cls.remote(initializer, initargs) for _ in range(actors)]
        self._load = [0] * actors

    def _start(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        k = min(range(len(self._actors)), key=self._load.__getitem__)
        self._load[k] += 1
        ref = self._actors[k].run.remote(fn, args, kwargs)
        ref.future().add_done_callback(lambda _: self._done(k))
        return ref

    def _done(self, k: int) -> None:
        with self._lock:
            self._load[k] -= 1


def _settle(raw: Future[Any], out: Future[Any]) -> None:
    """Copy the Ray task's outcome into ``out``: its value, its exception, or Ray's error."""
    if raw.cancelled():
        out.cancel()
        return
    exc = raw.exception()
    if exc is not None:  # worker or node died past max_retries, object lost, ...
        out.set_exception(exc)
        return
    ok, value = raw.result()
    if ok:
        out.set_result(value)
    else:
        out.set_exception(value)
