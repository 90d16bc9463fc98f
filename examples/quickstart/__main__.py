"""Quickstart: an order-type-wide callback subscription with credentials, and one port-in's subscription.

Stack config (set by scripts/quickstart.py, or by hand — see README):
  bandwidth:apiUrl, bandwidth:accountId, bandwidth:username, bandwidth:password (secret)
  callbackBase       where your webhook receiver lives (default https://hooks.example.com/bandwidth)
  callbackPassword   the Basic-auth password Bandwidth sends to your receiver (secret)
"""

import pulumi

from bandwidth_provider import Subscription

config = pulumi.Config()
callback_base = config.get("callbackBase") or "https://hooks.example.com/bandwidth"

orders = Subscription(
    "orders",
    order_type="orders",
    callback_url=f"{callback_base}/orders",
    callback_username="bandwidth",
    callback_password=config.require_secret("callbackPassword"),
    renew_before=30 * 86400,  # a scheduled `pulumi up` renews it when less than 30 days are left
)

port_in = Subscription(
    "port-in-ee456cfb",
    order_type="portins",
    order_id="ee456cfb-d237-4adc-b3f8-9db03d2e62a2",
    callback_url=f"{callback_base}/portins",
    expiry=14 * 86400,
)

pulumi.export("orders_subscription_id", orders.subscription_id)
pulumi.export("port_in_subscription_id", port_in.subscription_id)
pulumi.export("orders_expires_at", orders.expires_at)
