"""`list` and `export` against the emulator; the exported program compiles and declares what exists."""

from __future__ import annotations

import json
import keyword
import uuid
from pathlib import Path
from typing import Any

import pytest

from bandwidth_provider.cli import main
from bandwidth_provider.spec import SubscriptionSpec
from bandwidth_provider.status import WITHHELD
from bandwidth_provider.wire import RemoteSubscription, encode_subscriptions

from ..cli.helpers import api_flags
from ..conftest import DEFAULT_ACCOUNT, DEFAULT_PASSWORD, DEFAULT_USERNAME
from ..stub import Reply, running_stub
from .mocks import Recorder, run_program, unwrap_secret
from .servers import kit_receiver

CALLBACK_PASSWORD = "cb-Secret-9876"
SUBSCRIPTION_TYPE = "pulumi-python:dynamic/bandwidth:Subscription"


@pytest.fixture(autouse=True)
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("API_URL", "ACCOUNT_ID", "USERNAME", "PASSWORD", "CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL", "TIMEOUT"):
        monkeypatch.delenv(f"BANDWIDTH_{var}", raising=False)


@pytest.fixture
def populated(client: Any) -> dict[str, str]:
    """Four subscriptions of different shapes; returns name -> id."""
    order_id = str(uuid.uuid4())
    specs = {
        "orders": SubscriptionSpec(
            order_type="orders",
            callback_url="https://hooks.example.com/bw/orders",
            expiry=3600,
            callback_username="hookuser",
            callback_password=CALLBACK_PASSWORD,
            number_format="E164",
        ),
        "portin": SubscriptionSpec(
            order_type="portins",
            order_id=order_id,
            callback_url="https://hooks.example.com/bw/portins",
            expiry=1_209_600,
        ),
        "event": SubscriptionSpec(
            event_type="MESSAGING_LOST", callback_url="https://hooks.example.com/bw/events", expiry=86_400
        ),
        "email": SubscriptionSpec(order_type="orders", email="ops@example.com", digest="DAILY"),
    }
    return {name: client.create_subscription(spec) for name, spec in specs.items()}


