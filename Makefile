# `make run`: set everything up and start the app. `make test`: set everything up and run all tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps run test lint

setup: system-deps $(VENV)/.installed node_modules/.package-lock.json

# the browser tests drive Debian's chromium (no browser downloads), feed it videos made with ffmpeg and
# screenshot pages whose emoji need a colour emoji font
system-deps:
	@missing=""; for tool in chromium ffmpeg; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing="$$missing fonts-noto-color-emoji"; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m export.palm_weights
	$(BIN)/python -m export.to_onnx --only palm
	touch $@

# onnxruntime-web, which the server serves to the browser itself (no CDN)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

run: setup
	$(BIN)/python -m webapp

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest
