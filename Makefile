# The two commands: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test pytest test-slow lint typecheck protos check-protos bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m ops.demo

# The four checks run side by side (-j), each one's output kept together (-O); make still
# fails when any of them fails. Most suite time is waiting on servers, links and child
# processes, so pytest runs more workers than cores (override: make test PYTEST_WORKERS=2).
test: $(STAMP)
	@$(MAKE) --no-print-directory -j4 -O check-protos lint typecheck pytest

# Bytecode caching stays on for the suite (an environment that turns it off makes every
# serve and kill -9 subprocess recompile node, sync and pki first); __pycache__ is ignored.
# Which tests go to which worker, in what order: tests/conftest.py (LONGEST_FIRST, SPREAD).
PYTEST_WORKERS ?= 4
pytest: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --no-loadscope-reorder

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

# Configured in pyproject.toml [tool.mypy]: node, sync and pki, bodies of unannotated functions too.
typecheck: $(STAMP)
	$(BIN)/mypy

protos: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. protos/tongban/v1/*.proto

# Regenerates into a scratch folder and fails when the committed modules differ.
check-protos: $(STAMP)
	@tmp=$$(mktemp -d) && \
	$(BIN)/python -m grpc_tools.protoc -I. --python_out=$$tmp --pyi_out=$$tmp --grpc_python_out=$$tmp protos/tongban/v1/*.proto && \
	for f in $$tmp/protos/tongban/v1/*; do \
	  cmp -s $$f protos/tongban/v1/$$(basename $$f) || { echo "stale generated module: protos/tongban/v1/$$(basename $$f) (run make protos)"; rm -rf $$tmp; exit 1; }; \
	done; rm -rf $$tmp

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) tongban-home .pytest_cache .mypy_cache
