"""The dynamic resource: a callback subscription with credentials and renew_before, and an e-mail one."""

import pulumi

from bandwidth_provider import Subscription

config = pulumi.Config()
orders = Subscription(
    "orders",
    order_type="orders",
    callback_url="https://hooks.example.com/bw/dynamic/orders",
    callback_username="bandwidth",
    callback_password=config.require_secret("callbackPassword"),
    number_format="E164",
    renew_before=30 * 86400,
)
lost = Subscription("lost", event_type="MESSAGING_LOST", email="noc@example.com", digest="DAILY")
pulumi.export("ordersId", orders.subscription_id)
pulumi.export("lostId", lost.subscription_id)
