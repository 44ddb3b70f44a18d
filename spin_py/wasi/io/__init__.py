"""`wasi:io`: `error`, `poll` and `streams`, one module per interface."""
