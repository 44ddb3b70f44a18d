"""`allowed_outbound_hosts` matching, every form, allowed and denied
(docs/compatibility.md#allowed_outbound_hosts)."""

from __future__ import annotations

import pytest

from spin_py.manifest.outbound import AllowedHostError
from spin_py.outbound.policy import OutboundPolicy, describe, is_self_request

# (entries, url, allowed)
CASES: list[tuple[list[str], str, bool]] = [
    # scheme: one scheme, or *
    (["https://example.com"], "https://example.com/x", True),
    (["https://example.com"], "http://example.com/x", False),
    (["*://example.com:443"], "https://example.com/", True),
    (["*://example.com:443"], "http://example.com:443/", True),
    (["*://example.com:80"], "https://example.com/", False),
    # omitted port -> the scheme's well-known port, for entry and URL alike
    (["http://example.com"], "http://example.com/", True),
    (["http://example.com"], "http://example.com:80/", True),
    (["http://example.com"], "http://example.com:8080/", False),
    (["https://example.com"], "https://example.com:443/", True),
    (["https://example.com"], "https://example.com:8443/", False),
    (["redis://cache"], "redis://cache", True),
    (["redis://cache"], "redis://cache:6380", False),
    (["postgres://db"], "postgres://db:5432/app", True),
    (["mysql://db"], "mysql://db:3306", True),
    (["mqtt://broker"], "mqtt://broker:1883", True),
    (["mqtt://broker"], "mqtt://broker:8883", False),
    (["tcp://10.0.0.1:22"], "tcp://10.0.0.1:22", True),
    (["tcp://10.0.0.1:22"], "tcp://10.0.0.1", False),  # no default port for tcp
    (["tcp://10.0.0.1:*"], "tcp://10.0.0.1", True),
    # port: *, number, range a..b (end excluded, as Rust's a..b)
    (["http://example.com:*"], "http://example.com:1234/", True),
    (["http://example.com:8080"], "http://example.com:8081/", False),
    (["http://example.com:8000..8010"], "http://example.com:8000/", True),
    (["http://example.com:8000..8010"], "http://example.com:8009/", True),
    (["http://example.com:8000..8010"], "http://example.com:8010/", False),
    (["http://example.com:8000..8010"], "http://example.com:7999/", False),
    (["http://example.com:8000..8010"], "http://example.com/", False),
    # host *
    (["*://*:*"], "https://anything.example.org:1/", True),
    (["*://*:*"], "http://[2001:db8::1]:9/", True),
    (["https://*"], "https://a.b/", True),
    (["https://*"], "https://a.b:444/", False),
    # *.domain: any depth of subdomain, not the domain itself, never an IP
    (["http://*.example.com"], "http://a.example.com/", True),
    (["http://*.example.com"], "http://a.b.example.com/", True),
    (["http://*.example.com"], "http://example.com/", False),
    (["http://*.example.com"], "http://myexample.com/", False),
    (["http://*.example.com"], "http://a.example.com.evil.org/", False),
    (["http://*.example.com:8383"], "http://a.example.com/", False),
    (["*://*.1:*"], "http://127.0.0.1/", False),
    # domains: exact, case-insensitive
    (["http://example.com"], "http://www.example.com/", False),
    (["http://Example.COM"], "http://example.com/", True),
    (["http://example.com"], "http://EXAMPLE.com/", True),
    (["http://*.Example.com"], "http://A.EXAMPLE.COM/", True),
    (["http://localhost:3000"], "http://localhost:3000/", True),
    (["http://localhost:3000"], "http://127.0.0.1:3000/", False),
    # user info does not change the host
    (["http://example.com"], "http://user:pw@example.com/", True),
    (["http://example.com"], "http://example.com@evil.com/", False),
    # IP addresses
    (["http://127.0.0.1:8080"], "http://127.0.0.1:8080/", True),
    (["http://127.0.0.1:8080"], "http://127.0.0.2:8080/", False),
    (["http://127.0.0.1:8080"], "http://localhost:8080/", False),
    (["http://[::1]:8080"], "http://[::1]:8080/", True),
    (["http://[::1]:8080"], "http://[::2]:8080/", False),
    (["http://[::1]"], "http://[::1]/", True),
    # CIDR blocks (host bits allowed, as Spin truncates them)
    (["*://10.0.0.0/8:*"], "http://10.20.30.40:5/", True),
    (["*://10.0.0.0/8:*"], "http://11.0.0.1/", False),
    (["*://10.0.0.0/8:*"], "http://ten.example/", False),
    (["*://127.0.0.1/24:80"], "http://127.0.0.200/", True),
    (["*://127.0.0.1/24:80"], "http://127.0.1.1/", False),
    (["*://fd00::/8:*"], "http://[fd12::1]:9/", True),
    (["*://fd00::/8:*"], "http://[fe80::1]/", False),
    # self / self.alt: relative URLs and host self.alt only
    (["http://self"], "/api", True),
    (["http://self"], "http://self.alt/api", True),
    (["https://self.alt"], "/api", True),
    (["*://self:*"], "/x", True),
    (["*://*:*"], "/api", True),
    (["redis://self"], "/api", False),
    (["http://self"], "http://127.0.0.1:3000/", False),
    (["http://self"], "http://self/", False),
    (["http://example.com"], "/api", False),
    (["http://example.com"], "http://self.alt/api", False),
    # service chaining
    (["http://*.spin.internal"], "http://back.spin.internal/x", True),
    (["http://*.spin.internal"], "https://back.spin.internal/x", False),
    (["http://back.spin.internal"], "http://back.spin.internal/", True),
    (["http://back.spin.internal"], "http://front.spin.internal/", False),
    # several entries: any one may allow
    (["https://a.example", "http://b.example:8080"], "http://b.example:8080/", True),
    (["https://a.example", "http://b.example:8080"], "http://a.example/", False),
    # nothing allowed
    ([], "https://example.com/", False),
    ([], "/api", False),
]


