"""spin-py: a Spin-compatible HTTP trigger server for WebAssembly components, in Python."""

__version__ = "0.1.0"
