"""The `bandwidth` package schema, built from the field table and the configuration sources.

Served by GetSchema (so `pulumi package get-schema`, `package add`/`gen-sdk`, YAML type checking and
`pulumi import` code generation see it) and written to `bandwidth-plugin/schema.json` for review.
"""

from __future__ import annotations

import functools
import json
from importlib import metadata
from typing import Any

from ..core.fields import FIELDS
from ..settings import SOURCES

PACKAGE = "bandwidth"
SUBSCRIPTION = "bandwidth:index:Subscription"
SECRET_CONFIG = ("password", "client_secret")
CONFIG_DOCS = {
    "api_url": "Dashboard API base URL including its prefix (default https://dashboard.bandwidth.com/api).",
    "account_id": "Bandwidth account id.",
    "username": "API user for Basic auth (legacy; prefer clientId/clientSecret).",
    "password": "API user's password.",
    "client_id": "OAuth2 client id (preferred).",
    "client_secret": "OAuth2 client secret.",
    "token_url": "OAuth2 token endpoint (default: Bandwidth's, or the emulator's for a loopback apiUrl).",
    "timeout": "Seconds one HTTP exchange may take (default 30).",
}


@functools.cache
def version() -> str:
    """The one version string: the installed distribution's, which pyproject.toml sets."""
    try:
        return metadata.version("bandwidth-pulumi")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def config_key(name: str) -> str:
    """`api_url` -> `apiUrl`: the key under `bandwidth:` in stack config."""
    return SOURCES[name][0].split(":", 1)[1]


def _config_variables() -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for name, (_key, env) in SOURCES.items():
        spec: dict[str, Any] = {
            "type": "number" if name == "timeout" else "string",
            "description": CONFIG_DOCS[name],
            "defaultInfo": {"environment": [env]},
        }
        if name in SECRET_CONFIG:
            spec["secret"] = True
        variables[config_key(name)] = spec
    return variables


def _property(field_type: str, doc: str, *, secret: bool = False, replace: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": field_type, "description": doc}
    if secret:
        spec["secret"] = True
    if replace:
        spec["willReplaceOnChanges"] = True
    return spec


def build() -> dict[str, Any]:
    inputs = {f.wire: _property(f.type, f.doc, secret=f.secret, replace=f.replace) for f in FIELDS if not f.computed}
    outputs = {f.wire: _property(f.type, f.doc, secret=f.secret) for f in FIELDS}
    config = _config_variables()
    return {
        "name": PACKAGE,
        "displayName": "Bandwidth",
        "version": version(),
        "description": "Bandwidth Dashboard API callback and e-mail subscriptions (number ordering and porting).",
        "keywords": ["bandwidth", "webhooks", "category/network", "kind/native"],
        "license": "Apache-2.0",
        # No "config.variables": the provider reads the same `bandwidth:*` stack keys without them, and
        # the pinned Node.js host generates a broken import for them (config/vars.ts -> "./utilities").
        "provider": {
            "description": "The Bandwidth provider: an account and its credentials (e.g. a second account or the "
            "local emulator).",
            "inputProperties": config,
        },
        "resources": {
            SUBSCRIPTION: {
                "description": "One Bandwidth subscription: an order type, one order, or an event type, notified "
                "at a callback URL or an e-mail address.",
                "inputProperties": inputs,
                "properties": outputs,
                "required": ["subscriptionId", "accountId"],
            }
        },
        "language": {
            "python": {"requires": {"pulumi": ">=3.216.0,<4.0.0"}},
            "nodejs": {"dependencies": {"@pulumi/pulumi": "^3.216.0"}},
        },
    }


@functools.cache
def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m bandwidth_provider.plugin.schema > bandwidth-plugin/schema.json
    print(render(), end="")
