;; tiny: the smallest useful wasi:http 0.2.0 handler, written by hand in component text format.
;;
;; Every request gets status 200, no headers, and the 5-byte body `hello`. There is no language
;; runtime inside, so a request costs almost nothing in the guest: it measures host overhead (the
;; W2 benchmark) and gives linking tests a component that compiles in milliseconds.
;;
;; It imports only what `handle` calls: the resource types it touches, six functions and two
;; resource destructors. Hosts load this file as text (wasmtime compiles WAT directly).
;;
;; Sequence inside `handle(request, response-out)`:
;;   fields()  ->  outgoing-response(fields)  ->  .body()  ->  response-outparam.set(ok)
;;   ->  body.write()  ->  stream.blocking-write-and-flush("hello")  ->  drop stream
;;   ->  outgoing-body.finish(none)  ->  drop request
;; A result that is not `ok` executes `unreachable`, so any host error shows up as a trap.
(component $tiny
  ;; ---- wasi:io/error: only the resource type (the payload of stream-error) ----
  (import "wasi:io/error@0.2.0" (instance $io-error
    (export "error" (type (sub resource)))))
  (alias export $io-error "error" (type $error))

  ;; ---- wasi:io/streams: output-stream and one method ----
  (import "wasi:io/streams@0.2.0" (instance $streams
    (alias outer $tiny $error (type $error-outer))
    (export "error" (type $err (eq $error-outer)))
    (export "output-stream" (type $output-stream (sub resource)))
    (type $stream-error-def (variant
      (case "last-operation-failed" (own $err))
      (case "closed")))
    (export "stream-error" (type $stream-error (eq $stream-error-def)))
    (export "[method]output-stream.blocking-write-and-flush" (func
      (param "self" (borrow $output-stream))
      (param "contents" (list u8))
      (result (result (error $stream-error)))))))
  (alias export $streams "output-stream" (type $output-stream))
  (alias export $streams "[method]output-stream.blocking-write-and-flush"
    (func $blocking-write-and-flush))

  ;; ---- wasi:http/types: the response side only ----
  (import "wasi:http/types@0.2.0" (instance $types
    (alias outer $tiny $output-stream (type $output-stream-outer))
    (export "output-stream" (type $out (eq $output-stream-outer)))
    (type $dns-error-payload-def (record
      (field "rcode" (option string))
      (field "info-code" (option u16))))
    (export "DNS-error-payload" (type $dns-error-payload (eq $dns-error-payload-def)))
    (type $tls-alert-payload-def (record
      (field "alert-id" (option u8))
      (field "alert-message" (option string))))
    (export "TLS-alert-received-payload" (type $tls-alert-payload (eq $tls-alert-payload-def)))
    (type $field-size-payload-def (record
      (field "field-name" (option string))
      (field "field-size" (option u32))))
    (export "field-size-payload" (type $field-size-payload (eq $field-size-payload-def)))
    (type $error-code-def (variant
      (case "DNS-timeout")
      (case "DNS-error" $dns-error-payload)
      (case "destination-not-found")
      (case "destination-unavailable")
      (case "destination-IP-prohibited")
      (case "destination-IP-unroutable")
      (case "connection-refused")
      (case "connection-terminated")
      (case "connection-timeout")
      (case "connection-read-timeout")
      (case "connection-write-timeout")
      (case "connection-limit-reached")
      (case "TLS-protocol-error")
      (case "TLS-certificate-error")
      (case "TLS-alert-received" $tls-alert-payload)
      (case "HTTP-request-denied")
      (case "HTTP-request-length-required")
      (case "HTTP-request-body-size" (option u64))
      (case "HTTP-request-method-invalid")
      (case "HTTP-request-URI-invalid")
      (case "HTTP-request-URI-too-long")
      (case "HTTP-request-header-section-size" (option u32))
      (case "HTTP-request-header-size" (option $field-size-payload))
      (case "HTTP-request-trailer-section-size" (option u32))
      (case "HTTP-request-trailer-size" $field-size-payload)
      (case "HTTP-response-incomplete")
      (case "HTTP-response-header-section-size" (option u32))
      (case "HTTP-response-header-size" $field-size-payload)
      (case "HTTP-response-body-size" (option u64))
      (case "HTTP-response-trailer-section-size" (option u32))
      (case "HTTP-response-trailer-size" $field-size-payload)
      (case "HTTP-response-transfer-coding" (option string))
      (case "HTTP-response-content-coding" (option string))
      (case "HTTP-response-timeout")
      (case "HTTP-upgrade-failed")
      (case "HTTP-protocol-error")
      (case "loop-detected")
      (case "configuration-error")
      (case "internal-error" (option string))))
    (export "error-code" (type $error-code (eq $error-code-def)))
    (export "fields" (type $fields (sub resource)))
    (export "incoming-request" (type $incoming-request (sub resource)))
    (export "response-outparam" (type $response-outparam (sub resource)))
    (export "outgoing-response" (type $outgoing-response (sub resource)))
    (export "outgoing-body" (type $outgoing-body (sub resource)))
    (export "[constructor]fields" (func (result (own $fields))))
    (export "[constructor]outgoing-response" (func
      (param "headers" (own $fields))
      (result (own $outgoing-response))))
    (export "[method]outgoing-response.body" (func
      (param "self" (borrow $outgoing-response))
      (result (result (own $outgoing-body)))))
    (export "[method]outgoing-body.write" (func
      (param "self" (borrow $outgoing-body))
      (result (result (own $out)))))
    (export "[static]outgoing-body.finish" (func
      (param "this" (own $outgoing-body))
      (param "trailers" (option (own $fields)))
      (result (result (error $error-code)))))
    (export "[static]response-outparam.set" (func
      (param "param" (own $response-outparam))
      (param "response" (result (own $outgoing-response) (error $error-code)))))))
  (alias export $types "incoming-request" (type $incoming-request))
  (alias export $types "response-outparam" (type $response-outparam))
  (alias export $types "[constructor]fields" (func $fields-new))
  (alias export $types "[constructor]outgoing-response" (func $response-new))
  (alias export $types "[method]outgoing-response.body" (func $response-body))
  (alias export $types "[method]outgoing-body.write" (func $body-write))
  (alias export $types "[static]outgoing-body.finish" (func $body-finish))
  (alias export $types "[static]response-outparam.set" (func $outparam-set))

  ;; ---- linear memory and allocator ----
  ;; Page 0 holds a return area at 16 and the body text at 64; `cabi_realloc` bump-allocates
  ;; from 1024 upwards. The host only allocates when it returns an error-code carrying a string.
  (core module $memory-module
    (memory (export "memory") 1)
    (data (i32.const 64) "hello")
    (global $next (mut i32) (i32.const 1024))
    (func (export "cabi_realloc")
      (param $old-ptr i32) (param $old-size i32) (param $align i32) (param $new-size i32)
      (result i32)
      (local $ptr i32) (local $end i32)
      ;; Only fresh allocations happen here; growing an old block is never asked for.
      (if (local.get $old-size) (then unreachable))
      (local.set $ptr
        (i32.and
          (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $ptr) (local.get $new-size)))
      (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
        (then
          (if (i32.eq
                (memory.grow
                  (i32.sub
                    (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                    (memory.size)))
                (i32.const -1))
            (then unreachable))))
      (global.set $next (local.get $end))
      (local.get $ptr)))
  (core instance $memory-instance (instantiate $memory-module))
  (alias core export $memory-instance "memory" (core memory $memory))
  (alias core export $memory-instance "cabi_realloc" (core func $realloc))

  ;; ---- canonical ABI lowerings of the imports ----
  (core func $fields-new-core (canon lower (func $fields-new)))
  (core func $response-new-core (canon lower (func $response-new)))
  (core func $response-body-core (canon lower (func $response-body) (memory $memory)))
  (core func $body-write-core (canon lower (func $body-write) (memory $memory)))
  (core func $body-finish-core (canon lower (func $body-finish) (memory $memory) (realloc $realloc)))
  (core func $outparam-set-core (canon lower (func $outparam-set) (memory $memory)))
  (core func $write-core (canon lower (func $blocking-write-and-flush) (memory $memory)))
  (core func $drop-stream-core (canon resource.drop $output-stream))
  (core func $drop-request-core (canon resource.drop $incoming-request))
  (core instance $host
    (export "fields-new" (func $fields-new-core))
    (export "response-new" (func $response-new-core))
    (export "response-body" (func $response-body-core))
    (export "body-write" (func $body-write-core))
    (export "body-finish" (func $body-finish-core))
    (export "outparam-set" (func $outparam-set-core))
    (export "write" (func $write-core))
    (export "drop-stream" (func $drop-stream-core))
    (export "drop-request" (func $drop-request-core)))

  ;; ---- the guest code ----
  (core module $main
    (import "env" "memory" (memory 1))
    (import "host" "fields-new" (func $fields-new (result i32)))
    (import "host" "response-new" (func $response-new (param i32) (result i32)))
    ;; (self, return-area)
    (import "host" "response-body" (func $response-body (param i32 i32)))
    ;; (self, return-area)
    (import "host" "body-write" (func $body-write (param i32 i32)))
    ;; (body, trailers-is-some, trailers, return-area)
    (import "host" "body-finish" (func $body-finish (param i32 i32 i32 i32)))
    ;; (outparam, result-tag, response-or-error-tag, six flattened error-code payload slots)
    (import "host" "outparam-set"
      (func $outparam-set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
    ;; (stream, bytes-ptr, bytes-len, return-area)
    (import "host" "write" (func $write (param i32 i32 i32 i32)))
    (import "host" "drop-stream" (func $drop-stream (param i32)))
    (import "host" "drop-request" (func $drop-request (param i32)))

    ;; The return area: a result's tag at 16, its payload at 20.
    (global $ret i32 (i32.const 16))

    ;; Trap unless the result in the return area is `ok`; return its i32 payload.
    (func $ok-payload (result i32)
      (if (i32.load8_u (global.get $ret)) (then unreachable))
      (i32.load (i32.add (global.get $ret) (i32.const 4))))

    (func (export "handle") (param $request i32) (param $response-out i32)
      (local $response i32) (local $body i32) (local $stream i32)
      (local.set $response (call $response-new (call $fields-new)))
      (call $response-body (local.get $response) (global.get $ret))
      (local.set $body (call $ok-payload))
      (call $outparam-set (local.get $response-out) (i32.const 0) (local.get $response)
        (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
      (call $body-write (local.get $body) (global.get $ret))
      (local.set $stream (call $ok-payload))
      (call $write (local.get $stream) (i32.const 64) (i32.const 5) (global.get $ret))
      (drop (call $ok-payload))
      (call $drop-stream (local.get $stream))
      (call $body-finish (local.get $body) (i32.const 0) (i32.const 0) (global.get $ret))
      (drop (call $ok-payload))
      (call $drop-request (local.get $request))))
  (core instance $main-instance
    (instantiate $main
      (with "env" (instance (export "memory" (memory $memory))))
      (with "host" (instance $host))))

  ;; ---- the export: wasi:http/incoming-handler@0.2.0#handle ----
  (func $handle
    (param "request" (own $incoming-request))
    (param "response-out" (own $response-outparam))
    (canon lift (core func $main-instance "handle")))
  (instance $incoming-handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $incoming-handler)))
