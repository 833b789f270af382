# Every install step lives here: a clean machine needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo bench docs lint format typecheck clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# pip byte-compiles on one core (~17 s for botocore and moto); compileall uses both, and the
	# test workers then never compile the same modules four times over.
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev,sandbox]'
	# Not the packages no test imports: cfn-lint's sympy, networkx (moto[server] pulls them in)...
	$(BIN)/python -m compileall -q -j 0 -x '/(sympy|networkx|cfnlint|mypyc|graphql|aws_xray_sdk)/' $(VENV)/lib > /dev/null
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	# Four workers on two cores: much of the suite waits on sockets, sandboxes and subprocesses
	# (measured: 3m53s against 4m06s with three, 4m15s+ with two).
	$(BIN)/pytest -n 4 -q

demo: $(STAMP)
	$(BIN)/hybridops demo

docs: $(STAMP)
	$(BIN)/hybridops runbooks docs --out docs/runbooks
	$(BIN)/hybridops reference --out docs

bench: $(STAMP)
	# Byte-code as pip would install it: with PYTHONDONTWRITEBYTECODE=1 set, an editable
	# checkout otherwise recompiles every hybridops module on every run (~55 ms).
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
