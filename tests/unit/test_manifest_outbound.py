"""`allowed_outbound_hosts` syntax and `allowed_http_hosts` conversion
(docs/compatibility.md#allowed_outbound_hosts)."""

from __future__ import annotations

import pytest

from spin_py.manifest.outbound import (
    AllowedHost,
    AllowedHostError,
    convert_allowed_http_hosts,
    parse_allowed_host,
)

VALID = [
    ("https://example.com", AllowedHost("https", "name", "example.com", (443, 444))),
    ("https://example.com/", AllowedHost("https", "name", "example.com", (443, 444))),
    ("http://example.com:8080", AllowedHost("http", "name", "example.com", (8080, 8081))),
    ("*://*:*", AllowedHost(None, "any", "*", None)),
    ("*://*.example.com:*", AllowedHost(None, "subdomain", "example.com", None)),
    ("http://self", AllowedHost("http", "self", "self", (80, 81))),
    ("https://self.alt", AllowedHost("https", "self", "self.alt", (443, 444))),
    ("redis://cache", AllowedHost("redis", "name", "cache", (6379, 6380))),
    ("postgres://db", AllowedHost("postgres", "name", "db", (5432, 5433))),
    ("mysql://db", AllowedHost("mysql", "name", "db", (3306, 3307))),
    ("mqtt://broker", AllowedHost("mqtt", "name", "broker", (1883, 1884))),
    ("tcp://10.0.0.1:22", AllowedHost("tcp", "ip", "10.0.0.1/32", (22, 23))),
    ("*://10.0.0.0/8:1000..2000", AllowedHost(None, "ip", "10.0.0.0/8", (1000, 2000))),
    ("http://[::1]:8080", AllowedHost("http", "ip", "::1/128", (8080, 8081))),
    ("http://[::1]", AllowedHost("http", "ip", "::1/128", (80, 81))),
    (
        "http://backend.spin.internal",
        AllowedHost("http", "name", "backend.spin.internal", (80, 81)),
    ),
]


@pytest.mark.parametrize(("entry", "expected"), VALID)
def test_valid_entries_parse(entry: str, expected: AllowedHost) -> None:
    assert parse_allowed_host(entry) == expected


INVALID = [
    ("example.com", "does not contain a scheme"),
    ("*", "is not an allowed outbound host format"),
    ("insecure:allow-all", "use '*://*:*' instead"),
    ("https://example.com/api", "has a path but is not allowed to"),
    ("https://example.com:443/api", "has a path but is not allowed to"),
    ("ftp://files.example.com", 'the scheme "ftp" does not have a known default port number'),
    ("https://example.com:http", 'port "http" is not a valid port number'),
    ("https://example.com:70000", 'port "70000" is not a valid port number'),
    ("https://example.com:1..x", 'port range "1..x" contains non-number'),
    ("h2c://example.com:80", 'scheme "h2c" contains non alphabetic character'),
    ("{http,https}://example.com", "scheme lists are not supported"),
    ("https://ex*ample.com", "wildcards are allowed only as subdomains"),
    ("https://*.ex*ample.com", "wildcards are allowed only as prefixes"),
    ("https://", "the host is empty"),
    ("https://exa mple.com", "not a domain name"),
]


@pytest.mark.parametrize(("entry", "fragment"), INVALID)
def test_invalid_entries_say_why(entry: str, fragment: str) -> None:
    with pytest.raises(AllowedHostError) as caught:
        parse_allowed_host(entry)
    assert fragment in str(caught.value)


def test_allowed_http_hosts_become_http_and_https_entries() -> None:
    hosts = ["example.com", "self", "http://api.example.com:8080/", "127.0.0.1:3000"]
    assert convert_allowed_http_hosts(hosts, allow_databases=False) == [
        "http://example.com",
        "https://example.com",
        "http://self",
        "http://api.example.com:8080",
        "https://api.example.com:8080",
        "http://127.0.0.1:3000",
        "https://127.0.0.1:3000",
    ]


def test_allow_all_and_database_defaults_of_version_1() -> None:
    assert convert_allowed_http_hosts(
        ["example.com", "insecure:allow-all"], allow_databases=True
    ) == [
        "redis://*:*",
        "mysql://*:*",
        "postgres://*:*",
        "http://*:*",
        "https://*:*",
        "http://self",
    ]


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("ftp://example.com", "isn't a valid host or host:port string"),
        ("example.com/path", "contains a path"),
        ("example.com:port", "isn't a valid host or host:port string"),
    ],
)
def test_invalid_allowed_http_hosts(entry: str, fragment: str) -> None:
    with pytest.raises(AllowedHostError) as caught:
        convert_allowed_http_hosts([entry], allow_databases=False)
    assert fragment in str(caught.value)
