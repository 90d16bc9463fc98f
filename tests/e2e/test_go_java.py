"""The `bandwidth` package from Go and Java programs, through the real engine and language hosts (issue 18).

The SDKs are the committed `sdk/go` (its own module, reached through a `replace` line; the Pulumi Go SDK from
the Go module proxy) and `sdk/java` (built and installed with Maven into the local repository; everything
else from Maven Central). Each language runs the TypeScript/YAML story of test_plugin_engine.py: preview with
0 API requests, up, preview with no changes, an in-place update, a replacement, refresh after an out-of-band
delete, import of an existing subscription, destroy, and no secret in `stack export` or anything printed.
The programs of `examples/go-subscriptions` and `examples/java-subscriptions` run as they are, and the
README shows them byte for byte.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bandwidth_provider.emulator import Emulator

from .conftest import ACCOUNT, API_PASSWORD, REPO_ROOT, live, ops, writes
from .test_plugin_engine import (  # noqa: F401
    CALLBACK_PASSWORD,
    PLUGIN,
    NativeStack,
    create_and_check,
    import_then_destroy,
    plugin_env,
    raw_client,
)

pytestmark = pytest.mark.timeout(1500)

SDK_GO, SDK_JAVA = REPO_ROOT / "sdk" / "go", REPO_ROOT / "sdk" / "java"
EXAMPLES = {"go": REPO_ROOT / "examples" / "go-subscriptions", "java": REPO_ROOT / "examples" / "java-subscriptions"}
PROGRAM_FILE = {"go": Path("main.go"), "java": Path("src/main/java/subscriptions/App.java")}

GO_PROGRAM = """\
// Declares one Subscription per entry of program.json (the e2e suite rewrites it between steps).
package main

