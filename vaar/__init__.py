"""vaar: curate the VAAR audio-visual anomaly dataset and benchmark models on it.

Kept small on purpose: importing ``vaar`` never imports torch, so ``vaar --help`` and
``vaar-bench score`` start fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

from vaar import _moved

_moved.install()  # `vaar.core.contracts.manifest_schema` and `vaar.core.contracts` still import, with a DeprecationWarning
