"""AWS Lambda entry point (`handler.lambda_handler`) for Bandwidth order notifications.

The function URL is public (authorization type NONE) because Bandwidth cannot sign AWS requests;
the receiver kit authenticates instead, with the Basic challenge Bandwidth expects. Credentials
come from environment variables that `__main__.py` sets from the stack's config (the password is a
Pulumi secret). The function refuses to start without them rather than run unauthenticated.
"""

from __future__ import annotations

import json
import logging
import os

from bandwidth_provider.webhooks import DuplicateDetector, Notification, make_lambda_handler

logger = logging.getLogger("bandwidth.receiver")
logger.setLevel(logging.INFO)


def on_notification(notification: Notification) -> None:
    """Replace with your own processing (enqueue, update a database, ...); raise to answer 500."""
    logger.info(
        "bandwidth notification %s",
        json.dumps(
            {
                "subscription_id": notification.subscription_id,
                "order_type": notification.order_type,
                "event_type": notification.event_type,
                "order_id": notification.order_id,
                "status": notification.status,
                "message": notification.message,
                "telephone_numbers": list(notification.telephone_numbers),
            }
        ),
    )


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value.strip():
        raise RuntimeError(f"{name} is not set; the receiver will not run without authentication")
    return value


lambda_handler = make_lambda_handler(
    on_notification,
    username=_required("BANDWIDTH_CALLBACK_USERNAME"),
    password=_required("BANDWIDTH_CALLBACK_PASSWORD"),
    # Per warm container only: enough to drop quick repeats, not a global guarantee.
    duplicates=DuplicateDetector(capacity=1000),
)
