"""Host implementations of WASI 0.2 interfaces, one module per WIT interface."""
