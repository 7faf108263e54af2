# syntax=docker/dockerfile:1
# One image for every process of the service:
#   api (default)  python -m service api
#   worker         python -m service worker    (ECS: command ["python", "-m", "service", "worker"])
#   migrate        python -m service migrate   (ECS one-off task before each rollout)
# Build context: the repository root; .dockerignore lets in only service/ and requirements/runtime.txt.

# The base image is pinned by tag *and* by digest (the multi-architecture index of
# python:3.11.14-slim-bookworm): a rebuild of the same commit gets the same bits, and Dependabot
# (docker ecosystem, .github/dependabot.yml) proposes digest bumps as reviewable pull requests.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# ---- build: resolve the pinned dependencies into a self-contained virtualenv ---------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN python -m venv /opt/venv
COPY requirements/runtime.txt /tmp/runtime.txt
# --require-hashes: every file must match the hash recorded in runtime.txt (a tampered or
# re-uploaded package fails the build). --only-binary: wheels only, so neither stage needs a
# compiler; a dependency without a wheel for this platform fails here, loudly, instead of
# dragging build tools into the image.
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r /tmp/runtime.txt

# ---- runtime: the base image, the virtualenv and the service's code; nothing else ---------------
FROM ${PYTHON_IMAGE} AS runtime

# A fixed, unprivileged uid/gid: ECS task definitions and volume permissions can rely on it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# Owned by root and not writable by the app user: the running service cannot modify its own code.
COPY service/ /app/service/
# Bytecode compiled at build time: the app user cannot write it at run time (see below).
RUN python -m compileall -q /app/service

# PYTHONDONTWRITEBYTECODE: everything is compiled at build time and read-only at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000

USER 10001:10001
EXPOSE 8000

# No HEALTHCHECK in the image: the same image runs the worker and the migration, which serve no
# HTTP and would be marked unhealthy. The api's task definition declares its own container check
# and its target group checks too, both on the liveness path /healthz
# (platform/infra/task_definitions.py and load_balancer.py; why not /readyz: docs/health-checks.md).
# Exec form: the Python process is PID 1 and receives ECS's SIGTERM itself, so it can drain.
CMD ["python", "-m", "service", "api"]
