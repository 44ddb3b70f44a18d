"""Build the traced-fetch component: the Spin Python SDK plus the opentelemetry-wasi guest library.

Usage: ``python components/traced-fetch/build.py [--out PATH] [--force]``

The recipe is otel-demo's (``components/otel-demo/build.py``: spin-sdk and
``guest/python/opentelemetry_wasi`` with the opentelemetry-api/sdk distributions, one world per
package, cached by the hash of every input); only the name and the sources differ. Output:
``components/traced-fetch/build/traced-fetch.wasm`` (gitignored) or ``--out``; standard output
is one line, ``built <path>`` or ``cached <path>``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
RECIPE = HERE.parent / "otel-demo" / "build.py"


def _recipe() -> ModuleType:
    """otel-demo's build module, retargeted at this component."""
    spec = importlib.util.spec_from_file_location("spin_py_traced_fetch_build", RECIPE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.NAME = HERE.name
    module.HERE = HERE
    module.APP_SOURCES = ("app.py",)
    return module


if __name__ == "__main__":
    sys.exit(_recipe().main())
