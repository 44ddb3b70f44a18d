"""A tiny component (text format) that imports wasi:otel tracing, metrics and logs with their full
WIT types and re-exports each function through a core module that forwards the raw canonical-ABI
values unchanged.

Calling an export from Python therefore runs the real wasmtime lifting and lowering twice (host →
guest for the export's parameters, guest → host for the import) and lands in the spin-py host
function with exactly the Python shapes a real guest produces; results travel back the same way.
The forwarding works because a lowered import and a lifted export with the same WIT signature
have the same core signature and memory layout (arguments beyond 16 flat values and results
beyond one are passed through memory).
"""

from __future__ import annotations

_COMMON_TYPES = """
    (type $dt (record (field "seconds" u64) (field "nanoseconds" u32)))
    (export "datetime" (type $datetime (eq $dt)))
    (type $kv0 (record (field "key" string) (field "value" string)))
    (export "key-value" (type $kv (eq $kv0)))
    (type $scope0 (record (field "name" string) (field "version" (option string))
        (field "schema-url" (option string)) (field "attributes" (list $kv))))
    (export "instrumentation-scope" (type $scope (eq $scope0)))
    (type $res0 (record (field "attributes" (list $kv)) (field "schema-url" (option string))))
    (export "resource" (type $res (eq $res0)))
    (type $flags0 (flags "sampled"))
    (export "trace-flags" (type $flags (eq $flags0)))
"""

_TRACING = (
    """
  (import "wasi:otel/tracing@0.2.0-rc.2" (instance $tracing"""
    + _COMMON_TYPES
    + """
    (type $ctx0 (record (field "trace-id" string) (field "span-id" string)
        (field "trace-flags" $flags) (field "is-remote" bool)
        (field "trace-state" (list (tuple string string)))))
    (export "span-context" (type $ctx (eq $ctx0)))
    (type $kind0 (enum "client" "server" "producer" "consumer" "internal"))
    (export "span-kind" (type $kind (eq $kind0)))
    (type $event0 (record (field "name" string) (field "time" $datetime)
        (field "attributes" (list $kv))))
    (export "event" (type $event (eq $event0)))
    (type $link0 (record (field "span-context" $ctx) (field "attributes" (list $kv))))
    (export "link" (type $link (eq $link0)))
    (type $status0 (variant (case "unset") (case "ok") (case "error" string)))
    (export "status" (type $status (eq $status0)))
    (type $sd0 (record (field "span-context" $ctx) (field "parent-span-id" string)
        (field "span-kind" $kind) (field "name" string) (field "start-time" $datetime)
        (field "end-time" $datetime) (field "attributes" (list $kv))
        (field "events" (list $event)) (field "links" (list $link)) (field "status" $status)
        (field "instrumentation-scope" $scope) (field "dropped-attributes" u32)
        (field "dropped-events" u32) (field "dropped-links" u32)))
    (export "span-data" (type $sd (eq $sd0)))
    (export "on-start" (func (param "context" $ctx)))
    (export "on-end" (func (param "span" $sd)))
    (export "outer-span-context" (func (result $ctx)))
    (export "current-span-context" (func (result $ctx)))
  ))
"""
)

