# The README's Quick start is `make demo` then `make test`; both set themselves up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all lint docs bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing ffmpeg (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; \
	  else echo "ffmpeg is missing: install it (e.g. 'sudo apt-get install ffmpeg') and rerun" >&2; exit 2; fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the leaderboard page tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium not found; the leaderboard page browser test will be skipped" >&2; fi; }
	@test -d /usr/share/sounds/freedesktop/stereo || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing sound-theme-freedesktop (recorded speech for the robustness track's babble noise)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sound-theme-freedesktop >/dev/null; \
	  else echo "note: sound-theme-freedesktop not found; noise_babble falls back to white noise" >&2; fi; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt torch torchvision
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,host,ray,baselines,discover]'
	touch $(STAMP)

demo: install
	BIN=$(BIN) scripts/demo.sh

test: install
	$(BIN)/python -m pytest -q

test-all: install
	$(BIN)/python -m pytest -q -m ''

lint: install
	$(BIN)/ruff check vaar tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# the manual (docs/, mkdocs.yml): --strict turns a broken link, a missing page or a page left out
# of the nav into a failure
docs: install
	$(BIN)/mkdocs build --strict --site-dir site

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf demo site .pytest_cache .mypy_cache .ruff_cache
