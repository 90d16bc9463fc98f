"""Proofs of the design's bars, measured through the real provider server (figures: build/proofs/*.json).

* preview of 100 subscriptions makes zero HTTP requests (and needs no credentials at all);
* the serialized ``__provider`` is <= 1 KB, holds no credential and loads in a clean interpreter;
* no credential or callback password leaks into non-secret response fields, errors or stderr.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from tests.grpc.conftest import (
    API_PASSWORD,
    API_USER,
    CALLBACK_PASSWORD,
    CREDENTIALS,
    ORDERS,
    SECRET_CONFIG_KEYS,
    stack_config,
    subscriptions,
)
from tests.grpc.harness import (
    PROVIDER_KEY,
    Decl,
    Engine,
    ProviderError,
    ProviderServer,
    StackResource,
    record_figures,
    secret,
    serialized,
)

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

N_PREVIEW = 100


def hundred() -> dict[str, Decl]:
    return {
        f"sub{i:03d}": Decl(
            {
                **ORDERS,
                "callback_url": f"https://hooks.example.com/bw/{i}",
                "callback_password": secret(CALLBACK_PASSWORD),
            },
            additional_secret_outputs=["callback_password"],
        )
        for i in range(N_PREVIEW)
    }


# ------------------------------------------------------------------------------------ preview


def test_preview_of_100_subscriptions_makes_no_http_request(
    server: ProviderServer, emulator: Emulator, tmp_path: Path
) -> None:
    engine = Engine(server)
    t0 = time.perf_counter()
    plan = engine.preview(hundred())
    new_preview_s = time.perf_counter() - t0
    assert len(plan.creates) == N_PREVIEW and {m for m, _ in plan.calls} == {"Check"}
    requests_after_new_preview = len(emulator.requests())
    assert requests_after_new_preview == 0

    engine.up(hundred())
    assert len(subscriptions(emulator)) == N_PREVIEW
    before = len(emulator.requests())

    # A second provider process with no credentials anywhere previews the existing stack.
    with ProviderServer(stderr_path=tmp_path / "stderr.txt") as bare:
        bare.configure({})
        offline = Engine(bare)
        offline.state = {
            name: StackResource(r.id, r.inputs, r.outputs, r.secret_keys) for name, r in engine.state.items()
        }
        t0 = time.perf_counter()
        plan = offline.preview(hundred())
        existing_preview_s = time.perf_counter() - t0
    assert len(plan.sames) == N_PREVIEW and not plan.changed
    assert sorted({m for m, _ in plan.calls}) == ["Check", "Diff"]
    existing_delta = len(emulator.requests()) - before
    assert existing_delta == 0

    plan = engine.preview({**hundred(), "sub000": Decl({**ORDERS, "callback_url": "https://hooks.example.com/x"})})
    assert plan.updates == ["sub000"] and len(emulator.requests()) == before
    engine.destroy()
    record_figures(
        "preview",
        {
            "resources": N_PREVIEW,
            "http_requests_preview_new": requests_after_new_preview,
            "http_requests_preview_existing_without_credentials": existing_delta,
            "preview_new_seconds": round(new_preview_s, 3),
            "preview_existing_seconds": round(existing_preview_s, 3),
        },
    )


# ------------------------------------------------------------------------------------ __provider


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")
    return {k: v for k, v in os.environ.items() if k in keep}


def test_serialized_provider_is_small_credential_free_and_loads_in_a_clean_interpreter(
    server: ProviderServer, emulator: Emulator, tmp_path: Path
) -> None:
    from bandwidth_provider.provider import SubscriptionProvider

    text = server.provider_string
    raw = base64.b64decode(text)
    assert len(text) <= 1024
    for literal in (*CREDENTIALS, API_USER, CALLBACK_PASSWORD, emulator.api_url):
        assert literal.encode() not in raw and literal not in text

    # A provider that went through configure() (credentials on the instance) pickles identically.
    configured = SubscriptionProvider()
    configured.configure(ConfigureRequest(Config(stack_config(emulator), "bandwidth-test")))
    assert serialized(configured) == text

    # The copy stored in outputs is the program's copy, byte for byte.
    created = server.create(server.check({}, ORDERS).inputs)
    assert created.outputs[PROVIDER_KEY] == text

    code = (
        "import base64, sys, dill\n"
        "p = dill.loads(base64.b64decode(sys.stdin.read()))\n"
        "print(type(p).__module__ + '.' + type(p).__qualname__)\n"
        "print(sorted(vars(p)))\n"
        "print('pulumi.dynamic.__main__' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=text,
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    kind, attrs, server_imported = proc.stdout.split("\n")[:3]
    assert kind == "bandwidth_provider.provider.SubscriptionProvider"
    assert attrs == "[]" and server_imported == "False"
    record_figures(
        "provider_pickle",
        {"base64_chars": len(text), "pickle_bytes": len(raw), "limit": 1024, "by_reference": kind},
    )


# ------------------------------------------------------------------------------------ leak scan


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key path, string) for every string inside a value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, f"{path}.<key>")
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")
    elif hasattr(value, "__dataclass_fields__"):
        yield from _strings(vars(value), path)


@pytest.fixture
def leak_server(emulator: Emulator, tmp_path: Path) -> Iterator[ProviderServer]:
    config = stack_config(emulator) | {"bandwidth:username": API_USER, "bandwidth:password": API_PASSWORD}
    with ProviderServer(stderr_path=tmp_path / "stderr.txt") as srv:
        srv.configure(config, secret_keys=SECRET_CONFIG_KEYS)
        yield srv


def test_no_secret_in_plain_text_fields_errors_or_stderr(leak_server: ProviderServer, emulator: Emulator) -> None:
    srv = leak_server
    rotated = "Rotated-Cb-Pass-0a9f"
    seen: list[tuple[str, Any]] = []
    errors: list[str] = []

    def attempt(label: str, fn: Any) -> Any:
        try:
            result = fn()
        except ProviderError as err:
            errors.append(err.details)
            return None
        seen.append((label, result))
        return result

    good = attempt("check", lambda: srv.check({}, ORDERS))
    attempt(
        "check-invalid",
        lambda: srv.check({}, {**ORDERS, "callback_url": "nope", "callback_password": "\x02" + CALLBACK_PASSWORD}),
    )
    created = attempt("create", lambda: srv.create(good.inputs))
    sub_id, outs = created.id, created.outputs
    attempt("diff", lambda: srv.diff(sub_id, outs, srv.check({}, {**ORDERS, "callback_password": rotated}).inputs))
    attempt("read", lambda: srv.read(sub_id, outs, good.inputs))
    news = srv.check({}, {**ORDERS, "callback_password": rotated}).inputs
    updated = attempt("update", lambda: srv.update(sub_id, outs, news))
    # A duplicate create (409) fails, naming the existing subscription.
    attempt("create-duplicate", lambda: srv.create(news))
    # A POST applied but unanswered is taken over, with a warning on stderr.
    emulator.add_fault(method="POST", path="/subscriptions", action="drop_after", times=1)
    attempt("create-ambiguous", lambda: srv.create({**news, "callback_url": "https://hooks.example.com/dropped"}))
    # Failures of every kind, each with the password in the request.
    emulator.add_fault(method="POST", path="/subscriptions", action="status", status=400, times=1)
    attempt("create-400", lambda: srv.create({**news, "callback_url": "https://hooks.example.com/e400"}))
    emulator.add_fault(method="PUT", path=sub_id, action="status", status=500, times=10)
    attempt("update-500", lambda: srv.update(sub_id, updated.outputs, news))
    emulator.clear_faults()
    attempt("create-invalid-skipping-check", lambda: srv.create({**news, "callback_url": "ftp://x", "expiry": -1}))
    emulator.add_fault(method="GET", path=sub_id, action="status", status=401, times=10)
    attempt("read-401", lambda: srv.read(sub_id, updated.outputs))
    emulator.clear_faults()
    attempt("delete", lambda: srv.delete(sub_id, updated.outputs))

    assert len(errors) >= 5, errors  # the failures really happened
    stderr = srv.stderr_text()
    assert "taking it over" in stderr  # stderr capture works

    callback_secrets = (CALLBACK_PASSWORD, rotated)
    leaks = []
    for label, result in seen:
        for path, text in _strings(result):
            for s in CREDENTIALS:
                if s in text:
                    leaks.append((label, path, "credential"))
            for s in callback_secrets:
                # Only the `callback_password` key itself, which the engine re-marks secret by name.
                if s in text and path.split(".")[-1] != "callback_password":
                    leaks.append((label, path, "callback password"))
    for text in [*errors, stderr]:
        for s in (*CREDENTIALS, *callback_secrets):
            if s in text:
                leaks.append(("error/stderr", text[:200], "secret"))
    assert leaks == []
    # The error texts are still useful: they name what went wrong.
    assert any("400" in e for e in errors) and any("401" in e for e in errors)
    assert any("409" in e and "adopt_id" in e for e in errors)
    record_figures(
        "leak_scan",
        {
            "responses_scanned": len(seen),
            "errors_scanned": len(errors),
            "stderr_bytes": len(stderr),
            "leaks": len(leaks),
            "error_samples": [e.strip().splitlines()[-1][:160] for e in errors],
        },
    )
