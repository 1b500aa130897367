# `make run`: set everything up and start the app. `make test`: set everything up and run all tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m export.palm_weights
	$(BIN)/python -m export.to_onnx --only palm
	touch $@

run: setup
	$(BIN)/python -m webapp

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest
