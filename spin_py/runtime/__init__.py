"""Runtime: engine, compile cache, linker assembly, per-request state and execution."""
