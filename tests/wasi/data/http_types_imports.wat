;; A component that only imports `wasi:http/types@0.2.0` (every function, exactly as the WIT
;; declares it) and `wasi:http/outgoing-handler@0.2.0`. It has no code: tests read the import
;; types from it to lower host return values with wasmtime-py's real conversion code, and link
;; it against the host to check every import is defined with matching types.
(component $http-types-imports
  (import "wasi:io/poll@0.2.0" (instance $poll
    (export "pollable" (type (sub resource)))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:io/error@0.2.0" (instance $error
    (export "error" (type (sub resource)))))
  (alias export $error "error" (type $io-error))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (export "input-stream" (type (sub resource)))
    (export "output-stream" (type (sub resource)))))
  (alias export $streams "input-stream" (type $input-stream))
  (alias export $streams "output-stream" (type $output-stream))

  (import "wasi:http/types@0.2.0" (instance $types
    (alias outer $http-types-imports $pollable (type $pollable-outer))
    (export "pollable" (type $pollable (eq $pollable-outer)))
    (alias outer $http-types-imports $io-error (type $io-error-outer))
    (export "io-error" (type $io-error (eq $io-error-outer)))
    (alias outer $http-types-imports $input-stream (type $input-stream-outer))
    (export "input-stream" (type $input-stream (eq $input-stream-outer)))
    (alias outer $http-types-imports $output-stream (type $output-stream-outer))
    (export "output-stream" (type $output-stream (eq $output-stream-outer)))

    (type $method-def (variant
      (case "get") (case "head") (case "post") (case "put") (case "delete") (case "connect")
      (case "options") (case "trace") (case "patch") (case "other" string)))
    (export "method" (type $method (eq $method-def)))
    (type $scheme-def (variant (case "HTTP") (case "HTTPS") (case "other" string)))
    (export "scheme" (type $scheme (eq $scheme-def)))
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
    (export "outgoing-request" (type $outgoing-request (sub resource)))
    (export "request-options" (type $request-options (sub resource)))
    (export "response-outparam" (type $response-outparam (sub resource)))
    (export "incoming-response" (type $incoming-response (sub resource)))
    (export "incoming-body" (type $incoming-body (sub resource)))
    (export "future-trailers" (type $future-trailers (sub resource)))
    (export "outgoing-response" (type $outgoing-response (sub resource)))
    (export "outgoing-body" (type $outgoing-body (sub resource)))
    (export "future-incoming-response" (type $future-incoming-response (sub resource)))

    (export "http-error-code" (func
      (param "err" (borrow $io-error)) (result (option $error-code))))

    (export "[constructor]fields" (func (result (own $fields))))
    (export "[static]fields.from-list" (func
      (param "entries" (list (tuple string (list u8))))
      (result (result (own $fields) (error $header-error)))))
    (export "[method]fields.get" (func
      (param "self" (borrow $fields)) (param "name" string) (result (list (list u8)))))
    (export "[method]fields.has" (func
      (param "self" (borrow $fields)) (param "name" string) (result bool)))
    (export "[method]fields.set" (func
      (param "self" (borrow $fields)) (param "name" string) (param "value" (list (list u8)))
      (result (result (error $header-error)))))
    (export "[method]fields.delete" (func
      (param "self" (borrow $fields)) (param "name" string)
      (result (result (error $header-error)))))
    (export "[method]fields.append" (func
      (param "self" (borrow $fields)) (param "name" string) (param "value" (list u8))
      (result (result (error $header-error)))))
    (export "[method]fields.entries" (func
      (param "self" (borrow $fields)) (result (list (tuple string (list u8))))))
    (export "[method]fields.clone" (func (param "self" (borrow $fields)) (result (own $fields))))

    (export "[method]incoming-request.method" (func
      (param "self" (borrow $incoming-request)) (result $method)))
    (export "[method]incoming-request.path-with-query" (func
      (param "self" (borrow $incoming-request)) (result (option string))))
    (export "[method]incoming-request.scheme" (func
      (param "self" (borrow $incoming-request)) (result (option $scheme))))
    (export "[method]incoming-request.authority" (func
      (param "self" (borrow $incoming-request)) (result (option string))))
    (export "[method]incoming-request.headers" (func
      (param "self" (borrow $incoming-request)) (result (own $fields))))
    (export "[method]incoming-request.consume" (func
      (param "self" (borrow $incoming-request)) (result (result (own $incoming-body)))))

    (export "[constructor]outgoing-request" (func
      (param "headers" (own $fields)) (result (own $outgoing-request))))
    (export "[method]outgoing-request.body" (func
      (param "self" (borrow $outgoing-request)) (result (result (own $outgoing-body)))))
    (export "[method]outgoing-request.method" (func
      (param "self" (borrow $outgoing-request)) (result $method)))
    (export "[method]outgoing-request.set-method" (func
      (param "self" (borrow $outgoing-request)) (param "method" $method) (result (result))))
    (export "[method]outgoing-request.path-with-query" (func
      (param "self" (borrow $outgoing-request)) (result (option string))))
    (export "[method]outgoing-request.set-path-with-query" (func
      (param "self" (borrow $outgoing-request)) (param "path-with-query" (option string))
      (result (result))))
    (export "[method]outgoing-request.scheme" (func
      (param "self" (borrow $outgoing-request)) (result (option $scheme))))
    (export "[method]outgoing-request.set-scheme" (func
      (param "self" (borrow $outgoing-request)) (param "scheme" (option $scheme))
      (result (result))))
    (export "[method]outgoing-request.authority" (func
      (param "self" (borrow $outgoing-request)) (result (option string))))
    (export "[method]outgoing-request.set-authority" (func
      (param "self" (borrow $outgoing-request)) (param "authority" (option string))
      (result (result))))
    (export "[method]outgoing-request.headers" (func
      (param "self" (borrow $outgoing-request)) (result (own $fields))))

    (export "[constructor]request-options" (func (result (own $request-options))))
    (export "[method]request-options.connect-timeout" (func
      (param "self" (borrow $request-options)) (result (option u64))))
    (export "[method]request-options.set-connect-timeout" (func
      (param "self" (borrow $request-options)) (param "duration" (option u64))
      (result (result))))
    (export "[method]request-options.first-byte-timeout" (func
      (param "self" (borrow $request-options)) (result (option u64))))
    (export "[method]request-options.set-first-byte-timeout" (func
      (param "self" (borrow $request-options)) (param "duration" (option u64))
      (result (result))))
    (export "[method]request-options.between-bytes-timeout" (func
      (param "self" (borrow $request-options)) (result (option u64))))
    (export "[method]request-options.set-between-bytes-timeout" (func
      (param "self" (borrow $request-options)) (param "duration" (option u64))
      (result (result))))

    (export "[static]response-outparam.set" (func
      (param "param" (own $response-outparam))
      (param "response" (result (own $outgoing-response) (error $error-code)))))

    ;; unstable in 0.2.x (feature informational-outbound-responses); the host defines it anyway
    (export "[method]response-outparam.send-informational" (func
      (param "self" (borrow $response-outparam)) (param "status" u16) (param "headers" (own $fields))
      (result (result (error $error-code)))))

    (export "[method]incoming-response.status" (func
      (param "self" (borrow $incoming-response)) (result u16)))
    (export "[method]incoming-response.headers" (func
      (param "self" (borrow $incoming-response)) (result (own $fields))))
    (export "[method]incoming-response.consume" (func
      (param "self" (borrow $incoming-response)) (result (result (own $incoming-body)))))

    (export "[method]incoming-body.stream" (func
      (param "self" (borrow $incoming-body)) (result (result (own $input-stream)))))
    (export "[static]incoming-body.finish" (func
      (param "this" (own $incoming-body)) (result (own $future-trailers))))

    (export "[method]future-trailers.subscribe" (func
      (param "self" (borrow $future-trailers)) (result (own $pollable))))
    (export "[method]future-trailers.get" (func
      (param "self" (borrow $future-trailers))
      (result (option (result (result (option (own $fields)) (error $error-code)))))))

    (export "[constructor]outgoing-response" (func
      (param "headers" (own $fields)) (result (own $outgoing-response))))
    (export "[method]outgoing-response.status-code" (func
      (param "self" (borrow $outgoing-response)) (result u16)))
    (export "[method]outgoing-response.set-status-code" (func
      (param "self" (borrow $outgoing-response)) (param "status-code" u16) (result (result))))
    (export "[method]outgoing-response.headers" (func
      (param "self" (borrow $outgoing-response)) (result (own $fields))))
    (export "[method]outgoing-response.body" (func
      (param "self" (borrow $outgoing-response)) (result (result (own $outgoing-body)))))

    (export "[method]outgoing-body.write" (func
      (param "self" (borrow $outgoing-body)) (result (result (own $output-stream)))))
    (export "[static]outgoing-body.finish" (func
      (param "this" (own $outgoing-body)) (param "trailers" (option (own $fields)))
      (result (result (error $error-code)))))

    (export "[method]future-incoming-response.subscribe" (func
      (param "self" (borrow $future-incoming-response)) (result (own $pollable))))
    (export "[method]future-incoming-response.get" (func
      (param "self" (borrow $future-incoming-response))
      (result (option (result (result (own $incoming-response) (error $error-code)))))))))
  (alias export $types "outgoing-request" (type $outgoing-request))
  (alias export $types "request-options" (type $request-options))
  (alias export $types "future-incoming-response" (type $future-incoming-response))
  (alias export $types "error-code" (type $error-code))

  (import "wasi:http/outgoing-handler@0.2.0" (instance $outgoing-handler
    (alias outer $http-types-imports $outgoing-request (type $outgoing-request-outer))
    (export "outgoing-request" (type $outgoing-request (eq $outgoing-request-outer)))
    (alias outer $http-types-imports $request-options (type $request-options-outer))
    (export "request-options" (type $request-options (eq $request-options-outer)))
    (alias outer $http-types-imports $future-incoming-response (type $fir-outer))
    (export "future-incoming-response" (type $fir (eq $fir-outer)))
    (alias outer $http-types-imports $error-code (type $error-code-outer))
    (export "error-code" (type $error-code (eq $error-code-outer)))
    (export "handle" (func
      (param "request" (own $outgoing-request))
      (param "options" (option (own $request-options)))
      (result (result (own $fir) (error $error-code))))))))
