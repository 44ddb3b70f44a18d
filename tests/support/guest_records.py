"""Builders for the WIT records a guest passes to wasi:otel, shaped as wasmtime-py lifts them
(`Record` objects with hyphenated field names, flags as sets, tagged variants)."""

from __future__ import annotations

import json
from typing import Any

from wasmtime.component import Record, Variant

from spin_py.wasi_otel.records import make_record

T0 = 1_700_000_000


def dt(seconds: int, nanos: int = 0) -> Record:
    return make_record({"seconds": seconds, "nanoseconds": nanos})


def kv(key: str, value: Any, *, raw: bool = False) -> Record:
    return make_record({"key": key, "value": value if raw else json.dumps(value)})


def ctx(
    trace_id: str,
    span_id: str,
    *,
    sampled: bool = True,
    is_remote: bool = False,
    state: list[tuple[str, str]] | None = None,
) -> Record:
    return make_record(
        {
            "trace-id": trace_id,
            "span-id": span_id,
            "trace-flags": {"sampled"} if sampled else set(),
            "is-remote": is_remote,
            "trace-state": state or [],
        }
    )


def scope(name: str = "guest.lib", version: str | None = "1.0") -> Record:
    return make_record(
        {"name": name, "version": version, "schema-url": None, "attributes": [kv("s", 1)]}
    )


def span_data(
    context: Record,
    parent: str,
    name: str,
    *,
    kind: str = "internal",
    attributes: list[Record] | None = None,
    events: list[Record] | None = None,
    links: list[Record] | None = None,
    status: Variant | None = None,
    start: int = T0,
    end: int = T0 + 1,
    dropped: tuple[int, int, int] = (0, 0, 0),
) -> Record:
    return make_record(
        {
            "span-context": context,
            "parent-span-id": parent,
            "span-kind": kind,
            "name": name,
            "start-time": dt(start),
            "end-time": dt(end, 500),
            "attributes": attributes or [],
            "events": events or [],
            "links": links or [],
            "status": status or Variant("unset"),
            "instrumentation-scope": scope(),
            "dropped-attributes": dropped[0],
            "dropped-events": dropped[1],
            "dropped-links": dropped[2],
        }
    )


def event(name: str, at: int, attributes: list[Record] | None = None) -> Record:
    return make_record({"name": name, "time": dt(at), "attributes": attributes or []})


def link(context: Record, attributes: list[Record] | None = None) -> Record:
    return make_record({"span-context": context, "attributes": attributes or []})


def num(kind: str, value: float) -> Variant:
    return Variant(kind, value)


def exemplar(value: Variant, *, span_id: str = "", trace_id: str = "") -> Record:
    return make_record(
        {
            "filtered-attributes": [kv("ex", "1")],
            "time": dt(T0),
            "value": value,
            "span-id": span_id,
            "trace-id": trace_id,
        }
    )


def number_point(value: Variant, exemplars: list[Record] | None = None) -> Record:
    return make_record(
        {"attributes": [kv("route", "/users")], "value": value, "exemplars": exemplars or []}
    )


def gauge(points: list[Record], start: Record | None = None) -> Record:
    return make_record({"data-points": points, "start-time": start, "time": dt(T0 + 10)})


def sum_(points: list[Record], temporality: str = "delta", monotonic: bool = True) -> Record:
    return make_record(
        {
            "data-points": points,
            "start-time": dt(T0),
            "time": dt(T0 + 10),
            "temporality": temporality,
            "is-monotonic": monotonic,
        }
    )


def histogram(kind: str) -> Record:
    point = make_record(
        {
            "attributes": [],
            "count": 3,
            "bounds": [1.0, 10.0],
            "bucket-counts": [1, 1, 1],
            "min": Variant(kind, 0),
            "max": None,
            "sum": Variant(kind, 20),
            "exemplars": [],
        }
    )
    return make_record(
        {
            "data-points": [point],
            "start-time": dt(T0),
            "time": dt(T0 + 10),
            "temporality": "low-memory",
        }
    )


def exponential(kind: str) -> Record:
    bucket = make_record({"offset": -2, "counts": [1, 2]})
    point = make_record(
        {
            "attributes": [],
            "count": 4,
            "min": None,
            "max": Variant(kind, 8.5),
            "sum": Variant(kind, 12.5),
            "scale": 3,
            "zero-count": 1,
            "positive-bucket": bucket,
            "negative-bucket": make_record({"offset": 0, "counts": []}),
            "zero-threshold": 0.0,
            "exemplars": [],
        }
    )
    return make_record(
        {
            "data-points": [point],
            "start-time": dt(T0),
            "time": dt(T0 + 10),
            "temporality": "cumulative",
        }
    )


def metric(name: str, data: Variant) -> Record:
    return make_record({"name": name, "description": f"{name} desc", "unit": "1", "data": data})


def resource_metrics(metrics: list[Record]) -> Record:
    resource = make_record({"attributes": [kv("service.name", "guest-svc")], "schema-url": None})
    return make_record(
        {
            "resource": resource,
            "scope-metrics": [make_record({"scope": scope(), "metrics": metrics})],
        }
    )


def log_record(**fields: Any) -> Record:
    base: dict[str, Any] = {
        "timestamp": None,
        "observed-timestamp": None,
        "severity-text": None,
        "severity-number": None,
        "body": None,
        "attributes": None,
        "event-name": None,
        "resource": None,
        "instrumentation-scope": None,
        "trace-id": None,
        "span-id": None,
        "trace-flags": None,
    }
    base.update({k.replace("_", "-"): v for k, v in fields.items()})
    return make_record(base)
