"""A local, stateful emulator of Bandwidth's Dashboard subscriptions API (docs/bandwidth-api.md §1-§12).

Modules, one job each:
    store        SQLite state, a package split by what it stores (accounts, tokens, subscriptions,
                 deliveries, request log; the clock offset in its metadata)
    clock        real time + a test-controlled offset
    auth         Basic and OAuth2 Bearer credentials -> account
    api          the subscriptions routes (pure request -> response)
    faults       fault rules (status, 429, delay, dropped connections, malformed bodies)
    delivery     notifications: matching, challenge-flow sending, delivery records, long-poll
    control      the `/_emulator/` control plane
    connections  TCP connection accounting (keep-alive proof)
    httpd        the threading HTTP/1.1 server tying the above to sockets
    emulator     `Emulator`, the in-process context manager
    server       the `bandwidth-subscriptions emulator` command
"""

from __future__ import annotations

from .emulator import DEFAULT_ACCOUNTS, Emulator

__all__ = ["DEFAULT_ACCOUNTS", "Emulator"]
