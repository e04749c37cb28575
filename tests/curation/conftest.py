"""Fixtures of the curation tests: the build config on each backend, and a local Ray for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.fixtures.sources import FAST
from vaar.curation.build.pipeline import BuildConfig


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray instance for one test module; yields its address for other drivers."""
    pytest.importorskip("ray")
    from tests.fixtures.ray_local import local_ray

    with local_ray() as address:
        yield address


@pytest.fixture(params=["local", pytest.param("ray", marks=pytest.mark.slow)])
def build_cfg(request: pytest.FixtureRequest) -> BuildConfig:
    """:data:`FAST` on each backend: the end-to-end build tests run on the local process pool
    and (``-m slow``) again on a local Ray instance."""
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
        return replace(FAST, backend="ray")
    return FAST
