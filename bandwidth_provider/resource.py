"""`Subscription`: the Pulumi resource users declare, and `SubscriptionArgs`, its input bag.

The type token `pulumi-python:dynamic/bandwidth:Subscription` is part of every user's stored URNs:
never change `module`/`name` below.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from .core.fields import SECRET_NAMES
from .provider import COMPUTED_OUTPUTS, INPUT_KEYS, SubscriptionProvider

SECRET_OUTPUTS = list(SECRET_NAMES)


@dataclass(kw_only=True)
class SubscriptionArgs:
    """Inputs of a Subscription; every field accepts a plain value, an Output or an Awaitable."""

    order_type: pulumi.Input[str] | None = None
    event_type: pulumi.Input[str] | None = None
    order_id: pulumi.Input[str] | None = None
    callback_url: pulumi.Input[str] | None = None
    email: pulumi.Input[str] | None = None
    expiry: pulumi.Input[int] | None = None
    callback_username: pulumi.Input[str] | None = None
    callback_password: pulumi.Input[str] | None = None
    public_key: pulumi.Input[str] | None = None
    number_format: pulumi.Input[str] | None = None
    digest: pulumi.Input[str] | None = None
    account_id: pulumi.Input[str] | None = None
    adopt_id: pulumi.Input[str] | None = None
    renew_before: pulumi.Input[int] | None = None


class Subscription(Resource, module="bandwidth", name="Subscription"):
    """A Bandwidth callback or e-mail subscription for one order type, one order, or one event type."""

    order_type: pulumi.Output[str | None]
    event_type: pulumi.Output[str | None]
    order_id: pulumi.Output[str | None]
    callback_url: pulumi.Output[str | None]
    email: pulumi.Output[str | None]
    expiry: pulumi.Output[int | None]
    callback_username: pulumi.Output[str | None]
    callback_password: pulumi.Output[str | None]
    public_key: pulumi.Output[str | None]
    number_format: pulumi.Output[str | None]
    digest: pulumi.Output[str | None]
    account_id: pulumi.Output[str]
    adopt_id: pulumi.Output[str | None]
    renew_before: pulumi.Output[int | None]
    subscription_id: pulumi.Output[str]
    status: pulumi.Output[str | None]
    expires_at: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: SubscriptionArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - set(INPUT_KEYS))
        if unknown:
            raise TypeError(
                f"Subscription {resource_name!r}: unknown input(s) {', '.join(unknown)}; "
                f"allowed inputs: {', '.join(INPUT_KEYS)}"
            )
        given = {f.name: getattr(args, f.name) for f in fields(SubscriptionArgs)} if args else {}
        given.update(kwargs)
        # Every output is seeded, so it exists in state even before the provider fills it in.
        props: dict[str, Any] = {key: None for key in INPUT_KEYS + COMPUTED_OUTPUTS}
        props.update({k: v for k, v in given.items() if v is not None})
        for name in SECRET_NAMES:
            if props[name] is not None:
                props[name] = pulumi.Output.secret(props[name])
        super().__init__(SubscriptionProvider(), resource_name, props, _options(resource_name, opts, props))


def _options(resource_name: str, opts: pulumi.ResourceOptions | None, props: dict[str, Any]) -> pulumi.ResourceOptions:
    """The user's options plus secret outputs and delete-before-replace (unless the user chose it).

    Bandwidth allows one subscription per target and destination: a create-before-delete replacement
    the engine starts itself (`--replace`, `replacement_trigger`, `replace_with`; no Diff is asked)
    would POST a duplicate while the old subscription lives, and with `adopt_id` it would adopt the
    resource's own subscription and then delete it. So delete-before-replace is the default, and
    `adopt_id` refuses an explicit create-before-delete.
    """
    chosen = opts.delete_before_replace if opts is not None else None
    if chosen is False and props.get("adopt_id") is not None:
        raise ValueError(
            f"Subscription {resource_name!r}: adopt_id cannot be combined with delete_before_replace=False; "
            "a create-before-delete replacement would adopt this resource's own subscription and then delete it"
        )
    extra = pulumi.ResourceOptions(
        additional_secret_outputs=SECRET_OUTPUTS, delete_before_replace=True if chosen is None else None
    )
    return pulumi.ResourceOptions.merge(opts, extra)
