# Harmonia hospital node: DICOMweb, annotation API and UI, optional C-STORE SCP, Flower SuperNode.
# Build from the repository root:
#   docker build -f deploy/docker/node.Dockerfile -t harmonia-node:0.1.0 .
# Runs as the unprivileged user "harmonia"; all state lives in the volume /var/lib/harmonia.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # torch comes from the CPU-only index (the default index serves a multi-GB CUDA build)
    PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY node ./node
COPY coordinator ./coordinator
RUN python -m venv /opt/harmonia \
    && /opt/harmonia/bin/pip install ".[learn,postgres]"

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10104 harmonia \
    && useradd --system --uid 10104 --gid harmonia --home-dir /var/lib/harmonia \
       --shell /usr/sbin/nologin harmonia \
    && install -d -o harmonia -g harmonia -m 0700 /var/lib/harmonia
COPY --from=build /opt/harmonia /opt/harmonia
ENV PATH=/opt/harmonia/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HARMONIA_NODE_HOST=0.0.0.0 \
    HARMONIA_NODE_LOG_FORMAT=json \
    FLWR_TELEMETRY_ENABLED=0 \
    FLWR_DISABLE_UPDATE_CHECK=1
USER 10104:10104
WORKDIR /var/lib/harmonia
VOLUME ["/var/lib/harmonia"]
# 8104: HTTP (DICOMweb, API, UI; put TLS in front of it); 11112: the C-STORE SCP when enabled.
EXPOSE 8104 11112
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8104/readyz', timeout=4)"]
ENTRYPOINT ["harmonia-node"]
CMD ["serve", "--data-dir", "/var/lib/harmonia/node"]
