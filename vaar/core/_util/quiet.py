"""Third-party libraries' warnings and logs stay out of the user's terminal unless ``--verbose``.

mlcroissant (through absl) logs ``WARNING:absl:...`` lines while it checks a document, datasets
draws its own progress bars and logs, and libraries raise ``FutureWarning``/``DeprecationWarning``;
a user of ``vaar build`` reads none of that as help. :func:`quiet_third_party` silences them for
the duration of one command and restores every setting afterwards (so an in-process caller, such as
a test, is left as it was). vaar's own messages do not use logging or :mod:`warnings`: they are
printed by the CLI, so nothing of ours is hidden.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

#: loggers that speak during a vaar command (their level is raised to ERROR; root too, for any other)
LOGGERS = ("absl", "mlcroissant", "datasets", "huggingface_hub", "fsspec", "urllib3", "filelock", "torch")
#: set while quiet, so datasets (imported later, inside the command) draws no progress bars
ENV = {"HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


@contextlib.contextmanager
def quiet_third_party(enabled: bool = True) -> Iterator[None]:
    """While the block runs (when ``enabled``): third-party logs below ERROR, warnings and progress bars off."""
    if not enabled:
        yield
        return
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in LOGGERS)]
    levels = [lg.level for lg in loggers]
    env = {k: os.environ.get(k) for k in ENV}
    bars = _datasets_bars()
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        for k, v in ENV.items():
            os.environ.setdefault(k, v)
        _set_datasets_bars(False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        for k, old in env.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old
        # datasets imported before keeps its setting; imported inside the block, its default (datasets
        # read the variable at import and warns that it cannot turn its bars back on: not the user's concern)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _set_datasets_bars(bars if bars is not None else env["HF_DATASETS_DISABLE_PROGRESS_BARS"] is None)


def _datasets_bars() -> bool | None:
    """Whether datasets (if already imported) draws progress bars; None when not imported."""
    import sys

    if "datasets" not in sys.modules:
        return None
    from datasets.utils import logging as dlog

    return bool(dlog.is_progress_bar_enabled())


def _set_datasets_bars(on: bool) -> None:
    import sys

    if "datasets" not in sys.modules:
        return  # the environment variable covers a later import
    from datasets.utils import logging as dlog

    (dlog.enable_progress_bar if on else dlog.disable_progress_bar)()
