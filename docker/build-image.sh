#!/bin/sh
# The build steps of the spin-py image (Dockerfile RUNs this script), kept in a script so they can
# run outside Docker too: tests/guest/test_docker_files.py runs it against a temporary venv.
#
#   SPIN_PY_VENV   where to create the virtual environment        (default /opt/spin-py)
#   PYTHON         the interpreter that creates it                (default python3)
#   SPIN_PY_CACHE_DIR  component build cache, as for every build  (default ~/.cache/spin-py)
#
# Steps: create the venv, install spin-py with its `build` extra (componentize-py, spin-sdk) from
# this source tree, then run `spin-py build` on every example app under manifests/ (components
# are cached by source hash, so a warm cache makes this quick).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
VENV=${SPIN_PY_VENV:-/opt/spin-py}
PYTHON=${PYTHON:-python3}

echo "==> creating $VENV"
"$PYTHON" -m venv "$VENV"

echo "==> installing spin-py[build] from $SRC"
# setuptools builds in $SRC/build; remove it afterwards if this run created it (in a working
# tree, a leftover build/lib would carry deleted modules into the next install).
had_build=no
if [ -e "$SRC/build" ]; then had_build=yes; fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$SRC[build]"
if [ "$had_build" = no ]; then rm -rf "$SRC/build"; fi

for manifest in "$SRC"/manifests/*/spin.toml; do
    echo "==> spin-py build -f ${manifest#"$SRC"/}"
    "$VENV/bin/spin-py" build -f "$manifest"
done

echo "==> done: $("$VENV/bin/spin-py" --version)"
