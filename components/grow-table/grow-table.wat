;; grow-table: a guest that makes the host allocate memory outside its linear memory (tests only).
;;
;; Its handler grows a funcref table by 10,000,000 elements at a time, up to 20 times (200
;; million elements, about 1.6 GB of host memory if nothing stops it), until `table.grow`
;; fails, then returns without setting a response (so the request is a 500). Tables live in
;; host memory, not in the guest's linear memory, so `--max-instance-memory` alone does not
;; bound them; spin-py caps table elements per store (docs/security.md, "Memory").
(component $grow-table
  (import "wasi:http/types@0.2.0" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))))
  (alias export $types "incoming-request" (type $incoming-request))
  (alias export $types "response-outparam" (type $response-outparam))

  (core module $guest
    (table $t 1 funcref)
    (func (export "handle") (param i32 i32)
      (local $round i32)
      (block $done
        (loop $grow
          (br_if $done (i32.eq (table.grow $t (ref.null func) (i32.const 10000000))
                               (i32.const -1)))
          (local.set $round (i32.add (local.get $round) (i32.const 1)))
          (br_if $grow (i32.lt_u (local.get $round) (i32.const 20)))))))
  (core instance $instance (instantiate $guest))

  (func $handle
    (param "request" (own $incoming-request))
    (param "response-out" (own $response-outparam))
    (canon lift (core func $instance "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $handler)))
