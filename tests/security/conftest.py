"""Fixtures of the attack tests (see README.md): the attack component, built and compiled."""

from attack_apps import attack_wasm  # noqa: F401  (fixture)
