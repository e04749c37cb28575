"""The model's side of the ``--model`` sandbox: what runs in the model's ``python -I`` process.

It sets the memory limit, moves the model's prints to stderr, imports the submitted factory,
then answers one JSON line of scores per JSON line of clips (file paths, never labels), and after
each reply (so outside the timed request) one line with the parameter count: the elements of every
torch tensor and numpy array the process holds at that moment (:func:`count_parameters`). The
scorer keeps the maximum over the run, so a network built inside ``predict()`` is counted. The
scorer's side, and the protocol a model implements, are in :mod:`vaar.bench.sandbox`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

from vaar.bench.sandbox import Clip


def _tensor_elements(t: Any, seen: dict[tuple[str, int], int]) -> None:
    import torch

    try:
        storage = torch.Tensor.untyped_storage(t)
        size = int(torch.Tensor.element_size(t)) or 1
        seen[("torch", int(storage.data_ptr()) or id(storage))] = int(storage.nbytes()) // size
    except (RuntimeError, NotImplementedError, TypeError, AttributeError):  # sparse, meta, nested
        seen[("torch", id(t))] = int(torch.Tensor.numel(t))


def _array_elements(a: Any, seen: dict[tuple[str, int], int]) -> None:
    import numpy as np

    base = a
    while isinstance(getattr(base, "base", None), np.ndarray):
        base = base.base
    seen[("numpy", id(base))] = int(base.size)


def count_parameters() -> int | None:
    """Elements of every torch tensor and numpy array alive in this process, each storage counted
    once (a view adds nothing); ``None`` when it holds none. Not only ``nn.Module`` parameters:
    weights kept in a plain dict or built inside ``predict()`` count too. Types are checked with
    ``type()``/``isinstance`` on the objects the garbage collector tracks and their referents, and
    sizes read through the base classes' methods, so a subclass overriding ``numel`` is not asked."""
    import gc

    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    seen: dict[tuple[str, int], int] = {}
    tensor = getattr(torch, "Tensor", None) if torch is not None else None
    ndarray = getattr(np, "ndarray", None) if np is not None else None
    for obj in gc.get_objects():
        if tensor is not None and isinstance(obj, tensor):
            _tensor_elements(obj, seen)
        if ndarray is not None:
            for ref in gc.get_referents(obj):
                if isinstance(ref, ndarray):
                    _array_elements(ref, seen)
    total = sum(seen.values())
    return total if total else None


def as_rows(out: Any, n: int, n_classes: int) -> list[list[float]]:
    import numpy as np

    if hasattr(out, "detach"):
        out = out.detach().cpu().double().numpy()
    arr = np.asarray(out, dtype=np.float64)
    if arr.shape != (n, n_classes):
        raise ValueError(f"predict() returned shape {arr.shape}, expected ({n}, {n_classes}) "
                         "(one row per clip, one column per class in taxonomy order)")
    return [[float(x) for x in row] for row in arr]


def _read_file(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def _send(reply: IO[str], obj: dict[str, Any]) -> None:
    reply.write(json.dumps(obj) + "\n")
    reply.flush()


def _serve(reply: IO[str]) -> None:
    hello = json.loads(sys.stdin.readline())
    for p in reversed(hello["sys_path"]):
        if p not in sys.path:
            sys.path.insert(0, p)
    module_name, _, attr = str(hello["spec"]).partition(":")
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        closed = [p for p in hello["sys_path"] if p and os.path.isabs(p) and os.path.exists(os.path.dirname(p) or "/")
                  and not os.access(p, os.R_OK | os.X_OK)]
        hint = (f"; the model runs as its own user (uid {os.getuid()}), who cannot read {closed[0]}: keep the "
                "model's code in a folder other users may read (chmod o+rX)") if closed and os.getuid() else ""
        _send(reply, {"error": f"cannot import {module_name} ({exc}); modules are looked up in the folder "
                               f"submit runs in ({hello['sys_path'][0]}), then the installed packages: cd to the "
                               f"folder that holds {module_name.split('.')[0]}.py (or its package), or pip install it{hint}"})
        return
    factory = getattr(module, attr, None)
    if not callable(factory):
        _send(reply, {"error": f"{module_name} has no callable {attr}"})
        return
    model = factory()
    if not callable(getattr(model, "predict", None)):
        _send(reply, {"error": "the factory's object has no predict(batch) method"})
        return
    threads = None
    if "torch" in sys.modules:
        import torch

        threads = int(torch.get_num_threads())
    bs = getattr(model, "batch_size", None)
    _send(reply, {"ready": True, "parameters": count_parameters(), "threads": threads,
          "batch_size": bs if isinstance(bs, int) else None})
    del module, factory
    n_classes = int(hello["n_classes"])
    no_grad: Callable[[], Any] = contextlib.nullcontext
    if "torch" in sys.modules:
        import torch

        no_grad = torch.inference_mode
    for line in sys.stdin:
        clips = [Clip(c["clip_id"], _read_file(c["video"]) or b"", _read_file(c["audio"]), c["video"], c["audio"],
                      c["video_path"], c["audio_path"]) for c in json.loads(line)["clips"]]
        with no_grad():
            rows = as_rows(model.predict(clips), len(clips), n_classes)
        del clips
        _send(reply, {"scores": rows})  # the scorer's clock stops here
        del rows
        _send(reply, {"parameters": count_parameters()})  # what the model holds after this predict()


def main(argv: Sequence[str]) -> int:
    """The model's process: ``main([MEMORY_MB])`` in ``python -I`` (started by :class:`ModelProcess`)."""
    import resource

    limit = int(argv[0]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    reply = os.fdopen(os.dup(1), "w", encoding="utf-8")  # the protocol's channel
    os.dup2(2, 1)  # the model's prints go to stderr
    sys.stdout = sys.stderr
    try:
        _serve(reply)
    except MemoryError:
        _try_send(reply, {"error": "the model ran out of memory (over the --model-memory-mb limit of "
                                   f"{argv[0]} MB); killed"})
        return 3
    except Exception as exc:  # the model's own error, reported as one line
        first = (str(exc).splitlines() or [""])[0][:200]
        _try_send(reply, {"error": f"the model raised {type(exc).__name__}: {first}"})
        return 1
    return 0


def _try_send(reply: IO[str], obj: dict[str, Any]) -> None:
    with contextlib.suppress(OSError, MemoryError):
        _send(reply, obj)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
