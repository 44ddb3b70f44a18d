#!/bin/sh
# The build steps of the spin-py image (the Dockerfile RUNs this script), kept in a script so they
# can run outside Docker too: tests/guest/test_docker_files.py runs it against a temporary venv.
#
#   SPIN_PY_APP        the app the image serves: a directory holding spin.toml, relative to the
#                      source tree                               (default manifests/otel-demo)
#   SPIN_PY_VENV       where to create the virtual environment   (default /opt/spin-py)
#   PYTHON             the interpreter that creates it           (default python3)
#   SPIN_PY_CACHE_DIR  spin-py's cache: component builds, compiled components
#                                                                (default ~/.cache/spin-py)
#
# Steps, each timed: create the venv and install spin-py with its `build` extra (componentize-py,
# spin-sdk) from this source tree; `spin-py build` the served app only (its components, not every
# example); `spin-py cache warm` it (remote sources downloaded, components compiled into
# $SPIN_PY_CACHE_DIR/compiled, so the container starts without compiling); uninstall the build
# tools, which serving does not need. pip is the only step that uses the network.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
APP=${SPIN_PY_APP:-manifests/otel-demo}
VENV=${SPIN_PY_VENV:-/opt/spin-py}
PYTHON=${PYTHON:-python3}

step() { echo "==> $*"; STARTED=$(date +%s); }
took() { echo "    ($(( $(date +%s) - STARTED ))s)"; }

if [ ! -f "$SRC/$APP/spin.toml" ]; then
    echo "error: SPIN_PY_APP=$APP has no spin.toml in $SRC" >&2
    exit 1
fi

step "creating $VENV"
"$PYTHON" -m venv "$VENV"
took

step "installing spin-py[build] from $SRC (pip)"
# setuptools builds in $SRC/build; remove it afterwards if this run created it (in a working
# tree, a leftover build/lib would carry deleted modules into the next install).
had_build=no
if [ -e "$SRC/build" ]; then had_build=yes; fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$SRC[build]"
if [ "$had_build" = no ]; then rm -rf "$SRC/build"; fi
took

step "spin-py build -f $APP"
"$VENV/bin/spin-py" build -f "$SRC/$APP"
took

step "spin-py cache warm -f $APP"
"$VENV/bin/spin-py" cache warm -f "$SRC/$APP"
took

step "removing the build tools (componentize-py, spin-sdk)"
"$VENV/bin/pip" uninstall --quiet --yes componentize-py spin-sdk
took

echo "==> done: $("$VENV/bin/spin-py" --version), serving $APP"