import (
\t"encoding/json"
\t"os"

\t"github.com/bandwidth-pulumi/bandwidth-pulumi/sdk/go/bandwidth"
\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

type spec struct {
\tOrderType        *string `json:"orderType"`
\tEventType        *string `json:"eventType"`
\tOrderId          *string `json:"orderId"`
\tCallbackUrl      *string `json:"callbackUrl"`
\tCallbackUsername *string `json:"callbackUsername"`
\tEmail            *string `json:"email"`
\tDigest           *string `json:"digest"`
\tExpiry           *int    `json:"expiry"`
\tImportId         *string `json:"importId"`
\tPasswordSecret   *string `json:"passwordSecret"`
}

func main() {
\tpulumi.Run(func(ctx *pulumi.Context) error {
\t\traw, err := os.ReadFile("program.json")
\t\tif err != nil {
\t\t\treturn err
\t\t}
\t\tvar desired map[string]spec
\t\tif err := json.Unmarshal(raw, &desired); err != nil {
\t\t\treturn err
\t\t}
\t\tcfg := config.New(ctx, "")
\t\tfor name, s := range desired {
\t\t\targs := &bandwidth.SubscriptionArgs{
\t\t\t\tOrderType:        pulumi.StringPtrFromPtr(s.OrderType),
\t\t\t\tEventType:        pulumi.StringPtrFromPtr(s.EventType),
\t\t\t\tOrderId:          pulumi.StringPtrFromPtr(s.OrderId),
\t\t\t\tCallbackUrl:      pulumi.StringPtrFromPtr(s.CallbackUrl),
\t\t\t\tCallbackUsername: pulumi.StringPtrFromPtr(s.CallbackUsername),
\t\t\t\tEmail:            pulumi.StringPtrFromPtr(s.Email),
\t\t\t\tDigest:           pulumi.StringPtrFromPtr(s.Digest),
\t\t\t\tExpiry:           pulumi.IntPtrFromPtr(s.Expiry),
\t\t\t}
\t\t\tif s.PasswordSecret != nil {
\t\t\t\targs.CallbackPassword = cfg.RequireSecret(*s.PasswordSecret)
\t\t\t}
\t\t\tvar opts []pulumi.ResourceOption
\t\t\tif s.ImportId != nil {
\t\t\t\topts = append(opts, pulumi.Import(pulumi.ID(*s.ImportId)))
\t\t\t}
\t\t\tsub, err := bandwidth.NewSubscription(ctx, name, args, opts...)
\t\t\tif err != nil {
\t\t\t\treturn err
\t\t\t}
\t\t\tctx.Export(name, sub.SubscriptionId)
\t\t}
\t\treturn nil
\t})
}
"""

JAVA_PROGRAM = """\
// Declares one Subscription per entry of program.json (the e2e suite rewrites it between steps).
package subscriptions;

import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import com.pulumi.Pulumi;
import com.pulumi.resources.CustomResourceOptions;
import io.github.bandwidthpulumi.bandwidth.Subscription;
import io.github.bandwidthpulumi.bandwidth.SubscriptionArgs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

public class App {
    public static void main(String[] args) throws Exception {
        Map<String, Map<String, Object>> desired = new Gson().fromJson(
            Files.readString(Path.of("program.json")), new TypeToken<Map<String, Map<String, Object>>>() {}.getType());
        Pulumi.run(ctx -> {
            for (var entry : desired.entrySet()) {
                var s = entry.getValue();
                var b = SubscriptionArgs.builder();
                if (s.containsKey("orderType")) b.orderType((String) s.get("orderType"));
                if (s.containsKey("eventType")) b.eventType((String) s.get("eventType"));
                if (s.containsKey("orderId")) b.orderId((String) s.get("orderId"));
                if (s.containsKey("callbackUrl")) b.callbackUrl((String) s.get("callbackUrl"));
                if (s.containsKey("callbackUsername")) b.callbackUsername((String) s.get("callbackUsername"));
                if (s.containsKey("email")) b.email((String) s.get("email"));
                if (s.containsKey("digest")) b.digest((String) s.get("digest"));
                if (s.containsKey("expiry")) b.expiry(((Number) s.get("expiry")).intValue());
                if (s.containsKey("passwordSecret")) {
                    b.callbackPassword(ctx.config().requireSecret((String) s.get("passwordSecret")));
                }
                var opts = CustomResourceOptions.builder();
                if (s.containsKey("importId")) opts.importId((String) s.get("importId"));
                var sub = new Subscription(entry.getKey(), b.build(), opts.build());
                ctx.export(entry.getKey(), sub.subscriptionId());
            }
        });
    }
}
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _go_env(env: dict[str, str]) -> dict[str, str]:
    """The Go toolchain installed here, never one fetched by `toolchain` lines; modules from the proxy."""
    return {**env, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly", "GOWORK": "off"}


@pytest.fixture(scope="session")
def java_sdk(plugin_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """`mvn package` and `install` of sdk/java (a copy, so no target/ lands in the checkout): the README's step."""
    if shutil.which("mvn") is None or shutil.which("java") is None:
        pytest.fail("Java 17 and Maven are needed for the Java program (both are on every machine)")
    copy = tmp_path_factory.mktemp("java-sdk") / "java"
    shutil.copytree(SDK_JAVA, copy)
    proc = _run(["mvn", "-B", "-q", "install"], copy, {**os.environ})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    jar = copy / "target" / "bandwidth-0.1.0.jar"
    with zipfile.ZipFile(jar) as archive:
        names = set(archive.namelist())
    assert (
        "io/github/bandwidthpulumi/bandwidth/plugin.json" in names
        and "io/github/bandwidthpulumi/bandwidth/version.txt" in names
    )
    assert "io/github/bandwidthpulumi/bandwidth/Subscription.class" in names
    return jar


def test_the_go_sdk_builds() -> None:
    """`go build ./...` of the committed module with its committed go.sum, nothing fetched beyond the proxy."""
    proc = _run(["go", "build", "./..."], SDK_GO, _go_env(dict(os.environ)))
    assert proc.returncode == 0, proc.stderr
    assert re.search(
        r"(?m)^module github\.com/bandwidth-pulumi/bandwidth-pulumi/sdk/go$", (SDK_GO / "go.mod").read_text()
    )


def test_the_java_sdk_packages_with_maven(java_sdk: Path) -> None:
    assert java_sdk.stat().st_size > 10_000


class GoJavaStack(NativeStack):
    """A project copied from examples/<language>-subscriptions, its program replaced by a program.json-driven one."""

    def __init__(self, root: Path, toolchain: Any, emulator: Emulator, language: str) -> None:
        super().__init__(root, toolchain, emulator, language)
        example = EXAMPLES[language]
        for path in example.rglob("*"):
            target = self.dir / path.relative_to(example)
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            elif path.name != "Pulumi.yaml":
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)
        if language == "go":
            self.env = _go_env(self.env)
            proc = _run(
                ["go", "mod", "edit", "-replace", f"github.com/bandwidth-pulumi/bandwidth-pulumi/sdk/go={SDK_GO}"],
                self.dir,
                self.env,
            )
            assert proc.returncode == 0, proc.stderr
        self._manifest({})

    def program(self, text: str) -> GoJavaStack:
        (self.dir / PROGRAM_FILE[self.language]).write_text(text)
        return self

    def _manifest(self, resources: dict[str, Any]) -> None:
        manifest = {"name": f"bw-{self.language}", "runtime": self.language, "packages": {"bandwidth": str(PLUGIN)}}
        (self.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


@pytest.fixture(params=["go", "java"])
def go_java(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    toolchain: Any,
    e2e_emulator: Emulator,
    plugin_env: dict[str, str],  # noqa: F811
) -> GoJavaStack:
    if request.param == "java":
        request.getfixturevalue("java_sdk")
    stack = GoJavaStack(tmp_path, toolchain, e2e_emulator, request.param)
    return stack.program(GO_PROGRAM if request.param == "go" else JAVA_PROGRAM)


def test_go_and_java_programs_manage_subscriptions(go_java: GoJavaStack, e2e_emulator: Emulator) -> None:
    stack = go_java
    program, ids = create_and_check(stack, e2e_emulator)

    # In place: one PUT.
    program["orders"]["callbackUrl"] = "https://hooks.example.com/bw/v2/orders"
    stack.declare(program)
    planned = stack.preview_steps()
    assert ops(planned) == {"orders": "update"} and planned[0].get("diffReasons") == ["callbackUrl"]
    before = len(e2e_emulator.requests())
    stack.up()
    assert writes(e2e_emulator, before) == [("PUT", f"/api/accounts/{ACCOUNT}/subscriptions/{ids['orders']}")]

    # A new target replaces: one subscription left, under a new id.
    program["orders"]["orderType"] = "portins"
    stack.declare(program)
    assert [s.get("replaceReasons") for s in stack.preview_steps() if s["op"] == "replace"] == [["orderType"]]
    stack.up()
    new_ids = stack.outputs()
    now = {s["subscription_id"]: s for s in live(e2e_emulator)}
    assert len(now) == 2 and ids["orders"] not in now and now[new_ids["orders"]]["order_type"] == "portins"

    # Deleted behind Pulumi's back: refresh drops it from state, up creates it again.
    raw_client(e2e_emulator).delete_subscription(new_ids["lost"])
    stack.run("refresh", "--yes")
    assert ops(stack.preview_steps()) == {"lost": "create"}
    stack.up()
    again = stack.outputs()
    assert again["lost"] != new_ids["lost"] and {s["subscription_id"] for s in live(e2e_emulator)} == set(
        again.values()
    )
    stack.run("refresh", "--yes")
    stack.run("preview", "--expect-no-changes")

    # Import of an existing subscription, destroy, and no secret anywhere: the end of every language's story.
    import_then_destroy(stack, e2e_emulator, program)


@pytest.mark.parametrize("language", ["go", "java"])
def test_the_example_runs_as_it_is(
    language: str,
    tmp_path: Path,
    toolchain: Any,
    e2e_emulator: Emulator,
    plugin_env: dict[str, str],  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    if language == "java":
        request.getfixturevalue("java_sdk")
    stack = GoJavaStack(tmp_path, toolchain, e2e_emulator, language)
    assert (stack.dir / PROGRAM_FILE[language]).read_text() == (EXAMPLES[language] / PROGRAM_FILE[language]).read_text()
    shipped = yaml.safe_load((EXAMPLES[language] / "Pulumi.yaml").read_text())
    assert shipped["runtime"] == language and shipped["packages"] == {"bandwidth": "../../bandwidth-plugin"}
    assert (EXAMPLES[language] / shipped["packages"]["bandwidth"]).resolve() == PLUGIN
    stack.init()
    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    assert ops(stack.preview_steps()) == {"orders": "create", "messagingLost": "create"}
    assert e2e_emulator.requests() == []
    stack.up()
    outputs = stack.outputs()
    subs = {s["subscription_id"]: s for s in live(e2e_emulator)}
    assert subs[outputs["ordersSubscriptionId"]]["has_password"]
    assert subs[outputs["messagingLostSubscriptionId"]]["digest"] == "DAILY"
    stack.run("preview", "--expect-no-changes")
    stack.run("destroy", "--yes")
    assert live(e2e_emulator) == []
    for secret in (CALLBACK_PASSWORD, API_PASSWORD):
        assert secret not in stack.export() and secret not in stack.all_output()


@pytest.mark.parametrize("language", ["go", "java"])
def test_the_readme_shows_the_example_as_it_is(language: str) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    program = (EXAMPLES[language] / PROGRAM_FILE[language]).read_text(encoding="utf-8")
    assert f"```{language}\n{program}```\n" in readme, f"README's {language} block differs from the example"
