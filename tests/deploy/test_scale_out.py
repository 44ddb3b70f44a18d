"""Scale-out: three `spin-py up` nodes behind HAProxy, one Redis, one OTLP receiver (loopback).

Everything is real (see `tests/support/scale_out.py`): `deploy/haproxy/haproxy.cfg` runs in
`haproxy`, the nodes serve `manifests/kv-counter` (a Spin SDK component incrementing `counter`
in the key-value store) with a runtime config that puts that store in `redis-server`, and
export their spans to one OTLP receiver that decodes the protobuf. The tests share the cluster;
a test that stops a node starts it again before it ends. The figures measured (throughput, how
fast HAProxy saw a node leave, what was lost) are printed at the end of the run.

Every increment answers the counter's new value, so the values tell what happened: through
any number of nodes, N successful increments must answer N distinct values, and the next
increment must answer exactly one more than the number that ran.
"""

from __future__ import annotations

import secrets
import signal
import time
from collections import Counter

import pytest

from tests.support.otlp_receiver import OtlpReceiver, Received
from tests.support.scale_out import (
    CHECK_FALL,
    CHECK_INTER_S,
    NODE_MAXCONN,
    NODE_NAMES,
    SHUTDOWN_DELAY_S,
    Cluster,
    Figures,
    Outcome,
    load,
)

pytestmark = pytest.mark.scale_out

CONCURRENCY = 24
"""Clients at once: HAProxy's `maxconn 8` per node x 3 nodes, so every node is kept busy."""
INCREMENTS = 3000
DETECTION_SLACK_S = 1.5
"""Allowance over `CHECK_INTER_S * CHECK_FALL` for a busy machine (a check's own time included)."""


def served_by(outcomes: list[Outcome]) -> dict[str, int]:
    return dict(sorted(Counter(o.node for o in outcomes if o.ok).items()))


async def next_value(cluster: Cluster) -> int:
    (outcome,) = await load(f"{cluster.url}/counter", concurrency=1, total=1)
    assert outcome.ok, outcome
    return outcome.value


async def reset_counter(cluster: Cluster) -> int:
    """The counter's value now (tests look at what they add, not at what is already there)."""
    return await next_value(cluster)


async def test_each_node_exports_its_spans_under_its_own_instance_id_in_the_callers_trace(
    cluster: Cluster, otlp_collector: OtlpReceiver, figures: Figures
) -> None:
    parents = [(secrets.token_hex(16), secrets.token_hex(8)) for _ in range(30)]
    outcomes = await load(
        f"{cluster.url}/counter",
        concurrency=3,
        total=len(parents),
        headers=lambda n: {"traceparent": f"00-{parents[n][0]}-{parents[n][1]}-01"},
    )
    assert all(o.ok for o in outcomes), outcomes
    assert set(served_by(outcomes)) == set(NODE_NAMES), served_by(outcomes)
    wanted = {trace_id: span_id for trace_id, span_id in parents}

    def server_spans(spans: list[Received]) -> dict[str, Received]:
        return {s.trace_id: s for s in spans if s.trace_id in wanted and s.item.kind == 2}

    spans = otlp_collector.wait_for(
        "traces", lambda items: len(server_spans(items)) == len(wanted), timeout_s=20
    )
    by_pid: dict[int, set[str]] = {}
    for trace_id, span in server_spans(spans).items():
        assert span.parent_span_id == wanted[trace_id], "the client's span is not the parent"
        assert span.name == "POST /counter"
        assert span.resource["service.name"] == "kv-counter"
        by_pid.setdefault(span.resource["process.pid"], set()).add(
            span.resource["service.instance.id"]
        )
    node_pids = {node.pid: name for name, node in cluster.nodes.items()}
    assert set(by_pid) == set(node_pids), "spans from a process that is not a node"
    instance_ids = {pid: ids.pop() for pid, ids in by_pid.items() if len(ids) == 1}
    assert len(instance_ids) == 3, f"one service.instance.id per node expected: {by_pid}"
    assert len(set(instance_ids.values())) == 3, "nodes share a service.instance.id"
    in_traces = [s for s in spans if s.trace_id in wanted]
    assert {s.name for s in in_traces} >= {
        "POST /counter",
        "execute_wasm_component kv-counter",
        "spin_key_value.increment",
    }
    figures.add(
        "traces",
        requests=len(outcomes),
        served_by=served_by(outcomes),
        spans_received=len(in_traces),
        instance_ids={node_pids[pid]: iid[:8] + "…" for pid, iid in instance_ids.items()},
    )


async def test_increments_from_concurrent_clients_through_the_balancer_are_exact(
    cluster: Cluster, figures: Figures
) -> None:
    base = await reset_counter(cluster)
    started = time.monotonic()
    outcomes = await load(f"{cluster.url}/counter", concurrency=CONCURRENCY, total=INCREMENTS)
    elapsed = time.monotonic() - started
    failed = [o for o in outcomes if not o.ok]
    assert not failed, failed[:5]
    values = sorted(o.value for o in outcomes)
    assert values == list(range(base + 1, base + INCREMENTS + 1)), "lost or repeated increments"
    assert await next_value(cluster) == base + INCREMENTS + 1
    shares = served_by(outcomes)
    assert set(shares) == set(NODE_NAMES) and min(shares.values()) >= INCREMENTS // 10, shares
    figures.add(
        "3,000 increments",
        clients=CONCURRENCY,
        seconds=f"{elapsed:.1f}",
        requests_per_s=f"{INCREMENTS / elapsed:.0f}",
        served_by=shares,
        counter_added=values[-1] - base,
    )


