"""Helpers shared by the test suite, imported by module path.

`from tests.support.<module> import ...` (pytest puts the repository root on `sys.path`).
"""
