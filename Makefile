# SLA Portal. Two commands for a newcomer: `make demo` and `make test`. Needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo test test-fast lint check serve worker beat clean lock

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

# Stamps re-run the install whenever the pinned set changes.
$(VENV)/.base: requirements/base.txt | $(PY)
	$(UV) pip install --quiet --python $(PY) -r requirements/base.txt
	touch $@

$(VENV)/.test: requirements/lock.txt | $(PY)
	$(UV) pip install --quiet --python $(PY) -r requirements/lock.txt
	touch $@ $(VENV)/.base

## demo: install, migrate, load a year of demo data (once), serve http://$(HOST):$(PORT) with the SLA checks running
demo: $(VENV)/.base
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py rundemo --addr $(HOST):$(PORT)

## test: install test dependencies and run the whole suite (on SQLite, or DATABASE_URL/REDIS_URL when set)
test: $(VENV)/.test
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: $(VENV)/.test
	$(PY) -m pytest -n 2 -m "not slow and not browser" $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: $(VENV)/.test
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

serve: $(VENV)/.base
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: $(VENV)/.base
	$(VENV)/bin/celery -A sla_portal worker -l info

beat: $(VENV)/.base
	$(VENV)/bin/celery -A sla_portal beat -l info

lock: | $(PY)
	$(UV) pip compile pyproject.toml --python-version 3.11 -o requirements/base.txt -q
	$(UV) pip compile pyproject.toml --extra test --python-version 3.11 -o requirements/lock.txt -q

clean:
	rm -rf var staticfiles