async def test_sigterm_drains_a_node_and_loses_no_request(
    cluster: Cluster, figures: Figures
) -> None:
    node = cluster.nodes["node2"]
    assert node.server is not None
    base = await reset_counter(cluster)
    when: dict[str, float] = {}

    def stop_after(outcomes: list[Outcome]) -> bool:
        """SIGTERM node2 after 300 requests; stop 300 requests after it has exited."""
        if "term" not in when and len(outcomes) >= 300:
            when["term"] = cluster.signal_node("node2", signal.SIGTERM)
            when["term_at"] = len(outcomes)
        if "term" in when and "exit_at" not in when and node.server.process.poll() is not None:
            when["exit_at"] = len(outcomes)
        return "exit_at" in when and len(outcomes) >= when["exit_at"] + 300

    outcomes = await load(f"{cluster.url}/counter", concurrency=CONCURRENCY, until=stop_after)
    exited = node.server.stop()
    down, down_reason = cluster.log.wait_for_state("node2", "DOWN", when["term"], timeout=1)
    failed = [o for o in outcomes if not o.ok]
    assert not failed, failed[:5]
    values = sorted(o.value for o in outcomes)
    assert values == list(range(base + 1, base + len(outcomes) + 1)), "lost or repeated"
    assert exited.returncode == 0, exited.stderr
    assert "draining for 1.5s" in exited.stderr
    drained = [o for o in outcomes if o.node == "node2" and o.started >= when["term"]]
    detection = down - when["term"]
    assert detection < SHUTDOWN_DELAY_S, "HAProxy still routed to node2 when it stopped listening"
    back_in = cluster.restart_node("node2")
    assert await next_value(cluster) == base + len(outcomes) + 1
    figures.add(
        "SIGTERM during load",
        requests=len(outcomes),
        failed=len(failed),
        served_by_the_node_after_SIGTERM=len(drained),
        marked_down_after=f"{detection:.2f}s ({down_reason}; check every {CHECK_INTER_S}s, "
        f"fall {CHECK_FALL})",
        shutdown_delay=f"{SHUTDOWN_DELAY_S}s",
        back_in_rotation_after_restart=f"{back_in:.1f}s",
    )


async def test_sigkill_loses_at_most_the_requests_in_flight_on_the_node(
    cluster: Cluster, figures: Figures
) -> None:
    node = cluster.nodes["node3"]
    assert node.server is not None
    base = await reset_counter(cluster)
    when: dict[str, float] = {}

    def stop_after(outcomes: list[Outcome]) -> bool:
        """SIGKILL node3 after 300 requests; go on for 2 s and 300 requests after that."""
        if "kill" not in when and len(outcomes) >= 300:
            when["in_flight"] = cluster.in_flight("node3")
            when["kill"] = cluster.signal_node("node3", signal.SIGKILL)
            when["kill_at"] = len(outcomes)
        if "kill" not in when:
            return False
        late = time.monotonic() >= when["kill"] + 2
        return late and len(outcomes) >= when["kill_at"] + 300

    outcomes = await load(f"{cluster.url}/counter", concurrency=CONCURRENCY, until=stop_after)
    assert node.server.process.wait(5) == -signal.SIGKILL
    down, down_reason = cluster.log.wait_for_state("node3", "DOWN", when["kill"], timeout=1)
    detection = down - when["kill"]
    failed = [o for o in outcomes if not o.ok]
    succeeded = [o for o in outcomes if o.ok]
    # In flight on the node: what HAProxy had sent it (at most maxconn), and what reached it
    # while the kernel tore the dead process down, before HAProxy took it out.
    before_kill = [o for o in failed if o.started < when["kill"]]
    assert len(before_kill) <= NODE_MAXCONN, f"{len(failed)} failed: {failed[:3]}"
    assert all(o.started < down for o in failed), "a request sent after the node was out failed"
    assert all(o.status in (0, 502, 503, 504) for o in failed), failed
    after_down = [o for o in outcomes if o.started > down]
    assert after_down and all(o.ok and o.node != "node3" for o in after_down)
    values = [o.value for o in succeeded]
    assert len(set(values)) == len(values), "an increment answered twice"
    assert detection <= CHECK_INTER_S * CHECK_FALL + DETECTION_SLACK_S
    back_in = cluster.restart_node("node3")
    ran = await next_value(cluster) - base - 1
    # Each request that failed may or may not have incremented before the node died.
    assert len(succeeded) <= ran <= len(succeeded) + len(failed)
    figures.add(
        "SIGKILL during load",
        requests=len(outcomes),
        in_flight_on_the_node_at_the_kill=int(when["in_flight"]),
        failed=f"{len(failed)} ({len(failed) - len(before_kill)} sent after the kill)",
        failed_but_counted=ran - len(succeeded),
        marked_down_after=f"{detection:.2f}s ({down_reason}; check every {CHECK_INTER_S}s, "
        f"fall {CHECK_FALL})",
        back_in_rotation_after_restart=f"{back_in:.1f}s",
    )
