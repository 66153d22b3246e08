# Set-up in two commands: `make demo` and `make test`; both install first.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install bytecode demo test screenshots lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (set PY=python3)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# The project's own bytecode, as pip writes it for an installed package: an editable install gets none where
# PYTHONDONTWRITEBYTECODE is set (containers, CI), and each command then compiles ~100 modules (~0.5 s of CPU).
# Up to date, it costs nothing; a module changed since is compiled in memory as before.
bytecode: install
	@$(BIN)/python -m compileall -q db flows notifications schedule duban

demo: bytecode
	$(BIN)/duban demo

# Whole files to each worker, in collection order: tests/conftest.py puts the slowest files first.
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

# The browser tests again, saving their pictures into docs/screenshots/ (a temporary folder under `make test`).
screenshots: install
	DUBAN_SCREENSHOTS=1 $(BIN)/python -m pytest -p no:randomly tests/portal/test_browser.py \
		tests/portal/test_portal_live.py

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m bench.check_bench

clean:
	rm -rf $(VENV) .duban
