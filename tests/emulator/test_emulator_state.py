"""Control plane (reset, state, clock, errors), persistence across restarts, and concurrency."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.emulator.control import is_loopback

from .helpers import ACCOUNT, created_id, ids, one, subscription_xml

SECRET = "cb-pass-Zq81"
OTHER_ACCOUNT = "9900001"


def test_state_never_contains_secrets() -> None:
    with Emulator(
        accounts=((ACCOUNT, "api-user", "api-pass-X9"),), oauth_clients=(("cid", "client-secret-Y7", ACCOUNT),)
    ) as emu:
        url = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"
        created_id(
            requests.post(
                url, data=subscription_xml(username="hook", password=SECRET), auth=("api-user", "api-pass-X9")
            )
        )
        token = requests.post(
            emu.token_url, data={"grant_type": "client_credentials"}, auth=("cid", "client-secret-Y7")
        )
        dumps = [json.dumps(emu.state()), json.dumps(emu.requests()), repr(emu)]
        dumps += [requests.get(f"{emu.control_url}/{route}").text for route in ("state", "requests", "deliveries")]
        for text in dumps:
            for secret in (SECRET, "api-pass-X9", "client-secret-Y7", token.json()["access_token"]):
                assert secret not in text
        state = emu.state()
        assert state["accounts"] == [{"account_id": ACCOUNT, "username": "api-user", "oauth_clients": ["cid"]}]
        (sub,) = state["subscriptions"]
        assert sub["has_password"] is True and sub["callback_username"] == "hook"
        assert "callback_password" not in sub and "password" not in sub


def test_state_reports_counts_clock_and_connections(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    created_id(http.post(subs_url, data=subscription_xml()))
    http.get(subs_url)
    state = requests.get(f"{emulator.control_url}/state").json()
    assert state["counts"] == {"subscriptions": 1, "requests": 2, "deliveries": 0, "faults": 0}
    assert state["connections_seen"] == 2  # the session's connection plus this control-plane request
    assert state["api_connections_seen"] == 1
    assert state["clock"]["offset"] == 0
    assert state["settings"]["validation_status"] == 400


def test_reset_clears_everything_but_accounts(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    created_id(http.post(subs_url, data=subscription_xml(email="ops@example.com")))
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    emulator.add_fault(action="status", status=500, path="/nothing-matches-this")
    emulator.advance_clock(100)
    assert requests.post(f"{emulator.control_url}/reset", json={}).json() == {"reset": True}
    state = emulator.state()
    assert state["subscriptions"] == []
    assert state["counts"] == {"subscriptions": 0, "requests": 0, "deliveries": 0, "faults": 0}
    assert state["clock"]["offset"] == 0
    assert state["connections_seen"] == 0
    assert [a["account_id"] for a in state["accounts"]] == [ACCOUNT]
    assert http.get(subs_url).status_code == 200  # credentials still valid


def test_clock_over_http(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml(expiry=10)))
    before = requests.get(f"{emulator.control_url}/clock").json()
    advanced = requests.post(f"{emulator.control_url}/clock", json={"advance": 10}).json()
    assert advanced["offset"] == 10 and advanced["expired"] == 1
    assert advanced["now"] >= before["now"] + 10
    assert http.get(f"{subs_url}/{sid}").status_code == 404
    for bad in ({"advance": -1}, {"advance": "soon"}, {}, [1]):
        assert requests.post(f"{emulator.control_url}/clock", json=bad).status_code == 400


def test_control_plane_routing_errors(emulator: Emulator) -> None:
    missing = requests.get(f"{emulator.control_url}/nope")
    assert missing.status_code == 404 and "routes" in missing.json()
    wrong = requests.get(f"{emulator.control_url}/reset")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    bad_json = requests.post(
        f"{emulator.control_url}/faults", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert requests.get(f"{emulator.control_url}/deliveries", params={"min": "x"}).status_code == 400
    assert emulator.requests() == []  # none of this is API traffic


def test_file_db_survives_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "emulator.sqlite")
    accounts = ((ACCOUNT, "emulator", "emulator"),)
    with Emulator(db=db, accounts=accounts, oauth_clients=(("cid", "cs", ACCOUNT),)) as first:
        url = f"{first.api_url}/accounts/{ACCOUNT}/subscriptions"
        sid = created_id(
            requests.post(
                url, data=subscription_xml(expiry=3600, username="u", password="p"), auth=("emulator", "emulator")
            )
        )
        token = requests.post(first.token_url, data={"grant_type": "client_credentials"}, auth=("cid", "cs"))
        first.advance_clock(100)
    with Emulator(db=db, accounts=accounts, oauth_clients=(("cid", "cs", ACCOUNT),)) as second:
        url = f"{second.api_url}/accounts/{ACCOUNT}/subscriptions"
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        got = requests.get(f"{url}/{sid}", headers=bearer)
        sub = one(got)
        assert sub.findtext("CallbackSubscription/Expiry") == "3500"  # the clock offset persisted too
        assert sub.findtext("CallbackSubscription/CallbackCredentials/BasicAuthentication/Username") == "u"
        assert second.state()["subscriptions"][0]["has_password"] is True
        log = [(e["method"], e["path"].rsplit("/", 1)[-1], e["status"]) for e in second.requests()]
        assert log == [("POST", "subscriptions", 201), ("POST", "token", 200), ("GET", sid, 200)]


def test_restart_with_new_credentials_revokes_old_ones(tmp_path: Path) -> None:
    db = str(tmp_path / "emulator.sqlite")
    with Emulator(db=db) as first:
        created_id(
            requests.post(
                f"{first.api_url}/accounts/{ACCOUNT}/subscriptions",
                data=subscription_xml(),
                auth=("emulator", "emulator"),
            )
        )
    with Emulator(db=db, accounts=((ACCOUNT, "new-user", "new-pass"),)) as second:
        url = f"{second.api_url}/accounts/{ACCOUNT}/subscriptions"
        assert requests.get(url, auth=("emulator", "emulator")).status_code == 401
        assert len(ids(requests.get(url, auth=("new-user", "new-pass")))) == 1


@pytest.mark.parametrize(
    ("secret", "account"),
    [("cs-rotated", ACCOUNT), ("cs", OTHER_ACCOUNT), ("cs-rotated", OTHER_ACCOUNT)],
    ids=["rotated-secret", "moved-account", "both"],
)
def test_restart_with_changed_client_credentials_ends_old_tokens(tmp_path: Path, secret: str, account: str) -> None:
    """Issue 14 item 7: a token issued under old client credentials stops acting once they change."""
    db = str(tmp_path / "emulator.sqlite")
    accounts = ((ACCOUNT, "emulator", "emulator"), (OTHER_ACCOUNT, "other", "other-pw"))
    with Emulator(db=db, accounts=accounts, oauth_clients=(("cid", "cs", ACCOUNT),)) as first:
        issued = requests.post(first.token_url, data={"grant_type": "client_credentials"}, auth=("cid", "cs"))
        old = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert requests.get(f"{first.api_url}/accounts/{ACCOUNT}/subscriptions", headers=old).status_code == 200
    with Emulator(db=db, accounts=accounts, oauth_clients=(("cid", secret, account),)) as second:
        for target in (ACCOUNT, OTHER_ACCOUNT):
            refused = requests.get(f"{second.api_url}/accounts/{target}/subscriptions", headers=old)
            assert (refused.status_code, refused.content) == (401, b"")
        fresh = requests.post(second.token_url, data={"grant_type": "client_credentials"}, auth=("cid", secret))
        bearer = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
        assert requests.get(f"{second.api_url}/accounts/{account}/subscriptions", headers=bearer).status_code == 200
    with Emulator(db=db, accounts=accounts, oauth_clients=(("cid", "cs", ACCOUNT),)) as third:
        # switching back to the first credentials does not revive tokens issued under them
        assert requests.get(f"{third.api_url}/accounts/{ACCOUNT}/subscriptions", headers=old).status_code == 401


def test_tokens_from_a_database_without_credential_binding_are_dropped(tmp_path: Path) -> None:
    """A --db file written before tokens were bound to their client's credentials keeps no usable token."""
    db = str(tmp_path / "emulator.sqlite")
    with Emulator(db=db, oauth_clients=(("cid", "cs", ACCOUNT),)) as first:
        issued = requests.post(first.token_url, data={"grant_type": "client_credentials"}, auth=("cid", "cs"))
        old = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    with sqlite3.connect(db) as conn:  # the previous layout: no record of the credentials a token came from
        conn.execute("ALTER TABLE tokens DROP COLUMN client_salt")
    with Emulator(db=db, oauth_clients=(("cid", "cs", ACCOUNT),)) as second:
        assert requests.get(f"{second.api_url}/accounts/{ACCOUNT}/subscriptions", headers=old).status_code == 401
        fresh = requests.post(second.token_url, data={"grant_type": "client_credentials"}, auth=("cid", "cs"))
        assert fresh.status_code == 200


