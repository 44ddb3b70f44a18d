# spin-py with the example components built in, serving the otel-demo app on port 3000.
# Used by docker-compose.yml (with Jaeger); the build steps are docker/build-image.sh, which CI
# also runs outside Docker (tests/guest/test_docker_files.py).
FROM python:3.12-slim

WORKDIR /app
COPY . /app

ENV SPIN_PY_VENV=/opt/spin-py \
    SPIN_PY_CACHE_DIR=/var/cache/spin-py
RUN docker/build-image.sh

ENV PATH=/opt/spin-py/bin:$PATH \
    OTEL_SERVICE_NAME=spin-py
EXPOSE 3000
CMD ["spin-py", "up", "-f", "manifests/otel-demo", "--listen", "0.0.0.0:3000"]
