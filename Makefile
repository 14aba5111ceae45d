# meshsmith — two commands on a fresh machine: `make demo` and `make test`.
# `make install` adds the `learned` extra (torch 2.14.1, diffusers, transformers, hy3dgen); `make demo` uses none of it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Debian packages: libGL for PyMeshLab's wheel, Mesa EGL for offscreen previews, openssl for the TLS tests;
# mono + Newtonsoft.Json compile and test the Unity package's Unity-free core (clients/unity);
# prusa-slicer slices exported STL/3MF in the print tests (headless);
# chromium (headless, driven by playwright-core) runs the web app's browser tests (tests/clients/test_web_app.py);
# Node (glTF-Validator, buf, grpc-js, connect-node, vite) from Debian only when no node/npm is on the PATH already.
APT_PACKAGES := libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri openssl mono-devel libnewtonsoft-json-cil-dev prusa-slicer \
  chromium assimp-utils
# The artists' web app (served at /ui/): vite bundles clients/web into clients/web/dist (not committed).
WEB_UI := clients/web/dist/index.html
WEB_SOURCES := $(shell find clients/web -path clients/web/dist -prune -o -type f -print 2>/dev/null)

.PHONY: install system-deps services demo test proto proto-check lint bench clean web

install: system-deps $(VENV)/.installed node_modules/.installed $(WEB_UI)

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done; \
	  command -v node >/dev/null || echo nodejs; command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The hunyuan3d backend's hy3dgen goes in without its declared dependencies (gradio, rembg, onnxruntime, fastapi
# and opencv-python, which would clash with opencv-python-headless): what `import hy3dgen.shapegen` needs is in
# the learned extra (einops, pyyaml, torchvision).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev,learned]"
	$(PIP) install -q --no-deps hy3dgen==2.0.2
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Rebuilt when any source under clients/web (gen/ included) or the npm lockfile changes.
$(WEB_UI): node_modules/.installed $(WEB_SOURCES)
	node_modules/.bin/vite build --config clients/web/vite.config.js
	touch $@

web: $(WEB_UI)

# PostgreSQL on 127.0.0.1:5432 backs the registry tests; start the local cluster if it is down.
services:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "starting PostgreSQL"; pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
	fi

demo: install
	$(PY) clients/samples/demo.py

test: install services
	$(PY) -m pytest -q -p no:cacheprovider

# Regenerate the code for proto/: Python (its one home: meshsmith/v1) and, with buf.gen.yaml, the
# ES modules + .d.ts for browsers and Node (clients/web/gen, protoc-gen-es).
proto: $(VENV)/.installed node_modules/.installed
	$(PY) -m grpc_tools.protoc -Iproto --python_out=. --pyi_out=. \
	  --grpc_python_out=. proto/meshsmith/v1/*.proto
	node_modules/.bin/buf generate

lint: $(VENV)/.installed node_modules/.installed
	node_modules/.bin/buf lint
	$(VENV)/bin/ruff check --select F,E9 --exclude meshsmith/v1 .

# The quick figures of benchmarks/README.md (sections 1-3 and a quick shape run of section 10, ~11 min); the others are listed there.
bench: install
	$(PY) benchmarks/pipeline.py --no-previews --lods 1 --json benchmarks/out/pipeline-core.json
	$(PY) benchmarks/pipeline.py --json benchmarks/out/pipeline-full.json
	$(PY) benchmarks/pull.py
	$(PY) benchmarks/quality.py
	$(PY) benchmarks/shape.py --quick

clean:
	rm -rf $(VENV) node_modules .meshsmith-data clients/web/dist
