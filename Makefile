# The two set-up commands of the README: `make run` (the default studies on the CPU) and `make test`.
# Both create the virtual environment .venv/ from nothing when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
CORES ?= $(shell nproc)
STAMP := $(VENV)/.installed

.PHONY: run test test-quick bench venv clean-venv

venv: $(STAMP)

# torch is installed on its own first, pinned: a bare `torch` requirement would pull the CUDA wheels.
$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet "torch==$$(sed -n 's/^torch==//p' constraints.txt)"
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES)

# The linters first (seconds): ruff's rules and line length (pyproject.toml), Snakemake's own lint of the workflow.
# Then the tests on every core (pytest-xdist), each test file on one worker so its module fixtures (a trained
# study, a Slurm cluster) are built once.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/snakemake --lint
	$(VENV)/bin/python -m pytest -n $(CORES) --dist loadfile

# Glorot & Bengio's Fig 11 / Table 1 ordering on the tables `make run` wrote (FANIN_RESULTS=dir for another).
test-quick: $(STAMP)
	$(VENV)/bin/python -m pytest -m quick_scale -p no:cacheprovider

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/step_throughput.py

clean-venv:
	rm -rf $(VENV)
