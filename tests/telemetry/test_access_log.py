"""The access log line (`--access-log`): fields, and escaping of what a client controls."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from spin_py.telemetry.access_log import access_line, escape

TRACE = 0x4BF92F3577B34DA6A3CE929D0E0E4736


def test_fields() -> None:
    request = make_mocked_request("GET", "/hello?name=x", headers={"X-Forwarded-For": "10.0.0.9"})
    line = access_line(request, 200, 23, 0.0042, TRACE)
    assert line == (
        '10.0.0.9 "GET /hello?name=x HTTP/1.1" 200 23 4.2ms '
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert access_line(request, None, None, 1.5, 0).endswith('" - - 1500.0ms trace_id=-')


def test_a_client_cannot_forge_a_line() -> None:
    assert escape('/a"b\\c\x1b[31m\x7f') == "/a\\x22b\\x5cc\\x1b[31m\\x7f"
    request = make_mocked_request("GET", '/x"%20y', headers={"X-Forwarded-For": 'evil"\x01'})
    line = access_line(request, 404, 0, 0.001, TRACE)
    assert line.startswith('evil\\x22\\x01 "GET /x\\x22%20y HTTP/1.1" 404 ')