def test_one_api_user_for_several_accounts() -> None:
    accounts = ((ACCOUNT, "shared", "pw-a"), ("9911111", "shared", "pw-a"), ("9922222", "shared", "pw-other"))
    with Emulator(accounts=accounts) as emu:

        def url(account: str) -> str:
            return f"{emu.api_url}/accounts/{account}/subscriptions"

        sid = created_id(requests.post(url("9911111"), data=subscription_xml(), auth=("shared", "pw-a")))
        assert ids(requests.get(url(ACCOUNT), auth=("shared", "pw-a"))) == []
        assert ids(requests.get(url("9911111"), auth=("shared", "pw-a"))) == [sid]
        # the same username with another account's password only opens that account
        assert requests.get(url("9922222"), auth=("shared", "pw-a")).status_code == 403
        assert requests.get(url(ACCOUNT), auth=("shared", "pw-other")).status_code == 403
        assert ids(requests.get(url("9922222"), auth=("shared", "pw-other"))) == []


def test_twenty_threads_creating_distinct(emulator: Emulator, subs_url: str) -> None:
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def worker(i: int) -> None:
        with requests.Session() as session:
            session.auth = ("emulator", "emulator")
            barrier.wait()
            for j in range(3):
                status = session.post(subs_url, data=subscription_xml(url=f"https://t.example.com/{i}/{j}")).status_code
                with lock:
                    results.append(status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 60
    listed = ids(requests.get(subs_url, auth=("emulator", "emulator")))
    assert len(listed) == len(set(listed)) == 60
    state = emulator.state()
    assert state["counts"]["subscriptions"] == 60
    assert state["api_connections_seen"] == 21


def test_twenty_threads_racing_for_one_subscription(emulator: Emulator, subs_url: str) -> None:
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def worker() -> None:
        barrier.wait()
        status = requests.post(subs_url, data=subscription_xml(), auth=("emulator", "emulator")).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [409] * 19
    assert emulator.state()["counts"]["subscriptions"] == 1


def test_stop_is_prompt_with_busy_connections() -> None:
    emu = Emulator().start()
    url = f"{emu.control_url}/deliveries"
    outcome: list[object] = []

    def long_poll() -> None:
        try:
            outcome.append(requests.get(url, params={"min": 1, "timeout": 30}, timeout=30).status_code)
        except requests.RequestException as exc:
            outcome.append(type(exc))

    idle = requests.Session()
    idle.get(f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions", auth=("emulator", "emulator"))  # keep-alive, idle
    poller = threading.Thread(target=long_poll)
    poller.start()
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 1.5
    poller.join(10)
    assert not poller.is_alive() and len(outcome) == 1
    idle.close()
    with pytest.raises(RuntimeError):
        emu.state()


def testis_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.1") and not is_loopback("::ffff:10.0.0.1") and not is_loopback("host")
