// The spin-py trace UI: lists recent traces, draws one as a waterfall, shows the metric tables.
// Plain DOM, no framework, no build step. Every value that comes from a span (guest data
// included) is written with textContent, never parsed as HTML.
"use strict";

const POLL_MS = 1000;
const state = {
  view: "traces",
  selected: null, // trace id shown in the waterfall
  selectedSpan: null,
  listTag: null, // ETag of the last list answer
  traceTag: null, // what the shown trace looked like (span count + end), to skip redraws
};

function $(id) {
  return document.getElementById(id);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, String(value));
    else if (key === "title") node.title = String(value);
    else if (key === "style") Object.assign(node.style, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return ms.toFixed(ms < 10 ? 2 : 1) + " ms";
  return (ms / 1000).toFixed(2) + " s";
}

function fmtTime(ns) {
  const d = new Date(ns / 1e6);
  const pad = (n, w) => String(n).padStart(w || 2, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fmtValue(value) {
  if (Array.isArray(value)) return "[" + value.map(fmtValue).join(", ") + "]";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

async function getJSON(url, etag) {
  const headers = etag ? { "If-None-Match": etag } : {};
  const response = await fetch(url, { headers, cache: "no-store" });
  if (response.status === 304) return { notModified: true };
  const body = await response.json();
  return { status: response.status, etag: response.headers.get("ETag"), body };
}

// -- the trace list --------------------------------------------------------------------------

function listQuery() {
  const params = new URLSearchParams({ limit: "200" });
  for (const [id, name] of [["f-trace", "trace_id"], ["f-route", "route"], ["f-status", "status"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  return "/api/traces?" + params.toString();
}

async function refreshList(force) {
  let answer;
  try {
    answer = await getJSON(listQuery(), force ? null : state.listTag);
  } catch (err) {
    $("store-status").textContent = "UI unreachable";
    return;
  }
  if (answer.notModified) return;
  state.listTag = answer.etag;
  renderList(answer.body);
  if (state.selected) refreshTrace(false);
  refreshStatus();
}

async function refreshStatus() {
  try {
    const answer = await getJSON("/api/status");
    const s = answer.body.store;
    $("store-status").textContent =
      `${s.traces} traces, ${s.spans} spans held (last ${s.max_traces} traces kept)`;
  } catch (err) {
    $("store-status").textContent = "";
  }
}

function renderList(items) {
  const body = $("trace-list").tBodies[0];
  body.replaceChildren();
  $("list-empty").hidden = items.length > 0;
  for (const item of items) {
    const status = item.status_code === null || item.status_code === undefined ? "" : item.status_code;
    const row = el(
      "tr",
      {
        "data-trace-id": item.trace_id,
        class: (item.error ? "error " : "") + (item.trace_id === state.selected ? "selected" : ""),
        title: item.trace_id,
      },
      el("td", { class: "mono" }, fmtTime(item.start_time_unix_nano)),
      el("td", {}, item.method || ""),
      el(
        "td",
        { class: "route", title: item.route ? `route ${item.route}` : item.name },
        item.path || item.name,
        item.route && item.route !== item.path ? el("span", { class: "muted small" }, " " + item.route) : null,
      ),
      el(
        "td",
        { class: status >= 500 ? "status server-error" : "status" },
        String(status),
        item.error ? el("span", { class: "err-mark", title: "a span in this trace failed" }, " ●") : null,
      ),
      el("td", { class: "num" }, fmtMs(item.duration_ms)),
      el("td", { class: "num" }, String(item.span_count)),
    );
    row.addEventListener("click", () => select(item.trace_id));
    body.append(row);
  }
}

function select(traceId) {
  if (location.hash !== "#trace=" + traceId) location.hash = "trace=" + traceId;
  else showTrace(traceId);
}

function showTrace(traceId) {
  state.selected = traceId;
  state.selectedSpan = null;
  state.traceTag = null;
  for (const row of $("trace-list").tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.traceId === traceId);
  }
  refreshTrace(true);
}

// -- one trace as a waterfall -------------------------------------------------------------------

async function refreshTrace(force) {
  const traceId = state.selected;
  if (!traceId) return;
  let answer;
  try {
    answer = await getJSON("/api/traces/" + encodeURIComponent(traceId));
  } catch (err) {
    return;
  }
  if (traceId !== state.selected) return;
  if (answer.status !== 200) {
    $("trace-header").textContent = `Trace ${traceId} is not held (it may have been dropped).`;
    $("waterfall").replaceChildren();
    $("span-detail").replaceChildren();
    return;
  }
  const spans = answer.body.spans;
  const tag = spans.length + ":" + Math.max(...spans.map((s) => s.end_time_unix_nano));
  if (!force && tag === state.traceTag) return;
  state.traceTag = tag;
  renderTrace(answer.body);
}

function treeOrder(spans) {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    if (span.parent_span_id && byId.has(span.parent_span_id)) {
      if (!children.has(span.parent_span_id)) children.set(span.parent_span_id, []);
      children.get(span.parent_span_id).push(span);
    } else {
      roots.push(span);
    }
  }
  const byStart = (a, b) => a.start_time_unix_nano - b.start_time_unix_nano;
  const out = [];
  const visit = (span, depth) => {
    out.push({ span, depth });
    for (const child of (children.get(span.span_id) || []).sort(byStart)) visit(child, depth + 1);
  };
  for (const root of roots.sort(byStart)) visit(root, 0);
  return out;
}

function renderTrace(trace) {
  const spans = trace.spans;
  const start = Math.min(...spans.map((s) => s.start_time_unix_nano));
  const end = Math.max(...spans.map((s) => s.end_time_unix_nano));
  const total = Math.max(end - start, 1);
  const rows = treeOrder(spans);
  const root = rows.length ? rows[0].span : null;
  const guests = spans.filter((s) => s.source === "guest").length;
  const errors = spans.filter((s) => s.status.code === "ERROR").length;

  $("trace-header").replaceChildren(
    el("div", { class: "trace-title" }, root ? root.name : "", el("span", { class: "muted" }, "  " + fmtMs(total / 1e6))),
    el(
      "div",
      { class: "muted mono" },
      `trace ${trace.trace_id} · ${spans.length} spans (${guests} from the guest)` +
        (errors ? ` · ${errors} failed` : "") +
        (trace.dropped_span_count ? ` · ${trace.dropped_span_count} dropped` : ""),
    ),
    el(
      "div",
      { class: "legend" },
      el("span", { class: "swatch host" }),
      "host",
      el("span", { class: "swatch guest" }),
      "guest (wasi:otel)",
      el("span", { class: "swatch error" }),
      "error",
    ),
  );

  const axis = el("div", { class: "axis" }, el("div", { class: "name-col" }, "span"));
  const ticks = el("div", { class: "bar-col ticks" });
  for (let i = 0; i <= 4; i++) {
    ticks.append(el("span", { class: "tick", style: { left: i * 25 + "%" } }, fmtMs((total * i) / 4 / 1e6)));
  }
  axis.append(ticks);

  const list = [axis];
  for (const { span, depth } of rows) {
    const left = ((span.start_time_unix_nano - start) / total) * 100;
    const width = Math.max(((span.end_time_unix_nano - span.start_time_unix_nano) / total) * 100, 0.3);
    const failed = span.status.code === "ERROR";
    const row = el(
      "div",
      {
        class: `span-row ${span.source}${failed ? " error" : ""}${span.span_id === state.selectedSpan ? " selected" : ""}`,
        "data-span-id": span.span_id,
        "data-parent-span-id": span.parent_span_id || "",
        "data-depth": depth,
        "data-source": span.source,
        "data-name": span.name,
        "data-kind": span.kind,
        title: `${span.name} (${span.kind}, ${span.source})`,
      },
      el(
        "div",
        { class: "name-col", style: { paddingLeft: 6 + depth * 16 + "px" } },
        el("span", { class: `badge ${span.source}` }, span.source),
        el("span", { class: "span-name" }, span.name),
        el("span", { class: "kind" }, span.kind.toLowerCase()),
      ),
      el(
        "div",
        { class: "bar-col" },
        el("div", { class: "bar", style: { left: left + "%", width: Math.min(width, 100 - left) + "%" } }),
        left + width > 80
          ? el("span", { class: "bar-label inside", style: { right: Math.max(100 - left - width, 0) + "%" } }, fmtMs(span.duration_ms))
          : el("span", { class: "bar-label", style: { left: left + width + "%" } }, fmtMs(span.duration_ms)),
      ),
    );
    row.addEventListener("click", () => {
      state.selectedSpan = span.span_id;
      for (const other of $("waterfall").querySelectorAll(".span-row")) {
        other.classList.toggle("selected", other === row);
      }
      renderDetail(span, start);
    });
    list.push(row);
  }
  $("waterfall").replaceChildren(...list);
  const shown = spans.find((s) => s.span_id === state.selectedSpan) || root;
  if (shown) renderDetail(shown, start);
}

function kvTable(attributes) {
  const keys = Object.keys(attributes || {}).sort();
  if (!keys.length) return el("p", { class: "muted" }, "none");
  const table = el("table", { class: "kv" });
  for (const key of keys) {
    table.append(el("tr", {}, el("th", {}, key), el("td", { class: "mono" }, fmtValue(attributes[key]))));
  }
  return table;
}

function renderDetail(span, traceStart) {
  const offset = (span.start_time_unix_nano - traceStart) / 1e6;
  const parts = [
    el("h3", {}, span.name),
    el(
      "table",
      { class: "kv" },
      el("tr", {}, el("th", {}, "source"), el("td", {}, span.source + (span.scope ? ` (scope ${span.scope})` : ""))),
      el("tr", {}, el("th", {}, "kind"), el("td", {}, span.kind)),
      el("tr", {}, el("th", {}, "status"), el("td", {}, span.status.code + (span.status.message ? ": " + span.status.message : ""))),
      el("tr", {}, el("th", {}, "span id"), el("td", { class: "mono" }, span.span_id)),
      el("tr", {}, el("th", {}, "parent"), el("td", { class: "mono" }, span.parent_span_id || "none")),
      el("tr", {}, el("th", {}, "start"), el("td", {}, `+${fmtMs(offset)} (${fmtTime(span.start_time_unix_nano)})`)),
      el("tr", {}, el("th", {}, "duration"), el("td", {}, fmtMs(span.duration_ms))),
    ),
    el("h4", {}, "Attributes"),
    kvTable(span.attributes),
  ];
  if (span.events.length) {
    parts.push(el("h4", {}, "Events"));
    for (const event of span.events) {
      const at = (event.time_unix_nano - traceStart) / 1e6;
      parts.push(el("div", { class: "event" }, el("strong", {}, event.name), ` at +${fmtMs(at)}`), kvTable(event.attributes));
    }
  }
  if (span.links.length) {
    parts.push(el("h4", {}, "Links"));
    for (const link of span.links) {
      parts.push(el("div", { class: "mono" }, `trace ${link.trace_id} span ${link.span_id}`), kvTable(link.attributes));
    }
  }
  if (span.dropped) parts.push(el("p", { class: "muted" }, `${span.dropped} attributes, events or links dropped`));
  $("span-detail").replaceChildren(...parts);
}

// -- metrics ---------------------------------------------------------------------------------------

function fillTable(id, rows, cells) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    const width = $(id).tHead.rows[0].cells.length;
    body.append(el("tr", {}, el("td", { colSpan: width, class: "muted" }, "nothing yet")));
    return;
  }
  for (const row of rows) {
    body.append(el("tr", {}, ...cells(row).map(([text, cls]) => el("td", { class: cls || "" }, text))));
  }
}

function counts(map) {
  return Object.entries(map || {})
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}

async function refreshMetrics() {
  let answer;
  try {
    answer = await getJSON("/api/metrics");
  } catch (err) {
    return;
  }
  const m = answer.body;
  $("metrics-note").textContent =
    `${m.active_requests} request(s) in progress · from ${m.senders} serving process(es) · percentiles estimated from histogram buckets`;
  fillTable("m-routes", m.routes, (r) => [
    [r.method], [r.route || "(no route)"], [r.count, "num"], [r.errors, "num"],
    [(r.error_rate * 100).toFixed(1) + " %", "num"], [fmtMs(r.p50_ms), "num"], [fmtMs(r.p99_ms), "num"],
    [counts(r.status_codes)],
  ]);
  fillTable("m-components", m.components, (r) => [
    [r.component], [r.count, "num"], [fmtMs(r.p50_ms), "num"], [fmtMs(r.p99_ms), "num"], [counts(r.outcomes)],
  ]);
  fillTable("m-outbound", m.outbound, (r) => [
    [r.method], [r.server], [r.count, "num"], [r.errors, "num"], [fmtMs(r.p50_ms), "num"], [fmtMs(r.p99_ms), "num"],
  ]);
  fillTable("m-platform", m.platform, (r) => [
    [r.metric], [r.label], [r.operation], [r.count, "num"], [r.errors, "num"],
  ]);
}

// -- wiring ----------------------------------------------------------------------------------------

function showView(view) {
  state.view = view;
  $("traces-view").hidden = view !== "traces";
  $("metrics-view").hidden = view !== "metrics";
  $("tab-traces").classList.toggle("active", view === "traces");
  $("tab-metrics").classList.toggle("active", view === "metrics");
  if (view === "metrics") refreshMetrics();
  else refreshList(true);
}

function fromHash() {
  const match = /^#trace=([0-9a-f]{1,32})$/i.exec(location.hash);
  if (match) {
    if (state.view !== "traces") showView("traces");
    showTrace(match[1].toLowerCase());
  }
}

function tick() {
  if (!$("live").checked || document.hidden) return;
  if (state.view === "metrics") refreshMetrics();
  else refreshList(false);
}

function start() {
  $("tab-traces").addEventListener("click", () => showView("traces"));
  $("tab-metrics").addEventListener("click", () => showView("metrics"));
  let pending = null;
  const onFilter = () => {
    clearTimeout(pending);
    pending = setTimeout(() => refreshList(true), 150);
  };
  for (const id of ["f-trace", "f-route", "f-status"]) {
    $(id).addEventListener("input", onFilter);
    $(id).addEventListener("change", onFilter);
  }
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  window.addEventListener("hashchange", fromHash);
  refreshList(true);
  fromHash();
  setInterval(tick, POLL_MS);
}

start();
