# operator-core as an image. The build needs no network: its context holds the wheels of
# operator-core and of every dependency, pip's own wheel and a docker CLI, which
# scripts/build-image.sh puts together (in build/image) before it builds:
#
#   context/wheels/*.whl   `pip wheel packages/operator-core` (same Python minor as BASE)
#   context/pip/pip-*.whl  `pip wheel --no-deps pip` (run from its wheel; BASE needs no pip)
#   context/docker         a docker client binary (the engine boundary runs the docker CLI)
#
#   DOCKER_BUILDKIT=0 docker build -f Dockerfile --build-arg BASE=... -t operator-core build/image
#
# BASE defaults to the official slim Python image; scripts/build-image.sh builds on a local
# base made from Debian's packages, as no registry is reachable where it runs.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
LABEL org.operator-core.build-stage=1
COPY wheels /wheels
COPY pip /pip
# A virtual environment without pip: pip runs from its own wheel, from nothing but /wheels.
RUN python3 -m venv --without-pip /opt/operator-core \
    && /opt/operator-core/bin/python "$(ls /pip/pip-*.whl)/pip" install --no-index \
        --disable-pip-version-check --no-cache-dir --find-links /wheels operator-core \
    && /opt/operator-core/bin/operator --version

FROM ${BASE}
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="operator-core" \
      org.opencontainers.image.description="Safe, truthful, bounded Docker actions for AI operator agents and automation: CLI, MCP server, watch and heal." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="README.md: The image"
COPY --from=build /opt/operator-core /opt/operator-core
COPY docker /usr/local/bin/docker
# State (audit trail, watch history) under /var/lib/operator-core: mount a volume there.
# The policy is read from /etc/operator-core/policy.toml when it is mounted (read-only), a
# fleet inventory from /etc/operator-core/inventory.toml (XDG_CONFIG_HOME=/etc).
ENV PATH=/opt/operator-core/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OPERATOR_AUDIT_DB=/var/lib/operator-core/audit.sqlite3 \
    OPERATOR_HISTORY_DB=/var/lib/operator-core/history.sqlite3 \
    XDG_CONFIG_HOME=/etc
RUN mkdir -p /var/lib/operator-core /etc/operator-core \
    && docker --version >/dev/null && operator --version
WORKDIR /var/lib/operator-core
# Every mode needs its engine: by default the check is that the engine answers through the
# mounted socket. The MCP server's check (that it answers an MCP request) is set where that
# mode runs: `operator health --mcp URL` (deploy/compose.yaml, deploy/stack.yaml).
HEALTHCHECK --interval=30s --timeout=15s --start-period=20s --retries=3 CMD ["operator", "health"]
ENTRYPOINT ["operator"]
CMD ["--help"]
