;; wasip3: the shape of a WASIp3 HTTP component (`wasi:http@0.3`), to test that spin-py refuses it
;; with a message naming WASIp3 (docs/compatibility.md#wasip3-and-component-model-async).
;;
;; WASIp3 components export `wasi:http/handler@0.3.x` whose `handle` is an async component
;; function (lifted with the `async` canonical option and a callback), as Spin SDK 4.x/5.x
;; components do. The interface version is the release candidate wasmtime 50 serves. The core code
;; never runs (`unreachable`): with component-model async enabled wasmtime validates this
;; component; spin-py's engine (async off: wasmtime-py cannot host async functions, streams or
;; futures) fails to parse it, and spin-py turns that failure into the WASIp3 message.
(component
  (import "wasi:http/types@0.3.0-rc-2025-09-16" (instance $types
    (export "request" (type (sub resource)))
    (export "response" (type (sub resource)))
  ))
  (alias export $types "request" (type $request))
  (alias export $types "response" (type $response))
  (core module $m
    (func (export "handle") (param i32) (result i32) unreachable)
    (func (export "callback") (param i32 i32 i32) (result i32) unreachable)
  )
  (core instance $i (instantiate $m))
  (func $handle async (param "request" (own $request)) (result (own $response))
    (canon lift (core func $i "handle") async (callback (core func $i "callback"))))
  (instance $handler
    (export "handle" (func $handle)))
  (export "wasi:http/handler@0.3.0-rc-2025-09-16" (instance $handler))
)
