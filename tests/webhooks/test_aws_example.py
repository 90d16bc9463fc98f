"""examples/aws-lambda-receiver under Pulumi mocks, plus its Lambda bundle run in isolation."""

from __future__ import annotations

import base64
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import lxml
import pulumi
import pytest

import bandwidth_provider

from . import samples
from .mocks import Recorder, run_program, unwrap_secret

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aws-lambda-receiver"
FUNCTION_URL = "https://abcdefghij.lambda-url.us-east-1.on.aws/"
PASSWORD = "Lambda-cb-Secret-1"
bundle = runpy.run_path(str(EXAMPLE / "bundle.py"))


@pytest.fixture(scope="module")
def deployed() -> tuple[Recorder, dict[str, Any]]:
    pytest.importorskip("pulumi_aws", reason="the AWS example needs the 'aws' extra (pip install -e '.[aws]')")
    recorder = Recorder(
        extra={
            "aws:lambda/functionUrl:FunctionUrl": {"function_url": FUNCTION_URL},
            "aws:iam/role:Role": {"arn": "arn:aws:iam::123456789012:role/receiver"},
        }
    )
    program = run_program(
        EXAMPLE, project="bandwidth-aws-receiver", config={"callbackPassword": PASSWORD}, recorder=recorder
    )
    return recorder, program


def _one(recorder: Recorder, typ: str) -> dict[str, Any]:
    (resource,) = recorder.of_type(typ)
    return resource.inputs


def test_function_url_flows_into_the_subscription(deployed: tuple[Recorder, dict[str, Any]]) -> None:
    recorder, _ = deployed
    sub = _one(recorder, "pulumi-python:dynamic/bandwidth:Subscription")
    assert sub["order_type"] == "orders"
    assert sub["callback_url"] == FUNCTION_URL + "bandwidth"
    assert sub["callback_username"] == "bandwidth"
    assert unwrap_secret(sub["callback_password"]) == (True, PASSWORD)


def test_password_is_secret_everywhere(deployed: tuple[Recorder, dict[str, Any]]) -> None:
    recorder, _ = deployed
    fn = _one(recorder, "aws:lambda/function:Function")
    # The secret password makes the whole environment block secret.
    is_secret, environment = unwrap_secret(fn["environment"])
    assert is_secret
    assert environment["variables"] == {
        "BANDWIDTH_CALLBACK_USERNAME": "bandwidth",
        "BANDWIDTH_CALLBACK_PASSWORD": PASSWORD,
    }
    for resource in recorder.resources:
        flat = repr({k: v for k, v in resource.inputs.items() if k not in ("environment", "callback_password")})
        assert PASSWORD not in flat, resource.name


def test_lambda_shape(deployed: tuple[Recorder, dict[str, Any]]) -> None:
    recorder, _ = deployed
    fn = _one(recorder, "aws:lambda/function:Function")
    assert fn["handler"] == "handler.lambda_handler"
    assert fn["runtime"].startswith("python3")
    url = _one(recorder, "aws:lambda/functionUrl:FunctionUrl")
    assert url["authorizationType"] == "NONE"
    actions = {p.inputs["action"] for p in recorder.of_type("aws:lambda/permission:Permission")}
    assert actions == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert isinstance(fn["code"], pulumi.AssetArchive)
    assert set(fn["code"].assets) == {"handler.py", *(f"bandwidth_provider/{m}" for m in bundle["KIT_MODULES"])}
    for asset in fn["code"].assets.values():
        assert Path(asset.path).is_file()


def test_handler_authenticates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANDWIDTH_CALLBACK_USERNAME", "bandwidth")
    monkeypatch.setenv("BANDWIDTH_CALLBACK_PASSWORD", PASSWORD)
    handler = runpy.run_path(str(EXAMPLE / "handler.py"))["lambda_handler"]

    def event(auth: str | None) -> dict[str, Any]:
        headers = {"authorization": auth} if auth else {}
        return {
            "version": "2.0",
            "headers": headers,
            "isBase64Encoded": True,
            "body": base64.b64encode(samples.ORDER_COMPLETE).decode(),
            "requestContext": {"http": {"method": "POST"}},
        }

    good = "Basic " + base64.b64encode(f"bandwidth:{PASSWORD}".encode()).decode()
    bad = "Basic " + base64.b64encode(b"bandwidth:guess").decode()
    first = handler(event(None), None)
    assert (first["statusCode"], first["headers"]["WWW-Authenticate"]) == (401, 'Basic realm="bandwidth"')
    assert handler(event(bad), None)["statusCode"] == 401
    assert handler(event(good), None)["statusCode"] == 200


def test_handler_refuses_to_start_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BANDWIDTH_CALLBACK_USERNAME", raising=False)
    monkeypatch.setenv("BANDWIDTH_CALLBACK_PASSWORD", PASSWORD)
    with pytest.raises(RuntimeError, match="BANDWIDTH_CALLBACK_USERNAME"):
        runpy.run_path(str(EXAMPLE / "handler.py"))


def test_bundle_runs_with_only_the_kit_and_lxml(tmp_path: Path) -> None:
    """The archive the Lambda gets, plus the lxml layer, is enough: no pulumi, no requests there."""
    code_dir, layer_dir = tmp_path / "code", tmp_path / "layer"
    for name, asset in bundle["function_code"]().assets.items():
        (code_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(asset.path, code_dir / name)
    layer_dir.mkdir()
    (layer_dir / "lxml").symlink_to(Path(lxml.__file__).parent)
    script = (
        "import base64, sys, handler\n"
        "assert 'pulumi' not in sys.modules and 'requests' not in sys.modules, sorted(sys.modules)\n"
        "import bandwidth_provider\n"
        f"assert bandwidth_provider.__file__.startswith({str(code_dir)!r}), bandwidth_provider.__file__\n"
        "body = base64.b64encode(sys.stdin.buffer.read()).decode()\n"
        f"auth = 'Basic ' + base64.b64encode(b'bandwidth:{PASSWORD}').decode()\n"
        "ev = {'headers': {'authorization': auth}, 'body': body, 'isBase64Encoded': True,"
        " 'requestContext': {'http': {'method': 'POST'}}}\n"
        "print(handler.lambda_handler(ev, None)['statusCode'])\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{code_dir}{os.pathsep}{layer_dir}",
        "BANDWIDTH_CALLBACK_USERNAME": "bandwidth",
        "BANDWIDTH_CALLBACK_PASSWORD": PASSWORD,
    }
    # -S: no site-packages, so only the bundle and the layer are importable (as in Lambda).
    proc = subprocess.run(
        [sys.executable, "-S", "-c", script],
        input=samples.ORDER_COMPLETE,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "200"
    assert Path(bandwidth_provider.__file__).parent != code_dir
