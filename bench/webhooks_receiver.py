"""Receiver-kit figures: parse rate, in-process auth+parse+dispatch rate, and loopback challenge round trips.

Run: .venv/bin/python bench/webhooks_receiver.py   (a few seconds; loopback only)
"""

from __future__ import annotations

import base64
import statistics
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from bandwidth_provider.challenge import post_with_challenge
from bandwidth_provider.webhooks import Receiver, make_wsgi_app, parse_notification

BODY = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Notification><Status>COMPLETE</Status><SubscriptionId>e73f1bf9-f300-4f72-9eea-e2f4ea32e024</SubscriptionId>
<Message>Created a new number order for 1 number from BLACKSHEAR, GA</Message>
<OrderId>49df4009-b183-4642-b989-8d78ed6bacb9</OrderId><OrderType>orders</OrderType>
<CompletedTelephoneNumbers><TelephoneNumber>9122087804</TelephoneNumber></CompletedTelephoneNumbers>
<LastModifiedDate>2024-02-22T20:40:47.539Z</LastModifiedDate></Notification>"""
USER, PASSWORD = "bandwidth", "bench-password"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def rate(label: str, count: int, fn: object) -> None:
    assert callable(fn)
    started = time.perf_counter()
    for _ in range(count):
        fn()
    elapsed = time.perf_counter() - started
    print(f"{label:<48} {count / elapsed:>10,.0f}/s  ({elapsed / count * 1e6:,.1f} us each)")


def main() -> None:
    rate("parse_notification", 5000, lambda: parse_notification(BODY))
    receiver = Receiver(lambda n: None, username=USER, password=PASSWORD)
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    rate("Receiver.respond (auth + parse + handler)", 5000, lambda: receiver.respond("POST", auth, BODY))
    rate("Receiver.respond (challenge, no credentials)", 5000, lambda: receiver.respond("POST", None, BODY))

    handled = []
    server = make_server(
        "127.0.0.1", 0, make_wsgi_app(handled.append, username=USER, password=PASSWORD), handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/bandwidth"
    samples = []
    try:
        for _ in range(200):
            started = time.perf_counter()
            result = post_with_challenge(url, BODY, username=USER, password=PASSWORD, timeout=5)
            samples.append(time.perf_counter() - started)
            assert result.accepted and len(result.attempts) == 2
    finally:
        server.shutdown()
        server.server_close()
    assert len(handled) == 200
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(
        f"challenge delivery over loopback (wsgiref, 2 POSTs): n=200 p50 {statistics.median(samples) * 1000:.2f} ms"
        f"  p95 {p95 * 1000:.2f} ms  ({len(samples) / sum(samples):,.0f} deliveries/s)"
    )


if __name__ == "__main__":
    main()
