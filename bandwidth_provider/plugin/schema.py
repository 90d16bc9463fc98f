"""The `bandwidth` package schema, built from the field table, the configuration sources and the identity.

Served by GetSchema (so `pulumi package get-schema`, `package add`/`gen-sdk`, YAML type checking and
`pulumi import` code generation see it), written to `bandwidth-plugin/schema.json` and turned into the SDKs
under `sdk/` by `scripts/gen_sdks.py`. Publisher, URLs and per-language package names come from
`bandwidth_provider.identity`; the four enumerated inputs are schema enums (IDE completion), while `check`
still validates them against the full catalog (other spellings it accepts stay accepted).
"""

from __future__ import annotations

import functools
import json
from importlib import metadata
from typing import Any

from .. import identity
from ..core.fields import FIELDS, Field
from ..settings import SOURCES

PACKAGE = identity.PACKAGE
SUBSCRIPTION = "bandwidth:index:Subscription"
PULUMI_REQUIREMENT = ">=3.216.0,<4.0.0"
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
    "max_requests_per_second": "At most this many API requests in any second, across all of the provider's "
    "concurrent calls (default: no limit).",
}
NUMBER_CONFIG = ("timeout", "max_requests_per_second")


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
            "type": "number" if name in NUMBER_CONFIG else "string",
            "description": CONFIG_DOCS[name],
            "defaultInfo": {"environment": [env]},
        }
        if name in SECRET_CONFIG:
            spec["secret"] = True
        variables[config_key(name)] = spec
    return variables


def enum_token(field: Field) -> str:
    return f"{PACKAGE}:index:{field.enum}"


def enum_member(value: str) -> str:
    """`externalTns` -> `ExternalTns`, `MESSAGING_LOST` -> `MessagingLost`: each language's codegen re-cases it."""
    parts = value.split("_") if value.isupper() or "_" in value else [value]
    return "".join(p[:1].upper() + (p[1:].lower() if value.isupper() else p[1:]) for p in parts)


def _property(field: Field, *, inputs: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": field.doc}
    if inputs and field.enum:
        # string or the enum: completion offers the enum, while every spelling `check` accepts stays valid
        # (TypeScript `Input<string | enums.OrderType>`, Python `Input[Union[str, OrderType]]`, YAML any string).
        spec["oneOf"] = [{"type": field.type}, {"$ref": f"#/types/{enum_token(field)}"}]
    else:
        spec["type"] = field.type
    if field.secret:
        spec["secret"] = True
    if inputs and field.replace:
        spec["willReplaceOnChanges"] = True
    return spec


def _enum_types() -> dict[str, Any]:
    return {
        enum_token(f): {
            "type": "string",
            "description": f"Values of `{f.wire}`: {f.doc}",
            "enum": [{"name": enum_member(v), "value": v} for v in f.choices],
        }
        for f in FIELDS
        if f.enum
    }


def _languages() -> dict[str, Any]:
    return {
        "python": {
            "packageName": identity.PYTHON_PACKAGE,
            "pyproject": {"enabled": True},
            "requires": {"pulumi": PULUMI_REQUIREMENT},
            "respectSchemaVersion": True,
        },
        "nodejs": {
            "packageName": identity.NPM_PACKAGE,
            "dependencies": {"@pulumi/pulumi": "^3.216.0"},
            "respectSchemaVersion": True,
        },
        "go": {
            "importBasePath": identity.GO_IMPORT_BASE_PATH,
            "generateResourceContainerTypes": True,
            "respectSchemaVersion": True,
        },
        "java": {"basePackage": identity.JAVA_BASE_PACKAGE},
        "csharp": {
            "rootNamespace": identity.CSHARP_ROOT_NAMESPACE,
            "packageReferences": {"Pulumi": "3.*"},
            "respectSchemaVersion": True,
        },
    }


def build() -> dict[str, Any]:
    inputs = {f.wire: _property(f, inputs=True) for f in FIELDS if not f.computed}
    outputs = {f.wire: _property(f, inputs=False) for f in FIELDS}
    config = _config_variables()
    return {
        "name": PACKAGE,
        "displayName": "Bandwidth",
        "version": version(),
        "description": "Bandwidth Dashboard API callback and e-mail subscriptions (number ordering and porting).",
        "keywords": ["bandwidth", "webhooks", "category/network", "kind/native"],
        "license": "Apache-2.0",
        "publisher": identity.PUBLISHER,
        "homepage": identity.HOMEPAGE,
        "repository": identity.REPOSITORY,
        "pluginDownloadURL": identity.PLUGIN_DOWNLOAD_URL,
        "logoUrl": identity.LOGO_URL,
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
        "types": _enum_types(),
        "language": _languages(),
    }


@functools.cache
def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m bandwidth_provider.plugin.schema > bandwidth-plugin/schema.json
    print(render(), end="")