def test_list_json(emulator: Any, populated: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json", *api_flags(emulator)]) == 0
    out = capsys.readouterr().out
    records = {r["subscription_id"]: r for r in json.loads(out)}
    assert set(records) == set(populated.values())
    orders = records[populated["orders"]]
    assert orders["order_type"] == "orders"
    assert orders["callback_username"] == "hookuser"
    assert orders["number_format"] == "E164"
    assert orders["status"] == "READY"
    assert 0 < orders["expiry"] <= 3600
    assert "callback_password" not in orders
    assert records[populated["email"]]["digest"] == "DAILY"
    assert records[populated["event"]]["event_type"] == "MESSAGING_LOST"
    assert CALLBACK_PASSWORD not in out and DEFAULT_PASSWORD not in out


def test_list_table_and_filters(emulator: Any, populated: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", *api_flags(emulator)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["SUBSCRIPTION", "ID", "TARGET"]
    assert len(table) == 1 + len(populated)
    assert main(["list", "--order-type", "portins", "--json", *api_flags(emulator)]) == 0
    assert [r["subscription_id"] for r in json.loads(capsys.readouterr().out)] == [populated["portin"]]


def test_list_empty_account(emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", *api_flags(emulator)]) == 0
    assert capsys.readouterr().out.strip() == f"account {DEFAULT_ACCOUNT} has no subscriptions"


def test_credentials_fall_back_to_the_environment(
    emulator: Any, populated: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BANDWIDTH_API_URL", emulator.api_url)
    monkeypatch.setenv("BANDWIDTH_ACCOUNT_ID", DEFAULT_ACCOUNT)
    monkeypatch.setenv("BANDWIDTH_USERNAME", DEFAULT_USERNAME)
    monkeypatch.setenv("BANDWIDTH_PASSWORD", "wrong-in-env")
    assert main(["list", "--json"]) == 1  # the environment's wrong password is used...
    capsys.readouterr()
    assert main(["list", "--json", "--password", DEFAULT_PASSWORD]) == 0  # ...and a flag overrides it
    assert len(json.loads(capsys.readouterr().out)) == len(populated)


@pytest.mark.parametrize("command", ["list", "export"])
def test_api_errors_are_one_line_without_secrets(
    emulator: Any, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "Wr0ng-Pa55word"
    assert main([command, *api_flags(emulator, password=secret)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert captured.err.count("\n") == 1
    assert "401" in captured.err
    assert secret not in captured.err
    assert "Traceback" not in captured.err


def test_missing_account_is_a_configuration_error(emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--api-url", emulator.api_url, "--username", "u", "--password", "p"]) == 1
    err = capsys.readouterr().err
    assert "--account-id" in err and "BANDWIDTH_ACCOUNT_ID" in err and err.count("\n") == 1
    assert "pulumi config" not in err


def test_export_compiles_and_adopts_everything(
    emulator: Any, populated: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "__main__.py"
    assert main(["export", "--output", str(target), *api_flags(emulator)]) == 0
    assert f"wrote {len(populated)} subscription(s)" in capsys.readouterr().err
    program = target.read_text()
    compile(program, str(target), "exec")
    assert CALLBACK_PASSWORD not in program and DEFAULT_PASSWORD not in program
    for sub_id in populated.values():
        assert program.count(f"adopt_id={sub_id!r}") == 1
    assert "callback_password=config.get_secret('ordersCallbackPassword')" in program
    assert program.count("get_secret") == 1  # only the subscription that has a username

    recorder = Recorder()
    run_program(target, project="exported", config={"ordersCallbackPassword": "set-by-user"}, recorder=recorder)
    declared = {r.inputs["adopt_id"]: r for r in recorder.of_type(SUBSCRIPTION_TYPE)}
    assert set(declared) == set(populated.values())
    names = [r.name for r in declared.values()]
    assert len(set(names)) == len(names)
    orders = declared[populated["orders"]].inputs
    assert (orders["order_type"], orders["callback_url"], orders["callback_username"], orders["number_format"]) == (
        "orders",
        "https://hooks.example.com/bw/orders",
        "hookuser",
        "E164",
    )
    assert 0 < orders["expiry"] <= 3600
    assert unwrap_secret(orders["callback_password"]) == (True, "set-by-user")
    portin = declared[populated["portin"]].inputs
    assert portin["order_id"] and portin["order_type"] == "portins"
    email = declared[populated["email"]].inputs
    assert (email["email"], email["digest"]) == ("ops@example.com", "DAILY")
    assert email.get("expiry") is None and email.get("callback_url") is None
    assert declared[populated["event"]].inputs["event_type"] == "MESSAGING_LOST"


def test_export_to_stdout_with_hostile_values() -> None:
    from bandwidth_provider.cli.export import render_program
    from bandwidth_provider.wire import RemoteSubscription

    subs = [
        RemoteSubscription(
            subscription_id='a\'"""\n',
            order_type="orders",
            callback_url="https://x/'''\n\"",
            callback_username="u\"'\n",
            status='401 Unauthorized: <html>\n"""',
            expiry=10,
        ),
        RemoteSubscription(subscription_id="b", order_type="class", callback_url="https://x/2", expiry=10),
        RemoteSubscription(
            subscription_id="c", order_type="orders", callback_url="https://x/3", callback_username="v", expiry=10
        ),
        RemoteSubscription(subscription_id="d", order_type="config", callback_url="https://x/4", expiry=10),
    ]
    program = render_program('99\n"""', subs)
    code = compile(program, "<export>", "exec")
    assert code is not None
    for line in program.splitlines():
        if "= Subscription(" in line:
            ident = line.split(" = ")[0]
            assert ident.isidentifier() and not keyword.iskeyword(ident)
            assert ident not in {"pulumi", "config", "Subscription"}
    assert program.count("get_secret('ordersCallbackPassword')") == 1
    assert program.count("get_secret('orders2CallbackPassword')") == 1


def test_export_empty_account(emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", *api_flags(emulator)]) == 0
    program = capsys.readouterr().out
    compile(program, "<export>", "exec")
    assert "nothing to adopt" in program


def test_end_to_end_delivery_status_shows_in_list(
    emulator: Any, client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Subscription -> emulator delivers with the challenge flow -> kit receiver -> Status reads '200 OK'."""
    with kit_receiver(username="hookuser", password=CALLBACK_PASSWORD) as rx:
        sub_id = client.create_subscription(
            SubscriptionSpec(
                order_type="orders",
                callback_url=rx.url,
                callback_username="hookuser",
                callback_password=CALLBACK_PASSWORD,
            )
        )
        order_id = str(uuid.uuid4())
        emulator.notify(
            {
                "accountId": DEFAULT_ACCOUNT,
                "orderType": "orders",
                "orderId": order_id,
                "status": "COMPLETE",
                "telephoneNumbers": ["9195550142"],
            }
        )
        (delivery,) = emulator.deliveries(min_count=1, timeout=10)
        got = rx.received.get(timeout=5)
    assert (got.subscription_id, got.order_id, got.telephone_numbers) == (sub_id, order_id, ("9195550142",))
    assert [a["credentials_sent"] for a in delivery["attempts"]] == [False, True]
    assert main(["list", "--json", *api_flags(emulator)]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["status"] == "200 OK"


# ---------------------------------------------------------------- API values the CLI must survive and not repeat

ECHOED = "cb-Echoed-Secret"


def _listing(*subs: RemoteSubscription) -> Reply:
    return Reply(200, encode_subscriptions(subs), (("Content-Type", "application/xml"),))


def _stubapi_flags(stub: Any) -> list[str]:
    return ["--api-url", stub.api_url, "--account-id", "9900000", "--username", "u", "--password", "p"]


@pytest.mark.parametrize("expiry", [10**12, 10**30, -(10**12)])
def test_list_survives_any_expiry(capsys: pytest.CaptureFixture[str], expiry: int) -> None:
    normal = RemoteSubscription("ok", order_type="orders", callback_url="https://x/1", expiry=3600)
    huge = RemoteSubscription("huge", order_type="csrs", callback_url="https://x/2", expiry=expiry)
    with running_stub() as stub:
        stub.default = _listing(normal, huge)
        assert main(["list", "--json", *_stubapi_flags(stub)]) == 0
        records = {r["subscription_id"]: r for r in json.loads(capsys.readouterr().out)}
        assert main(["list", *_stubapi_flags(stub)]) == 0
        table = capsys.readouterr().out
    assert records["huge"]["expiry"] == expiry
    assert records["huge"]["expires_at"] is None or expiry < 0
    assert records["ok"]["expires_at"].endswith("Z")
    assert len(table.splitlines()) == 3 and "Traceback" not in table


def test_list_and_export_never_repeat_a_receiver_reply_or_url_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    subs = [
        RemoteSubscription(
            "a",
            order_type="orders",
            callback_url=f"https://hook:{ECHOED}@x/1",
            expiry=60,
            status=f"500 Internal Server Error: wrong password {ECHOED.lower()}",
        ),
        RemoteSubscription("b", order_type="csrs", callback_url="https://x/2", expiry=60, status=f"Failed: {ECHOED}"),
        RemoteSubscription("c", order_type="portins", callback_url="https://x/3", expiry=60, status="READY"),
    ]
    with running_stub() as stub:
        stub.default = _listing(*subs)
        assert main(["list", "--json", *_stubapi_flags(stub)]) == 0
        records = {r["subscription_id"]: r for r in json.loads(capsys.readouterr().out)}
        assert main(["list", *_stubapi_flags(stub)]) == 0
        table = capsys.readouterr().out
        assert main(["export", *_stubapi_flags(stub)]) == 0
        program = capsys.readouterr().out
    for text in (json.dumps(records), table, program):
        assert ECHOED.lower() not in text.lower()
    assert [records[k]["status"] for k in "abc"] == ["500 Internal Server Error", WITHHELD, "READY"]
    assert records["a"]["callback_url"] == "https://x/1"
    compile(program, "<export>", "exec")
