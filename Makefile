# `make run`: set everything up and start the app. `make test`: set everything up and run all tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup app-deps test-deps run test lint

setup: app-deps $(VENV)/.installed node_modules/.package-lock.json static/widget/models/classifier.int8.ort \
		export/models/hand_landmark_lite.onnx
	$(BIN)/python -m webapp.compress_ahead

# apt packages, installed only when missing: npm for the app; for the browser tests, Debian's chromium (no
# browser downloads), ffmpeg for the fake-camera videos and a colour emoji font for the screenshots
APT_INSTALL = apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y
app-deps:
	@command -v npm >/dev/null || { $(APT_INSTALL) npm; }

test-deps:
	@missing=""; for tool in chromium ffmpeg; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing="$$missing fonts-noto-color-emoji"; \
	if [ -n "$$missing" ]; then $(APT_INSTALL) $$missing; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m export.mediapipe_weights
	$(BIN)/python -m export.to_onnx --only palm --only landmarks
	touch $@

# the browser's copies of the models (palm and landmarks are written with them above), again when the classifier changes
static/widget/models/classifier.int8.ort: export/models/classifier.int8.onnx $(VENV)/.installed
	$(BIN)/python -m export.ort_format

# the landmark model again (and its browser copy) when the pose encoder its metadata carries changes
export/models/hand_landmark_lite.onnx: training/weights/pose_encoder.json | $(VENV)/.installed
	$(BIN)/python -m export.to_onnx --only landmarks

# onnxruntime-web, which the server serves to the browser itself (no CDN)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

run: setup
	$(BIN)/python -m webapp

lint: setup
	$(BIN)/ruff check .

test: lint test-deps
	$(BIN)/python -m pytest
