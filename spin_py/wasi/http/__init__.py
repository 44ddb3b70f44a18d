"""`wasi:http` 0.2 on the host: `types` (fields, requests, responses, bodies, futures) and
`outgoing-handler`.

Host objects (`fields`, `request`, `response`, `body`, `errors`) are plain Python and know
nothing about wasmtime; the `host_*` modules adapt them to the canonical names and value shapes
wasmtime-py calls (`shapes`), and `types.add_to_linker` / `outgoing.add_to_linker` put them in
the linker. `hooks` is the per-request wiring the request bridge installs.
"""
