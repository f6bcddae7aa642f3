# okrsync container image: `okrsync daemon` by default, any okrsync command otherwise.
#   docker build -t okrsync .
#   docker run --read-only --tmpfs /tmp -v okrsync-state:/var/lib/okrsync \
#     -v "$PWD/okrs:/etc/okrsync/mappings:ro" -e OKRSYNC_JIRA__CLOUD__URL=... -p 9464:9464 okrsync
# See deploy/README.md (compose, Kubernetes) for complete set-ups.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Stage 1: build okrsync's wheel and install it with its dependencies into /opt/okrsync.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY okrsync ./okrsync
COPY connectors ./connectors
COPY mappings ./mappings
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/okrsync \
    && /opt/okrsync/bin/pip install --no-cache-dir /wheels/okrsync-*.whl \
    && /opt/okrsync/bin/pip uninstall --yes pip

# Stage 2: the runtime: the installed environment only, no build tools, no source tree.
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="okrsync" \
      org.opencontainers.image.description="Keeps OKR key-result progress true to the work tracked in Jira and Teambition." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="deploy/README.md" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-bookworm"

# A fixed, non-root uid/gid (10001), so that runAsNonRoot can check it and volumes can be
# owned by it. The state directory is the only place okrsync writes (besides TMPDIR).
RUN groupadd --system --gid 10001 okrsync \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/okrsync \
       --no-create-home --shell /usr/sbin/nologin okrsync \
    && install -d -m 0750 -o 10001 -g 10001 /var/lib/okrsync \
    && install -d -m 0755 /etc/okrsync/mappings

COPY --from=build /opt/okrsync /opt/okrsync

# Works on a read-only root filesystem: no bytecode is written, the state lives in the
# /var/lib/okrsync volume (or PostgreSQL: OKRSYNC_STATE_URL), temporary files in /tmp
# (mount a tmpfs there). Mappings are mounted at /etc/okrsync/mappings; secrets are read
# from /run/secrets (Docker and compose secrets: files named okrsync_<setting>).
ENV PATH=/opt/okrsync/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp \
    OKRSYNC_STATE_URL=sqlite:////var/lib/okrsync/state.db \
    OKRSYNC_MAPPINGS=/etc/okrsync/mappings \
    OKRSYNC_LISTEN=0.0.0.0:9464 \
    OKRSYNC_LOG_FORMAT=json
VOLUME ["/var/lib/okrsync"]
WORKDIR /var/lib/okrsync
USER 10001:10001
EXPOSE 9464

# Liveness of the daemon, without curl: GET /healthz on the port of OKRSYNC_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('OKRSYNC_LISTEN', ':9464').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

# okrsync runs as PID 1 (exec form: no shell in between): it handles SIGTERM, SIGINT and
# SIGHUP itself (graceful stop within daemon.grace_seconds, mapping reload) and starts no
# child processes, so it needs no init. `docker run --init` adds one all the same.
ENTRYPOINT ["okrsync"]
CMD ["daemon"]
