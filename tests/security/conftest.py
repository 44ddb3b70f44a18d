"""Fixtures of the attack tests (see README.md): the attack component, built and compiled."""

from tests.support.attack_apps import attack_wasm  # noqa: F401  (fixture)
from tests.support.http_apps import example_app, ready_component  # noqa: F401  (fixtures)
