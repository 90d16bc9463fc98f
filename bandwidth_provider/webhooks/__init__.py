"""Receiver kit: authenticate, parse and dispatch the notifications Bandwidth POSTs to a callback URL.

Bandwidth sends callback credentials only when challenged (docs/bandwidth-api.md §7.3): the first POST
has no `Authorization`, and only a 401 *carrying* `WWW-Authenticate` earns a resend with Basic
credentials. A receiver that answers a bare 401 silently loses every notification, and nothing is
ever retried. Every front end here (WSGI, AWS Lambda function URLs) shares one `Receiver`, so the
challenge is always issued correctly:

    method != POST                 -> 405 (Allow: POST)
    body larger than the limit     -> 413
    credentials missing or wrong   -> 401 + WWW-Authenticate: Basic realm="bandwidth"
    body not a <Notification>      -> 400
    a copy of it is being handled  -> waits for that outcome (DuplicateDetector), 503 if it runs on
    already handled (duplicates)   -> 200 without calling the handler
    handler raised                 -> 500 (the exception is logged, never echoed)
    otherwise                      -> 200 once the handler has returned

One module per job: `receiver.py` (`Receiver`, `Reply`, `parse_notification`), `duplicates.py`
(`DuplicateDetector`, `notification_key`), `adapters.py` (`make_wsgi_app`, `make_lambda_handler`).

`username=None, password=None` turns authentication off: anyone who learns the URL can then inject
notifications, so only do that behind another authenticating layer.
"""

from __future__ import annotations

from ..errors import NotificationError
from ..wire import Notification
from .adapters import make_lambda_handler, make_wsgi_app
from .duplicates import Claim, DuplicateDetector, notification_key
from .receiver import REALM, Receiver, Reply, parse_notification

__all__ = [
    "REALM",
    "Claim",
    "DuplicateDetector",
    "Notification",
    "NotificationError",
    "Receiver",
    "Reply",
    "make_lambda_handler",
    "make_wsgi_app",
    "notification_key",
    "parse_notification",
]