@pytest.mark.parametrize(("entries", "url", "allowed"), CASES)
def test_allows(entries: list[str], url: str, allowed: bool) -> None:
    assert OutboundPolicy.build(entries).allows(url) is allowed


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert sum(1 for *_, allowed in CASES if allowed) >= 20
    assert sum(1 for *_, allowed in CASES if not allowed) >= 20


VARIABLES = {"host": "api.example.com", "port": "8443", "empty": "", "bad": "nope"}


def resolve(template: str) -> str:
    """A minimal `{{ var }}` resolver over VARIABLES (KeyError for a missing one)."""
    out = template
    while "{{" in out:
        start = out.index("{{")
        end = out.index("}}", start)
        out = out[:start] + VARIABLES[out[start + 2 : end].strip()] + out[end + 2 :]
    return out


@pytest.mark.parametrize(
    ("entries", "url", "allowed"),
    [
        (["https://{{ host }}"], "https://api.example.com/v1", True),
        (["https://{{ host }}"], "https://other.example.com/v1", False),
        (["https://{{host}}:{{ port }}"], "https://api.example.com:8443/", True),
        (["https://{{host}}:{{ port }}"], "https://api.example.com/", False),
        (["{{ empty }}", "https://{{ host }}"], "https://api.example.com/", True),
    ],
)
def test_templates_are_resolved(entries: list[str], url: str, allowed: bool) -> None:
    assert OutboundPolicy.build(entries, resolve).allows(url) is allowed


@pytest.mark.parametrize("entry", ["{{ empty }}", "http://{{ empty }}", "https://{{ empty }}"])
def test_entries_resolving_to_nothing_are_skipped(entry: str) -> None:
    policy = OutboundPolicy.build([entry], resolve)
    assert policy.rules == ()
    assert not policy.allows("https://example.com/")


def test_template_resolving_to_a_bad_entry_is_an_error() -> None:
    with pytest.raises(AllowedHostError, match="does not contain a scheme"):
        OutboundPolicy.build(["{{ bad }}"], resolve)


def test_template_without_resolver_is_an_error() -> None:
    with pytest.raises(AllowedHostError, match="template"):
        OutboundPolicy.build(["https://{{ host }}"])


def test_missing_variable_propagates() -> None:
    with pytest.raises(KeyError):
        OutboundPolicy.build(["https://{{ nope }}"], resolve)


@pytest.mark.parametrize("entry", ["example.com", "insecure:allow-all", "https://a.com/path"])
def test_malformed_literal_entries_are_rejected(entry: str) -> None:
    with pytest.raises(AllowedHostError):
        OutboundPolicy.build([entry])


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("https://example.com/x?y=1", "https://example.com"),
        ("https://example.com:443/x", "https://example.com"),
        ("http://example.com:8080/x?y", "http://example.com:8080"),
        ("HTTP://Example.COM/", "http://example.com"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("http://user:pw@example.com/", "http://example.com"),
        ("/relative", "http://self"),
        ("http://self.alt/x", "http://self"),
        ("https://self.alt/x", "https://self"),
    ],
)
def test_describe(url: str, described: str) -> None:
    assert describe(url) == described


@pytest.mark.parametrize(
    ("url", "self_request"),
    [
        ("/a", True),
        ("http://self.alt/a", True),
        ("http://SELF.ALT/", True),
        ("http://self/", False),
    ],
)
def test_is_self_request(url: str, self_request: bool) -> None:
    assert is_self_request(url) is self_request


@pytest.mark.parametrize(
    "url", ["http://example.com:abc/", "http://[::1/", "http://example.com:70000/"]
)
def test_unparsable_urls_are_denied(url: str) -> None:
    assert not OutboundPolicy.build(["*://*:*"]).allows(url)
