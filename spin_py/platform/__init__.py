"""Backends of Spin's platform interfaces: variables, key-value stores, SQLite databases.

This package knows nothing about wasmtime: it is plain, synchronous, thread-safe Python that the
WIT glue in `spin_py.spin_api` calls from guest worker threads.

- `runtime_config`: the `--runtime-config-file` TOML (stores, databases, variable providers).
- `variables` / `variable_providers`: application and component variables, resolved over the
  providers in Spin's order.
- `kv`: the key-value backend protocol, its SQLite and Redis implementations, and the registry
  that opens stores by label with the component's `key_value_stores` gate.
- `sqlite_db`: SQLite databases by label with the component's `sqlite_databases` gate.
- `services`: builds all of the above once at startup.

Failures a guest should see carry `case` (the WIT error case name) and `payload` (its string
payload or None), so the glue lowers them without knowing the backend.
"""