_METRICS = (
    """
  (import "wasi:otel/metrics@0.2.0-rc.2" (instance $metrics"""
    + _COMMON_TYPES
    + """
    (type $num0 (variant (case "f64" f64) (case "s64" s64) (case "u64" u64)))
    (export "metric-number" (type $num (eq $num0)))
    (type $ex0 (record (field "filtered-attributes" (list $kv)) (field "time" $datetime)
        (field "value" $num) (field "span-id" string) (field "trace-id" string)))
    (export "exemplar" (type $ex (eq $ex0)))
    (type $temp0 (enum "cumulative" "delta" "low-memory"))
    (export "temporality" (type $temp (eq $temp0)))
    (type $ndp0 (record (field "attributes" (list $kv)) (field "value" $num)
        (field "exemplars" (list $ex))))
    (export "gauge-data-point" (type $gdp (eq $ndp0)))
    (export "sum-data-point" (type $sdp (eq $ndp0)))
    (type $gauge0 (record (field "data-points" (list $gdp)) (field "start-time" (option $datetime))
        (field "time" $datetime)))
    (export "gauge" (type $gauge (eq $gauge0)))
    (type $sum0 (record (field "data-points" (list $sdp)) (field "start-time" $datetime)
        (field "time" $datetime) (field "temporality" $temp) (field "is-monotonic" bool)))
    (export "sum" (type $sum (eq $sum0)))
    (type $hdp0 (record (field "attributes" (list $kv)) (field "count" u64)
        (field "bounds" (list f64)) (field "bucket-counts" (list u64))
        (field "min" (option $num)) (field "max" (option $num)) (field "sum" $num)
        (field "exemplars" (list $ex))))
    (export "histogram-data-point" (type $hdp (eq $hdp0)))
    (type $hist0 (record (field "data-points" (list $hdp)) (field "start-time" $datetime)
        (field "time" $datetime) (field "temporality" $temp)))
    (export "histogram" (type $hist (eq $hist0)))
    (type $eb0 (record (field "offset" s32) (field "counts" (list u64))))
    (export "exponential-bucket" (type $eb (eq $eb0)))
    (type $edp0 (record (field "attributes" (list $kv)) (field "count" u64)
        (field "min" (option $num)) (field "max" (option $num)) (field "sum" $num)
        (field "scale" s8) (field "zero-count" u64) (field "positive-bucket" $eb)
        (field "negative-bucket" $eb) (field "zero-threshold" f64)
        (field "exemplars" (list $ex))))
    (export "exponential-histogram-data-point" (type $edp (eq $edp0)))
    (type $eh0 (record (field "data-points" (list $edp)) (field "start-time" $datetime)
        (field "time" $datetime) (field "temporality" $temp)))
    (export "exponential-histogram" (type $eh (eq $eh0)))
    (type $md0 (variant
        (case "f64-gauge" $gauge) (case "f64-sum" $sum) (case "f64-histogram" $hist)
        (case "f64-exponential-histogram" $eh)
        (case "u64-gauge" $gauge) (case "u64-sum" $sum) (case "u64-histogram" $hist)
        (case "u64-exponential-histogram" $eh)
        (case "s64-gauge" $gauge) (case "s64-sum" $sum) (case "s64-histogram" $hist)
        (case "s64-exponential-histogram" $eh)))
    (export "metric-data" (type $md (eq $md0)))
    (type $metric0 (record (field "name" string) (field "description" string)
        (field "unit" string) (field "data" $md)))
    (export "metric" (type $metric (eq $metric0)))
    (type $sm0 (record (field "scope" $scope) (field "metrics" (list $metric))))
    (export "scope-metrics" (type $sm (eq $sm0)))
    (type $rm0 (record (field "resource" $res) (field "scope-metrics" (list $sm))))
    (export "resource-metrics" (type $rm (eq $rm0)))
    (export "export" (func (param "metrics" $rm) (result (result (error string)))))
  ))
"""
)

_LOGS = (
    """
  (import "wasi:otel/logs@0.2.0-rc.2" (instance $logs"""
    + _COMMON_TYPES
    + """
    (type $lr0 (record (field "timestamp" (option $datetime))
        (field "observed-timestamp" (option $datetime)) (field "severity-text" (option string))
        (field "severity-number" (option u8)) (field "body" (option string))
        (field "attributes" (option (list $kv))) (field "event-name" (option string))
        (field "resource" (option $res)) (field "instrumentation-scope" (option $scope))
        (field "trace-id" (option string)) (field "span-id" (option string))
        (field "trace-flags" (option $flags))))
    (export "log-record" (type $lr (eq $lr0)))
    (export "on-emit" (func (param "data" $lr)))
  ))
"""
)

# name, instance, import func, core params, core results of the export, retptr for the import
_FUNCS = [
    ("start", "$tracing", "on-start", 8, 0, None),
    ("end", "$tracing", "on-end", 1, 0, None),
    ("outer", "$tracing", "outer-span-context", 0, 1, 16),
    ("current", "$tracing", "current-span-context", 0, 1, 64),
    ("export", "$metrics", "export", 7, 1, 128),
    ("emit", "$logs", "on-emit", 1, 0, None),
]


def _params(n: int) -> str:
    return " ".join(["i32"] * n)


