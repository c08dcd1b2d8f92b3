# Lab 05 "Neural Computation": build, test and grade.
# `make` builds everything that is out of date; `make help` lists the targets.

PYTHON ?= python3
# The oldest Python the project supports (README: "Python 3.11+"); `make lock` resolves for it.
PYTHON_FLOOR := 3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The plugin the bundle's config names, installed into .venv so that `otter run -a autograder.zip` finds it
PLUGIN_SHIM := $(VENV)/.lab05_otter

SOURCES := $(wildcard assignment/*.ipynb assignment/*.py assignment/*.json assignment/*.txt) \
           $(shell find assignment/lab05 assignment/lab05_autograder -type f -not -path '*/__pycache__/*') \
           tools/build/__main__.py tools/build/pipeline.py tools/layout.py tools/build/normalize.py tools/build/reference.py tools/build/pins.py tools/build/handout.py \
           requirements.in requirements.txt
OUTPUTS := autograder/autograder.zip student/lab05_nn_compute.ipynb \
           solutions/lab05_nn_compute.ipynb solutions/lab05_nn_compute_handout.ipynb \
           solutions/lab05_reference.py

SUBMISSION ?=
FORCE      ?=
# make grade: the folder of submissions, and optional settings (empty = the grader's default)
SUBMISSIONS ?=
WORKERS     ?=
TIMEOUT     ?=
OUT         ?=
REGRADE     ?=
MEMORY      ?=
# CROSSCHECK=1: also run each notebook through Otter in its kernel and compare (a second run of its code)
CROSSCHECK  ?=
# PDF=1: students' export adds a PDF of the notebook and the autograder makes one (for courses that
# grade written answers from PDFs; needs pandoc and LaTeX on students' machines and on Gradescope).
PDF        ?=
export LAB05_PDF := $(PDF)

.DEFAULT_GOAL := all
.PHONY: all help venv check-python build goldens test test-browser leak-check release grade-one clean lock lint format

# Before pip meets a pin it cannot install: is $(PYTHON) there, new enough, and able to make a venv?
CHECK_PYTHON = @command -v $(PYTHON) >/dev/null 2>&1 || { \
	echo "make: cannot find the Python interpreter '$(PYTHON)'. This project needs Python $(PYTHON_FLOOR) or newer:"; \
	echo "make: install one, or point make at it:  make PYTHON=/path/to/bin/python3"; exit 1; } >&2; \
	$(PYTHON) tools/build/check_python.py $(PYTHON_FLOOR) '$(PYTHON)'

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

all: $(STAMP) $(PLUGIN_SHIM) $(OUTPUTS) ## Create the virtualenv and build student/, autograder/ and solutions/ if out of date

venv: $(STAMP) ## Create .venv from the pinned requirements.txt [PYTHON=python3]

check-python: ## Check that PYTHON (default python3) is new enough and can create a virtualenv
	$(CHECK_PYTHON)

$(STAMP): requirements.txt
	$(CHECK_PYTHON)
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

$(PLUGIN_SHIM): assignment/lab05_otter.py $(STAMP)
	cp assignment/lab05_otter.py "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/lab05_otter.py"
	touch $@

$(OUTPUTS) &: $(SOURCES) $(STAMP) $(PLUGIN_SHIM)
	$(PY) -m tools.build

build: $(STAMP) $(PLUGIN_SHIM) ## Rebuild student/, autograder/ and solutions/ even if up to date
	$(PY) -m tools.build

goldens: build ## Accept an intended change: rebuild the committed outputs, then review and commit them
	@git status --short -- student autograder solutions

release: $(OUTPUTS) ## Zip the student distribution into build/lab05_student.zip
	mkdir -p build && rm -f build/lab05_student.zip
	cd student && ../$(PY) -m zipfile -c ../build/lab05_student.zip $$(ls)
	@echo "wrote build/lab05_student.zip"

leak-check: $(STAMP) ## Scan student/ for solutions, hidden tests, autograder-only files and reference values
	$(PY) -m tools.build.leakcheck student

test: $(STAMP) $(PLUGIN_SHIM) ## Run the test suite (the real-browser test too, where Chromium is installed)
	$(PY) -m pytest

# Ruff lints and formats the Python sources (settings in pyproject.toml). It is a tool, not a
# dependency of the build or of grading: it lives in its own small environment, pinned here.
RUFF_VERSION := 0.17.6
RUFF_STAMP   := build/ruff/.ruff-$(RUFF_VERSION)
RUFF         := build/ruff/bin/ruff

$(RUFF_STAMP):
	$(CHECK_PYTHON)
	rm -rf build/ruff && $(PYTHON) -m venv build/ruff
	build/ruff/bin/python -m pip install --quiet ruff==$(RUFF_VERSION)
	touch $@

lint: $(RUFF_STAMP) ## Lint the Python sources and check their formatting with Ruff
	$(RUFF) check .
	$(RUFF) format --check .

format: $(RUFF_STAMP) ## Format the Python sources with Ruff and apply its safe fixes (then run make)
	$(RUFF) format .
	$(RUFF) check --fix .

test-browser: $(STAMP) ## Run only the real-browser test: JupyterLab in headless Chromium (apt-get install chromium chromium-driver)
	$(PY) -m pytest -m browser

grade-one: $(STAMP) ## Grade one submission in the sandbox: make grade-one SUBMISSION=path/to/zip-or-ipynb [FORCE=1] [TIMEOUT=s] [CROSSCHECK=1]
	@test -n "$(SUBMISSION)" || { echo "usage: make grade-one SUBMISSION=path/to/submission.zip [FORCE=1] [TIMEOUT=900] [CROSSCHECK=1]"; exit 2; }
	$(PY) -m tools.grading.grade_one "$(SUBMISSION)" $(if $(FORCE),--force) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(CROSSCHECK),--crosscheck)

.PHONY: grade mistakes bench-grade
grade: $(STAMP) ## Grade a class: make grade SUBMISSIONS=folder [WORKERS=n] [TIMEOUT=s] [OUT=dir] [REGRADE=1] [MEMORY=4GiB] [CROSSCHECK=1]
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/gradescope-export-or-folder [WORKERS=n] [TIMEOUT=seconds] [OUT=folder] [REGRADE=1] [MEMORY=4GiB]"; exit 2; }
	$(PY) -m tools.grading.grade_batch "$(SUBMISSIONS)" $(if $(WORKERS),--workers $(WORKERS)) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(OUT),--out "$(OUT)") $(if $(REGRADE),--regrade) $(if $(MEMORY),--memory-limit $(MEMORY)) $(if $(CROSSCHECK),--crosscheck)

mistakes: $(STAMP) ## Rebuild what the class got wrong (mistakes.txt, .png) from a graded folder: make mistakes [OUT=grades/batch]
	$(PY) -m tools.grading.mistakes $(if $(OUT),"$(OUT)")

bench-grade: $(STAMP) $(PLUGIN_SHIM) ## Time a serial `otter run` loop against the batch, and the cross-check batch [N=12] [ROUNDS=1]
	$(PY) -m tools.qa.bench_grading $(if $(N),--count $(N)) $(if $(ROUNDS),--rounds $(ROUNDS))

.PHONY: mutants bench-hidden bench-trusted
EXTENDED ?=
# GRADESCOPE=1: make mutants also grades each entry through the bundle's entry point as Gradescope runs it
GRADESCOPE ?=

mutants: $(STAMP) ## Grade the mutation corpus through the bundle; print the catch table [EXTENDED=1] [GRADESCOPE=1]
	$(PY) -m tools.qa.mutation_runner $(if $(EXTENDED),--extended) $(if $(GRADESCOPE),--gradescope)

bench-hidden: $(STAMP) ## Time what the hidden tests, then trusted scoring, add to grading one submission
	$(PY) -m tools.qa.bench_hidden
	$(PY) -m tools.qa.bench_trusted

bench-trusted: $(STAMP) ## Time grading with and without trusted scoring (what it adds per submission; budget 1.5 s)
	$(PY) -m tools.qa.bench_trusted

lock: ## Re-pin requirements.txt from requirements.in for the oldest supported Python (needs the network)
	$(CHECK_PYTHON)
	rm -rf build/lock && $(PYTHON) -m venv build/lock
	build/lock/bin/python -m pip install --quiet --dry-run --ignore-installed --only-binary=:all: \
	    --python-version $(PYTHON_FLOOR).0 --target build/lock/target --report build/lock/report.json -r requirements.in
	build/lock/bin/python -m tools.build.pins lock build/lock/report.json requirements.txt $(PYTHON_FLOOR).0
	build/lock/bin/python -m pip install --quiet -r requirements.txt
	build/lock/bin/python -m pip check

clean: ## Remove the virtualenv and scratch files (generated outputs are committed, so kept)
	rm -rf $(VENV) build .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
