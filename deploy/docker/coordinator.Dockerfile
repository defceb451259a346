# Harmonia consortium coordinator: admin/enrollment API, site API (mTLS), Flower SuperLink + Fleet proxy.
# Build from the repository root:
#   docker build -f deploy/docker/coordinator.Dockerfile -t harmonia-coordinator:0.1.0 .
# Runs as the unprivileged user "harmonia"; all state (CA key included) lives in /var/lib/harmonia.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY node ./node
COPY coordinator ./coordinator
RUN python -m venv /opt/harmonia \
    && /opt/harmonia/bin/pip install ".[learn,postgres]"

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10200 harmonia \
    && useradd --system --uid 10200 --gid harmonia --home-dir /var/lib/harmonia \
       --shell /usr/sbin/nologin harmonia \
    && install -d -o harmonia -g harmonia -m 0700 /var/lib/harmonia
COPY --from=build /opt/harmonia /opt/harmonia
ENV PATH=/opt/harmonia/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HARMONIA_COORDINATOR_LOG_FORMAT=json \
    FLWR_TELEMETRY_ENABLED=0 \
    FLWR_DISABLE_UPDATE_CHECK=1
USER 10200:10200
WORKDIR /var/lib/harmonia
VOLUME ["/var/lib/harmonia"]
# Every listener binds 127.0.0.1 inside the container's network namespace; the reverse proxy
# (deploy/compose/coordinator-with-proxy.yml shares that namespace) is the only way in.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8200/readyz', timeout=4)"]
ENTRYPOINT ["harmonia-coordinator"]
CMD ["serve", "--data-dir", "/var/lib/harmonia/coordinator"]
