"""Issue 14 item 2 with the real engine: inputs a program marks secret stay secret, on both front ends.

A YAML program on the `bandwidth` package wraps `callbackUrl` and `callbackUsername` in `fn::secret`; its
twin, a Python program on the dynamic resource, wraps them in `pulumi.Output.secret`. Through preview
(`--diff`), up, an update of the secret URL, refresh and destroy, neither value may appear in plain text
(nor in base64) in `pulumi stack export --show-secrets=false` or anything the CLI printed, and the
stored inputs and outputs hold them as secret objects.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bandwidth_provider.emulator import Emulator

from .conftest import API_PASSWORD, PASSPHRASE, REPO_ROOT, Stack, live
from .test_plugin_engine import plugin_env  # noqa: F401 - the session fixture that installs the plugin's venv

pytestmark = pytest.mark.timeout(900)

TOKEN = "UrlT0ken-e2e-6f1a9c"
USERNAME = "hook-user-e2e-52b7"
CALLBACK_PASSWORD = "Secret-Cb-Pass-e2e-0d4e"
SIG_KEY = "4dabf18193072939515e22adb298388d"


def url(version: str = "v1") -> str:
    return f"https://hooks.example.com/bw/{TOKEN}/{version}/orders"


def base64_forms(text: str) -> list[str]:
    """The stable middle of `text` base64-encoded at each of the three byte alignments."""
    forms = []
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + text.encode()).decode()
        forms.append(encoded[4 if pad else 0 : -4])
    return forms


def assert_never_plain(stack: Stack) -> None:
    exported = stack.export()
    printed = stack.all_output()
    for secret in (TOKEN, USERNAME, CALLBACK_PASSWORD, API_PASSWORD, PASSPHRASE):
        for form in (secret, *base64_forms(secret)):
            assert form not in exported, f"{secret!r} in `pulumi stack export`"
            assert form not in printed, f"{secret!r} in the CLI's output"


def stored(stack: Stack) -> list[dict[str, Any]]:
    resources = json.loads(stack.export())["deployment"]["resources"]
    return [r for r in resources if r["type"].endswith(("bandwidth:Subscription", "index:Subscription"))]


def assert_stored_secret(stack: Stack, url_key: str, user_key: str) -> None:
    (resource,) = stored(stack)
    for section in ("inputs", "outputs"):
        for key in (url_key, user_key):
            value = resource[section][key]
            assert isinstance(value, dict) and value.get(SIG_KEY), f"{section}.{key} is not stored as a secret"


def lifecycle(stack: Stack, emulator: Emulator, write: Any, url_key: str, user_key: str) -> None:
    stack.init()
    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    write(url())
    stack.run("preview", "--diff")
    stack.run("up", "--yes", "--diff")
    (sub,) = live(emulator)
    assert TOKEN in sub["callback_url"] and sub["has_password"], "Bandwidth got the real values"
    assert_stored_secret(stack, url_key, user_key)
    assert_never_plain(stack)

    write(url("v2"))
    stack.run("preview", "--diff")
    stack.run("up", "--yes", "--diff")
    assert live(emulator)[0]["callback_url"] == url("v2")
    stack.run("refresh", "--yes", "--diff")
    assert_stored_secret(stack, url_key, user_key)
    stack.run("preview", "--diff", "--expect-no-changes")
    assert_never_plain(stack)

    stack.run("destroy", "--yes")
    assert live(emulator) == []
    assert_never_plain(stack)


@pytest.mark.usefixtures("plugin_env")
def test_package_keeps_secret_inputs_secret(tmp_path: Path, toolchain: Any, e2e_emulator: Emulator) -> None:
    stack = Stack(tmp_path, toolchain, e2e_emulator)
    (stack.dir / "__main__.py").unlink()

    def write(callback_url: str) -> None:
        manifest = {
            "name": "bandwidth-e2e",  # the project the stack was created in
            "runtime": "yaml",
            "packages": {"bandwidth": str(REPO_ROOT / "bandwidth-plugin")},
            "config": {"callbackPassword": {"type": "string", "secret": True}},
            "resources": {
                "orders": {
                    "type": "bandwidth:Subscription",
                    "properties": {
                        "orderType": "orders",
                        "callbackUrl": {"fn::secret": callback_url},
                        "callbackUsername": {"fn::secret": USERNAME},
                        "callbackPassword": "${callbackPassword}",
                    },
                }
            },
        }
        (stack.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))

    lifecycle(stack, e2e_emulator, write, "callbackUrl", "callbackUsername")


DYNAMIC_PROGRAM = """\
from pathlib import Path

import pulumi
from bandwidth_provider import Subscription

config = pulumi.Config()
Subscription(
    "orders",
    order_type="orders",
    callback_url=pulumi.Output.secret((Path(__file__).parent / "url.txt").read_text()),
    callback_username=pulumi.Output.secret({username!r}),
    callback_password=config.require_secret("callbackPassword"),
)
"""


def test_dynamic_resource_keeps_secret_inputs_secret(tmp_path: Path, toolchain: Any, e2e_emulator: Emulator) -> None:
    """The twin: the engine re-marks the dynamic provider's outputs by name, so this holds already."""
    stack = Stack(tmp_path, toolchain, e2e_emulator)
    (stack.dir / "__main__.py").write_text(DYNAMIC_PROGRAM.format(username=USERNAME))
    assert sys.prefix in (stack.dir / "Pulumi.yaml").read_text()

    def write(callback_url: str) -> None:
        (stack.dir / "url.txt").write_text(callback_url)

    lifecycle(stack, e2e_emulator, write, "callback_url", "callback_username")
