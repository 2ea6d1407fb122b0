"""Where a browser login may land (`next`): a page of this deployment, never another app on the same
origin, another origin, or a path a browser would resolve elsewhere. Every variant, with the answer
written out; `[api] base_url` is set per case as Airflow reads it (environment, at call time)."""

from __future__ import annotations

import pytest

from astronomer_plugins.auth.login import safe_next

ROOT = "http://127.0.0.1:8080"
PREFIXED = "https://host.example.com/some/prefix"

CASES = [
    # (base_url, next, where the login lands)
    (ROOT, None, "/"),
    (ROOT, "", "/"),
    (ROOT, "/", "/"),
    (ROOT, "/dags/etl_orders", "/dags/etl_orders"),
    (ROOT, "/dags/etl_orders/grid?tab=code#top", "/dags/etl_orders/grid?tab=code#top"),
    (ROOT, "/dags/my.dag.v2", "/dags/my.dag.v2"),
    (ROOT, "http://127.0.0.1:8080/dags", "http://127.0.0.1:8080/dags"),  # same origin, absolute
    # other origins, scheme-relative, scheme tricks
    (ROOT, "https://evil.example.com/", "/"),
    (ROOT, "http://127.0.0.1:9999/dags", "/"),  # same host, other port: another origin
    (ROOT, "https://127.0.0.1:8080/dags", "/"),  # other scheme: another origin
    (ROOT, "//evil.example.com/x", "/"),
    (ROOT, "///evil.example.com/x", "/"),
    (ROOT, "http:evil.example.com", "/"),
    (ROOT, "javascript:alert(1)", "/"),
    (ROOT, "data:text/html,hi", "/"),
    (ROOT, "dags/relative", "/"),
    # backslashes, raw and encoded (browsers read \ as /)
    (ROOT, "/\\evil.example.com", "/"),
    (ROOT, "\\\\evil.example.com", "/"),
    (ROOT, "/dags\\..\\x", "/"),
    (ROOT, "/%5cevil.example.com", "/"),
    (ROOT, "/%5Cevil.example.com", "/"),
    # encoded slashes
    (ROOT, "/%2fevil.example.com", "/"),
    (ROOT, "/%2Fevil.example.com", "/"),
    (ROOT, "/dags%2f..%2fx", "/"),
    # dot segments, raw and encoded, and encoded twice
    (ROOT, "/dags/../x", "/"),
    (ROOT, "/./dags", "/"),
    (ROOT, "/%2e%2e/x", "/"),
    (ROOT, "/%2E%2E/x", "/"),
    (ROOT, "/.%2e/x", "/"),
    (ROOT, "/%2e./x", "/"),
    (ROOT, "/%2e/x", "/"),
    (ROOT, "/%252e%252e/x", "/"),
    # control characters and whitespace (browsers drop tab/newline: /\t/evil is //evil)
    (ROOT, "/\t/evil.example.com", "/"),
    (ROOT, "/%09/evil.example.com", "/"),
    (ROOT, "/dags\r\nSet-Cookie: x=1", "/"),
    (ROOT, "/%0d%0aSet-Cookie:x=1", "/"),
    (ROOT, "/%00", "/"),
    # behind a path prefix: only pages under it
    (PREFIXED, None, "/some/prefix/"),
    (PREFIXED, "/some/prefix", "/some/prefix"),
    (PREFIXED, "/some/prefix/", "/some/prefix/"),
    (PREFIXED, "/some/prefix/dags/etl_orders", "/some/prefix/dags/etl_orders"),
    (PREFIXED, "https://host.example.com/some/prefix/dags", "https://host.example.com/some/prefix/dags"),
    (PREFIXED, "/", "/some/prefix/"),  # the origin's root is another app
    (PREFIXED, "/dags/etl_orders", "/some/prefix/"),
    (PREFIXED, "/some/prefixed-other/app", "/some/prefix/"),
    (PREFIXED, "/some/other/cb", "/some/prefix/"),
    (PREFIXED, "https://host.example.com/some/other", "/some/prefix/"),
    (PREFIXED, "http://host.example.com/some/prefix/dags", "/some/prefix/"),  # downgraded scheme
    (PREFIXED, "/some/prefix/../other/cb", "/some/prefix/"),
    (PREFIXED, "/some/prefix/%2e%2e/other/cb", "/some/prefix/"),
    (PREFIXED, "/some/prefix/%2E%2E/other/cb", "/some/prefix/"),
    (PREFIXED, "/some/prefix/.%2e/other/cb", "/some/prefix/"),
    (PREFIXED, "/some/prefix/%2e./other/cb", "/some/prefix/"),
    (PREFIXED, "/some/prefix/..%2fother", "/some/prefix/"),
    (PREFIXED, "/some/prefix/..%2Fother", "/some/prefix/"),
    (PREFIXED, "/some/prefix/..\\other", "/some/prefix/"),
    (PREFIXED, "/some/prefix/..%5cother", "/some/prefix/"),
    (PREFIXED, "//host.example.com/some/prefix/dags", "/some/prefix/"),
    (PREFIXED, "https://evil.example.com/some/prefix/dags", "/some/prefix/"),
]


@pytest.mark.parametrize(("base", "target", "expected"), CASES)
def test_next_lands_on_a_page_of_this_deployment(monkeypatch: pytest.MonkeyPatch, base: str, target: str | None, expected: str) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", base)
    assert safe_next(target) == expected
