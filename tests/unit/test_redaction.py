"""Issue 14 item 4: a URL's userinfo is never echoed, whatever the URL's shape.

Passwords are built from marker words joined by the characters that break naive URL parsing
(`/`, `?`, `#`, `@`, `:`, `%`), so any fragment of one that leaks shows up as a marker.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bandwidth_provider.client.urls import shown_url
from bandwidth_provider.display import redact_userinfo, shown, shown_arg, shown_origin, strip_userinfo

MARKERS = ("pwAlpha", "pwBravo", "pwCharlie", "pwDelta")
SEPARATORS = st.sampled_from(["/", "?", "#", "@", ":", "%", "//", "%2F", "?#", "/?#@:%", ""])


@st.composite
def passwords(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, len(MARKERS)))
    seps = draw(st.lists(SEPARATORS, min_size=n + 1, max_size=n + 1))
    return seps[0] + "".join(m + s for m, s in zip(MARKERS[:n], seps[1:], strict=True))


def shapes(password: str) -> list[str]:
    """The shapes the issue names, with the password raw and percent-encoded."""
    found = []
    for pw in (password, quote(password, safe="")):
        found += [
            f"https://user:{pw}@hooks.example.com/bw/x",
            f"htps://user:{pw}@host.example.com/api",
            f"user:{pw}@host.example.com/api",
            f"//user:{pw}@h.example.com",
            f"http://{pw}@h.example.com:8080/p?q=1#f",
            f"text before https://user:{pw}@h.example.com/x text after",
        ]
    found.append(quote(f"https://user:{password}@host.example.com/api", safe=""))
    return found


def leaked(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


@settings(max_examples=300, deadline=None)
@given(passwords())
def test_no_fragment_of_a_password_survives_any_message_helper(password: str) -> None:
    for url in shapes(password):
        for shown_text in (
            redact_userinfo(url),
            strip_userinfo(url),
            shown(url, 10_000),
            shown(url),
            shown_arg(url),
            shown_arg(url, quote=False),
            shown_url(url),
            shown_origin(url),
        ):
            assert leaked(shown_text) == [], (url, shown_text)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://u:p/w?#d@host/x", "https://***@host/x"),
        ("htps://user:pw@host", "htps://***@host"),
        ("user:pw@host/api", "***@host/api"),
        ("//u:p@h", "//***@h"),
        ("https%3A%2F%2Fu%3Ap%2Fw%40host", "https%3A%2F%2F***@host"),
    ],
)
def test_the_shapes_the_issue_names(url: str, redacted: str) -> None:
    assert redact_userinfo(url) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "ops@example.com",
        "https://hooks.example.com/bw/orders",
        "http://127.0.0.1:8765/api",
        "no URL here: just words",
    ],
)
def test_values_without_userinfo_are_left_alone(text: str) -> None:
    assert redact_userinfo(text) == text
    assert strip_userinfo(text) == text


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://hooks.example.com/bw/T0KEN?sig=T0KEN#T0KEN", "https://hooks.example.com/..."),
        ("https://u:p/w?#d@hooks.example.com:8443/T0KEN", "https://hooks.example.com:8443/..."),
        ("https://hooks.example.com?T0KEN", "https://hooks.example.com/..."),
        ("https://hooks.example.com\\T0KEN", "https://hooks.example.com/..."),
        ("hooks.example.com/T0KEN", "hooks.example.com/..."),
        ("ftp://hooks.example.com/T0KEN\x1b[2J", "ftp://hooks.example.com/..."),
        ("https://hooks.example.com/", "https://hooks.example.com/"),
        ("https://hooks.example.com", "https://hooks.example.com"),
    ],
)
def test_a_callback_url_is_shown_by_its_origin_only(url: str, origin: str) -> None:
    """What every message of both front ends shows of a callback URL (its path may carry a token)."""
    assert shown_origin(url) == repr(origin) and shown_origin(url, quote=False) == origin