def _core_module() -> str:
    imports, bodies = [], []
    for name, _inst, _fn, nparams, _nresults, retptr in _FUNCS:
        import_params = nparams + (1 if retptr is not None else 0)
        imports.append(f'(import "h" "{name}" (func ${name} (param {_params(import_params)})))')
        args = " ".join(f"(local.get {i})" for i in range(nparams))
        if retptr is not None:
            args += f" (i32.const {retptr})"
            result = f"(result i32) (call ${name} {args}) (i32.const {retptr})"
        else:
            result = f"(call ${name} {args})"
        params = f"(param {_params(nparams)})" if nparams else ""
        bodies.append(f'(func (export "{name}") {params} {result})')
    return f"""
  (core module $m
    {" ".join(imports)}
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $r) (local.get 3)))
      (if (i32.gt_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.add (i32.shr_u (local.get 3) (i32.const 16))
                                          (i32.const 1))))))
      (local.get $r))
    {" ".join(bodies)}
  )
"""


def _shim() -> str:
    types, funcs = [], []
    for i, (name, _inst, _fn, nparams, _nres, retptr) in enumerate(_FUNCS):
        n = nparams + (1 if retptr is not None else 0)
        types.append(f"(type $t{i} (func (param {_params(n)})))")
        args = " ".join(f"(local.get {j})" for j in range(n))
        funcs.append(
            f'(func (export "{name}") (param {_params(n)}) '
            f"(call_indirect (type $t{i}) {args} (i32.const {i})))"
        )
    return f"""
  (core module $shim (table (export "t") {len(_FUNCS)} funcref) {" ".join(types)} {" ".join(funcs)})
  (core instance $shim_i (instantiate $shim))
"""


def _wiring() -> str:
    parts = []
    exports = " ".join(f'(export "{n}" (func $s_{n}))' for n, *_ in _FUNCS)
    for name, *_ in _FUNCS:
        parts.append(f'(alias core export $shim_i "{name}" (core func $s_{name}))')
    parts.append(f"(core instance $host {exports})")
    parts.append('(core instance $mi (instantiate $m (with "h" (instance $host))))')
    parts.append('(alias core export $mi "mem" (core memory $mem))')
    parts.append('(alias core export $mi "realloc" (core func $realloc))')
    lowered, fix_imports, fix_with = [], [], []
    for i, (name, inst, fn, nparams, _nres, retptr) in enumerate(_FUNCS):
        n = nparams + (1 if retptr is not None else 0)
        parts.append(f'(alias export {inst} "{fn}" (func $f_{name}))')
        lowered.append(
            f"(core func $l_{name} (canon lower (func $f_{name}) (memory $mem) (realloc $realloc)))"
        )
        fix_imports.append(f'(import "" "f{i}" (func $g{i} (param {_params(n)})))')
        fix_with.append(f'(export "f{i}" (func $l_{name}))')
    parts.extend(lowered)
    parts.append('(alias core export $shim_i "t" (core table $t))')
    elems = " ".join(f"$g{i}" for i in range(len(_FUNCS)))
    parts.append(
        f'(core module $fix (import "" "t" (table {len(_FUNCS)} funcref)) {" ".join(fix_imports)}'
        f" (elem (i32.const 0) func {elems}))"
    )
    parts.append(
        f'(core instance (instantiate $fix (with "" (instance (export "t" (table $t)) '
        f"{' '.join(fix_with)}))))"
    )
    return "\n  ".join(parts)


_LIFTS = """
  (alias export $tracing "span-context" (type $ctx))
  (alias export $tracing "span-data" (type $sd))
  (alias export $metrics "resource-metrics" (type $rm))
  (alias export $logs "log-record" (type $lr))
  (func (export "start") (param "c" $ctx)
    (canon lift (core func $mi "start") (memory $mem) (realloc $realloc)))
  (func (export "end") (param "s" $sd)
    (canon lift (core func $mi "end") (memory $mem) (realloc $realloc)))
  (func (export "outer") (result $ctx)
    (canon lift (core func $mi "outer") (memory $mem) (realloc $realloc)))
  (func (export "current") (result $ctx)
    (canon lift (core func $mi "current") (memory $mem) (realloc $realloc)))
  (func (export "export") (param "m" $rm) (result (result (error string)))
    (canon lift (core func $mi "export") (memory $mem) (realloc $realloc)))
  (func (export "emit") (param "r" $lr)
    (canon lift (core func $mi "emit") (memory $mem) (realloc $realloc)))
"""


def passthrough_component() -> str:
    """The component's text: exports start/end/outer/current/export/emit."""
    return (
        "(component"
        + _TRACING
        + _METRICS
        + _LOGS
        + _core_module()
        + _shim()
        + "  "
        + _wiring()
        + _LIFTS
        + ")"
    )
