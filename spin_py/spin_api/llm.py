"""`fermyon:spin/llm@2.0.0`: not served by spin-py; every call answers `runtime-error(...)`."""

from __future__ import annotations

from wasmtime.component import LinkerInstance

from spin_py.host import wit
from spin_py.spin_api._support import ERROR, Interface, InterfaceDef, define, unsupported_functions

LLM = Interface("fermyon:spin/llm@2.0.0", "runtime-error")

SHAPES = {
    "infer": wit.result(wit.RECORD, ERROR),
    "generate-embeddings": wit.result(wit.RECORD, ERROR),
}


def definitions() -> list[InterfaceDef]:
    """`fermyon:spin/llm@2.0.0`."""
    return [InterfaceDef(LLM.name, (), unsupported_functions(LLM, "LLM inferencing", SHAPES))]


def add_to_linker(root: LinkerInstance) -> None:
    """Define `fermyon:spin/llm@2.0.0`."""
    define(root, definitions())
