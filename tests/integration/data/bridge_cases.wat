;; bridge-cases: a wasi:http 0.2.0 handler in component text format whose behaviour is chosen by
;; the request method, to drive the request bridge through its edge cases without a language
;; runtime. Every case writes (at most) the 5-byte body `hello`.
;;
;;   GET      200, body `hello`, finished                       (the control case)
;;   POST     response-outparam.set(err(internal-error(none)))
;;   PUT      200 set without ever calling outgoing-response.body
;;   DELETE   200, `hello` written, the body dropped unfinished (corrupt: must be cut)
;;   PATCH    200, `hello` written, handle returns with the body neither finished nor dropped
;;   OPTIONS  200 with content-length 10, `hello` written, finish (returns an error: 5 != 10)
;;   TRACE    200 with content-length 10, `hello` written, handle returns without finishing
;;   other    like GET
(component $bridge-cases
  (import "wasi:io/error@0.2.0" (instance $io-error
    (export "error" (type (sub resource)))))
  (alias export $io-error "error" (type $error))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (alias outer $bridge-cases $error (type $error-outer))
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

  (import "wasi:http/types@0.2.0" (instance $types
    (alias outer $bridge-cases $output-stream (type $output-stream-outer))
    (export "output-stream" (type $out (eq $output-stream-outer)))
    (type $method-def (variant
      (case "get") (case "head") (case "post") (case "put") (case "delete") (case "connect")
      (case "options") (case "trace") (case "patch") (case "other" string)))
    (export "method" (type $method (eq $method-def)))
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
    (type $header-error-def (variant (case "invalid-syntax") (case "forbidden") (case "immutable")))
    (export "header-error" (type $header-error (eq $header-error-def)))
    (export "fields" (type $fields (sub resource)))
    (export "incoming-request" (type $incoming-request (sub resource)))
    (export "response-outparam" (type $response-outparam (sub resource)))
    (export "outgoing-response" (type $outgoing-response (sub resource)))
    (export "outgoing-body" (type $outgoing-body (sub resource)))
    (export "[constructor]fields" (func (result (own $fields))))
    (export "[static]fields.from-list" (func
      (param "entries" (list (tuple string (list u8))))
      (result (result (own $fields) (error $header-error)))))
    (export "[method]incoming-request.method" (func
      (param "self" (borrow $incoming-request)) (result $method)))
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
  (alias export $types "outgoing-body" (type $outgoing-body))
  (alias export $types "response-outparam" (type $response-outparam))
  (alias export $types "[constructor]fields" (func $fields-new))
  (alias export $types "[static]fields.from-list" (func $fields-from-list))
  (alias export $types "[method]incoming-request.method" (func $request-method))
  (alias export $types "[constructor]outgoing-response" (func $response-new))
  (alias export $types "[method]outgoing-response.body" (func $response-body))
  (alias export $types "[method]outgoing-body.write" (func $body-write))
  (alias export $types "[static]outgoing-body.finish" (func $body-finish))
  (alias export $types "[static]response-outparam.set" (func $outparam-set))

  ;; Memory: return area at 16; `hello` at 64; one list entry (content-length: 10) at 128, whose
  ;; name is at 200 and value at 220; allocations from 1024.
  (core module $memory-module
    (memory (export "memory") 1)
    (data (i32.const 64) "hello")
    (data (i32.const 128) "\c8\00\00\00\0e\00\00\00\dc\00\00\00\02\00\00\00")
    (data (i32.const 200) "content-length")
    (data (i32.const 220) "10")
    (global $next (mut i32) (i32.const 1024))
    (func (export "cabi_realloc")
      (param $old-ptr i32) (param $old-size i32) (param $align i32) (param $new-size i32)
      (result i32)
      (local $ptr i32)
      (local.set $ptr
        (i32.and
          (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $ptr) (local.get $new-size)))
      (if (i32.gt_u (global.get $next) (i32.const 65536)) (then unreachable))
      (local.get $ptr)))
  (core instance $memory-instance (instantiate $memory-module))
  (alias core export $memory-instance "memory" (core memory $memory))
  (alias core export $memory-instance "cabi_realloc" (core func $realloc))

  (core func $fields-new-core (canon lower (func $fields-new)))
  (core func $fields-from-list-core
    (canon lower (func $fields-from-list) (memory $memory) (realloc $realloc)))
  (core func $request-method-core
    (canon lower (func $request-method) (memory $memory) (realloc $realloc)))
  (core func $response-new-core (canon lower (func $response-new)))
  (core func $response-body-core (canon lower (func $response-body) (memory $memory)))
  (core func $body-write-core (canon lower (func $body-write) (memory $memory)))
  (core func $body-finish-core (canon lower (func $body-finish) (memory $memory) (realloc $realloc)))
  (core func $outparam-set-core (canon lower (func $outparam-set) (memory $memory)))
  (core func $write-core (canon lower (func $blocking-write-and-flush) (memory $memory)))
  (core func $drop-stream-core (canon resource.drop $output-stream))
  (core func $drop-body-core (canon resource.drop $outgoing-body))
  (core func $drop-request-core (canon resource.drop $incoming-request))
  (core instance $host
    (export "fields-new" (func $fields-new-core))
    (export "fields-from-list" (func $fields-from-list-core))
    (export "request-method" (func $request-method-core))
    (export "response-new" (func $response-new-core))
    (export "response-body" (func $response-body-core))
    (export "body-write" (func $body-write-core))
    (export "body-finish" (func $body-finish-core))
    (export "outparam-set" (func $outparam-set-core))
    (export "write" (func $write-core))
    (export "drop-stream" (func $drop-stream-core))
    (export "drop-body" (func $drop-body-core))
    (export "drop-request" (func $drop-request-core)))

  (core module $main
    (import "env" "memory" (memory 1))
    (import "host" "fields-new" (func $fields-new (result i32)))
    (import "host" "fields-from-list" (func $fields-from-list (param i32 i32 i32)))
    (import "host" "request-method" (func $request-method (param i32 i32)))
    (import "host" "response-new" (func $response-new (param i32) (result i32)))
    (import "host" "response-body" (func $response-body (param i32 i32)))
    (import "host" "body-write" (func $body-write (param i32 i32)))
    (import "host" "body-finish" (func $body-finish (param i32 i32 i32 i32)))
    (import "host" "outparam-set"
      (func $outparam-set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
    (import "host" "write" (func $write (param i32 i32 i32 i32)))
    (import "host" "drop-stream" (func $drop-stream (param i32)))
    (import "host" "drop-body" (func $drop-body (param i32)))
    (import "host" "drop-request" (func $drop-request (param i32)))

    (global $ret i32 (i32.const 16))

    (func $ok-payload (result i32)
      (if (i32.load8_u (global.get $ret)) (then unreachable))
      (i32.load (i32.add (global.get $ret) (i32.const 4))))

    ;; A response whose headers are empty, or `content-length: 10`.
    (func $new-response (param $with-length i32) (result i32)
      (if (result i32) (local.get $with-length)
        (then
          (call $fields-from-list (i32.const 128) (i32.const 1) (global.get $ret))
          (call $response-new (call $ok-payload)))
        (else (call $response-new (call $fields-new)))))

    (func $send-ok (param $response-out i32) (param $response i32)
      (call $outparam-set (local.get $response-out) (i32.const 0) (local.get $response)
        (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))

    ;; Set the response, write `hello`, drop the stream; return the (unfinished) body.
    (func $start-and-write (param $response-out i32) (param $with-length i32) (result i32)
      (local $response i32) (local $body i32) (local $stream i32)
      (local.set $response (call $new-response (local.get $with-length)))
      (call $response-body (local.get $response) (global.get $ret))
      (local.set $body (call $ok-payload))
      (call $send-ok (local.get $response-out) (local.get $response))
      (call $body-write (local.get $body) (global.get $ret))
      (local.set $stream (call $ok-payload))
      (call $write (local.get $stream) (i32.const 64) (i32.const 5) (global.get $ret))
      (drop (call $ok-payload))
      (call $drop-stream (local.get $stream))
      (local.get $body))

    (func $finish (param $body i32)
      (call $body-finish (local.get $body) (i32.const 0) (i32.const 0) (global.get $ret)))

    (func (export "handle") (param $request i32) (param $response-out i32)
      (local $method i32)
      (call $request-method (local.get $request) (global.get $ret))
      (local.set $method (i32.load8_u (global.get $ret)))
      (call $drop-request (local.get $request))
      (block $done
        (if (i32.eq (local.get $method) (i32.const 2))  ;; POST: err(internal-error(none))
          (then
            (call $outparam-set (local.get $response-out) (i32.const 1) (i32.const 38)
              (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
              (i32.const 0))
            (br $done)))
        (if (i32.eq (local.get $method) (i32.const 3))  ;; PUT: no body() at all
          (then
            (call $send-ok (local.get $response-out) (call $new-response (i32.const 0)))
            (br $done)))
        (if (i32.eq (local.get $method) (i32.const 4))  ;; DELETE: drop the body unfinished
          (then
            (call $drop-body (call $start-and-write (local.get $response-out) (i32.const 0)))
            (br $done)))
        (if (i32.eq (local.get $method) (i32.const 8))  ;; PATCH: leave the body open
          (then
            (drop (call $start-and-write (local.get $response-out) (i32.const 0)))
            (br $done)))
        (if (i32.eq (local.get $method) (i32.const 6))  ;; OPTIONS: finish short of the length
          (then
            (call $finish (call $start-and-write (local.get $response-out) (i32.const 1)))
            (br $done)))
        (if (i32.eq (local.get $method) (i32.const 7))  ;; TRACE: short and left open
          (then
            (drop (call $start-and-write (local.get $response-out) (i32.const 1)))
            (br $done)))
        (call $finish (call $start-and-write (local.get $response-out) (i32.const 0)))
        (drop (call $ok-payload)))))
  (core instance $main-instance
    (instantiate $main
      (with "env" (instance (export "memory" (memory $memory))))
      (with "host" (instance $host))))

  (func $handle
    (param "request" (own $incoming-request))
    (param "response-out" (own $response-outparam))
    (canon lift (core func $main-instance "handle")))
  (instance $incoming-handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $incoming-handler)))
