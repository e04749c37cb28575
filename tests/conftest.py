"""Shared fixtures: a temporary HF_HOME, generated media, and the loopback HTTP server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.fixtures.http_server import FaultyServer

if shutil.which("ffmpeg") is None:  # pragma: no cover - make install provides it
    raise RuntimeError("ffmpeg is required by the test suite: run 'make install'")


@pytest.fixture(autouse=True, scope="session")
def _isolated_hf_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``load_dataset`` copies into HF_HOME; keep it out of the user's cache, and offline."""
    home = tmp_path_factory.mktemp("hf_home")
    old = {k: os.environ.get(k) for k in ("HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    os.environ.update(HF_HOME=str(home), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FaultyServer]:
    from tests.fixtures.http_server import FaultyServer

    root = tmp_path / "www"
    root.mkdir()
    with FaultyServer(root) as srv:
        yield srv


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests leave their screenshots: $VAAR_TEST_ARTEFACTS, else pytest's temp folder."""
    folder = Path(os.environ.get("VAAR_TEST_ARTEFACTS") or tmp_path_factory.getbasetemp() / "artefacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
