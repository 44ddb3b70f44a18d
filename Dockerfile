# spin-py serving one Spin app, its components built and compiled into the image.
#
#   docker build -t spin-py .                                       # serves manifests/otel-demo
#   docker build -t spin-py-kv --build-arg SPIN_PY_APP=manifests/kv-counter .
#   docker run -p 3000:3000 spin-py
#
# The build steps are docker/build-image.sh (CI runs the same script outside Docker:
# tests/guest/test_docker_files.py): install spin-py, build only the served app's components,
# compile them into the cache (no compile when the container starts), drop the build tools. Only
# pip uses the network. docker-compose.yml runs this image with Jaeger.
#
# Paths and ports (Kubernetes manifests, volumes and probes rely on them):
#   /app                   the source tree; the served app is /app/$SPIN_PY_APP (the workdir)
#   /opt/spin-py           the virtual environment (spin-py on PATH)
#   /var/cache/spin-py     SPIN_PY_CACHE_DIR: the compiled components, baked in. It may be
#                          read-only; do not mount an empty volume over it (the container would
#                          compile at start). A host CPU unlike the build machine's makes spin-py
#                          recompile at start, into memory if the directory is read-only.
#   /var/lib/spin-py       --state-dir: component logs, default SQLite key-value store and
#                          database; writable by the spin user (mount a volume to keep it)
#   3000/tcp               HTTP (--listen 0.0.0.0:3000); GET /.well-known/spin/health is 200
#                          once every worker is ready, 503 while draining
# The server runs as the non-root user spin, uid 10001, gid 10001.
FROM python:3.12-slim

ARG SPIN_PY_APP=manifests/otel-demo
ENV SPIN_PY_APP=${SPIN_PY_APP} \
    SPIN_PY_VENV=/opt/spin-py \
    SPIN_PY_CACHE_DIR=/var/cache/spin-py

WORKDIR /app
COPY . /app
RUN docker/build-image.sh \
    && groupadd --system --gid 10001 spin \
    && useradd --system --uid 10001 --gid spin --no-create-home --home-dir /nonexistent spin \
    && mkdir -p /var/lib/spin-py \
    && chown spin:spin /var/lib/spin-py

ENV PATH=/opt/spin-py/bin:$PATH \
    OTEL_SERVICE_NAME=spin-py
WORKDIR /app/${SPIN_PY_APP}
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/opt/spin-py/bin/python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/.well-known/spin/health', timeout=2).status != 200)"]
CMD ["spin-py", "up", "--listen", "0.0.0.0:3000", "--state-dir", "/var/lib/spin-py"]
