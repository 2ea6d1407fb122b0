# The README's two commands are `make dev` (local runtime) and `make test` (the test suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PYTEST_ARGS ?=

.PHONY: venv dev test lint bench lock lock-check clean

venv: $(VENV)/.ready

$(VENV)/.ready: runtime/bootstrap_venv.sh runtime/locks/index.json $(wildcard runtime/locks/*/*.txt) \
		pyproject.toml runtime/pyproject.toml control_plane/pyproject.toml runtime/requirements-dev.txt
	bash runtime/bootstrap_venv.sh $(PYTHON) $(VENV)
	touch $@

dev: venv
	$(VENV)/bin/astro-runtime dev

test: lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# ruff (lint and format) on our code, mypy on the three packages (paths in pyproject.toml [tool.mypy]).
# Every check runs; the target fails if any of them failed.
LINT_PATHS := astronomer_plugins control_plane runtime benchmarks
lint: venv
	@status=0; \
	$(VENV)/bin/ruff check $(LINT_PATHS) || status=1; \
	$(VENV)/bin/ruff format --check $(LINT_PATHS) || status=1; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status

# Each benchmark runs as a module from the repository root, so it imports tests.support without
# touching sys.path.
bench: venv
	for script in $(filter-out benchmarks/__init__.py,$(wildcard benchmarks/*.py)); do \
		$(VENV)/bin/python -m benchmarks.$$(basename "$$script" .py) || exit 1; \
	done

lock: venv
	$(VENV)/bin/astro-runtime lock
	$(VENV)/bin/astro-runtime image release-files

lock-check: venv
	$(VENV)/bin/astro-runtime lock --check

clean:
	rm -rf $(VENV) .local .bench

# The Runtime image (README.md, "The Runtime image"). IMAGE_ARGS passes options through, e.g.
# make image IMAGE_ARGS='--release 3.3-2 --python 3.11 --base-image localhost/astronomer/debian-python:bookworm'
IMAGE_ARGS ?=
.PHONY: base-image image image-test

base-image: venv
	$(VENV)/bin/astro-runtime image base $(IMAGE_ARGS)

image: venv
	$(VENV)/bin/astro-runtime image build $(IMAGE_ARGS)

image-test: venv
	$(VENV)/bin/pytest -m image tests/runtime/image $(PYTEST_ARGS)
