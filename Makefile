# Every install step lives here: CI runs `make test` on a fresh clone with no standard input.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed

.PHONY: venv test lint unit real-airflow demo bench clean system-deps

# Debian packages the tests and benchmarks run: redis-server (the Celery test's broker) and curl
# (benchmark 9's anchor). CI runs as root on a fresh machine; installed only where missing.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv || true

$(STAMP): pyproject.toml | $(PY)
	@if [ -x $(UV) ]; then \
		$(UV) pip install --python $(PY) --quiet -e '.[dev]'; \
	else \
		$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'; \
	fi
	@touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/ruff check airflow_provider tests example_dags benchmarks scripts
	$(VENV)/bin/ruff format --check airflow_provider tests example_dags benchmarks scripts
	$(VENV)/bin/mypy

# The unit and emulator tests mostly wait on emulated services (a serial run is ~85% idle): four
# xdist workers, each with its own Airflow home and database. The real-Airflow tests start whole
# deployments (scheduler, triggerer, api-server, workers) and run one at a time after them.
PYTEST_WORKERS ?= 4

unit: venv
	$(VENV)/bin/pytest -q -m "not real_airflow" -n $(PYTEST_WORKERS)

real-airflow: venv system-deps
	$(VENV)/bin/pytest -q -m real_airflow

test: lint system-deps
	$(VENV)/bin/pytest -q -m "not real_airflow" -n $(PYTEST_WORKERS)
	$(VENV)/bin/pytest -q -m real_airflow

demo: venv
	$(PY) scripts/demo.py

bench: venv system-deps
	@status=0; for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || status=1; done; exit $$status

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
