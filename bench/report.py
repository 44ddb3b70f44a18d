"""The Markdown view of a results file: one table per kind of workload, then the ratios."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]
Cells = Callable[[Row], list[str]]


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _throughput(row: Row) -> list[str]:
    keys = ("rps", "p50_ms", "p99_ms", "errors", "server_cpu_ms_per_req", "pss_mb", "processes",
            "other_cpu_cores")  # fmt: skip
    digits = (1, 2, 2, 0, 2, 1, 0, 2)
    cells = [_fmt(row.get(key), n) for key, n in zip(keys, digits, strict=True)]
    return [row.get("path", ""), *cells]


def _echo(row: Row) -> list[str]:
    failed = f"{row.get('failed_exchanges')}/{row.get('exchanges')}"
    keys = ("mb_per_s", "peak_rss_growth_mb", "baseline_pss_mb", "processes")
    return [*(_fmt(row.get(key)) for key in keys), failed]


def _start(row: Row) -> list[str]:
    progress = "; ".join(row.get("progress_lines", []))[:160] or "-"
    return [_fmt(row.get("first_200_s"), 2), _fmt(row.get("hello_status")), progress]


def _slow(row: Row) -> list[str]:
    keys = ("wall_s", "latency_median_s", "latency_max_s", "peak_rss_growth_mb",
            "rss_growth_kb_per_request", "processes")  # fmt: skip
    errors = f"{row.get('errors')}/{row.get('requests')}"
    return [errors, *(_fmt(row.get(key), 2) for key in keys)]


KINDS: dict[str, tuple[list[str], Cells]] = {
    "throughput": (
        [
            "path",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "server CPU ms/req",
            "PSS MB",
            "procs",
            "other load (cores)",
        ],
        _throughput,
    ),
    "echo": (
        ["MB/s (median)", "peak RSS growth MB (one process)", "PSS before MB", "procs", "failed"],
        _echo,
    ),
    "start": (["first 200 (s)", "/hello status", "compile progress lines"], _start),
    "slow": (
        [
            "errors",
            "wall s",
            "latency median s",
            "latency max s",
            "peak RSS growth MB",
            "KB per in-flight request",
            "procs",
        ],
        _slow,
    ),
}
KIND_OF = {"W1": "throughput", "W1js": "throughput", "W2": "throughput", "W4": "throughput",
           "W3": "echo", "W5": "start", "W6": "slow", "W7": "throughput"}  # fmt: skip


def _rows(section: dict[str, Any], cells: Cells, width: int) -> list[list[str]]:
    """One table row per result row: workload, server, then the kind's cells (or the error)."""
    out = []
    for row in section["rows"]:
        head = [section["workload"], row["server"]]
        if "error" in row:
            message = "error: " + row["error"].strip().splitlines()[-1][:120]
            out.append([*head, message, *[""] * (width - 1)])
        else:
            out.append([*head, *cells(row)])
    return out


def markdown(results: dict[str, Any]) -> str:
    """Tables for every workload in `results`, then the ratios against the targets."""
    tables: dict[str, list[list[str]]] = {}
    for section in results["sections"]:
        kind = KIND_OF[section["workload"]]
        headers, cells = KINDS[kind]
        tables.setdefault(kind, []).extend(_rows(section, cells, len(headers)))
    lines = [f"- {s['workload']}: {s['title']}" for s in results["sections"]]
    for kind, rows in tables.items():
        lines += ["", *_table(["W", "server", *KINDS[kind][0]], rows)]
    verdict = {True: "met", False: "NOT met", None: "-"}
    ratio_rows = [
        [s["workload"], r["name"], _fmt(r["value"], 2), r["target"], verdict[r["met"]]]
        for s in results["sections"]
        for r in s["ratios"]
    ]
    lines += ["", "**Ratios against the targets (same run)**", ""]
    lines += _table(["W", "ratio", "value", "target", "verdict"], ratio_rows)
    notes = [f"- {s['workload']}: {note}" for s in results["sections"] for note in s["notes"]]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines).lstrip("\n") + "\n"
