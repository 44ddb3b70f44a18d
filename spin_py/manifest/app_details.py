"""Pieces shared by both manifest versions: the deprecated HTTP `base`, and trigger types."""

from __future__ import annotations

from spin_py.manifest.context import Context
from spin_py.manifest.diagnostics import Invalid, KeyPath, quote

SUPPORTED_TRIGGER = "http"


def check_base(ctx: Context, path: KeyPath, base: str | None) -> None:
    """The HTTP `base` is deprecated: `/` only warns; any other base is an error."""
    if base is None:
        return
    if base in ("", "/"):
        ctx.warn(path, 'the HTTP base is deprecated and ignored: remove `base = "/"`')
        return
    raise Invalid(
        path,
        f"the HTTP base {quote(base)} is no longer supported: remove it and prepend "
        f"{quote(base.rstrip('/'))} to each trigger's route instead",
    )


def unsupported_trigger(path: KeyPath, trigger_type: str) -> Invalid:
    """The error for any trigger type other than HTTP."""
    return Invalid(
        path, f"unsupported trigger type {quote(trigger_type)}: spin-py runs only HTTP triggers"
    )
