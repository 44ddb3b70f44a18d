-- wrk script: every request is a POST with a 1 MiB body (bench.profile's echo load).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("spin-py!", 131072)
