"""Basic and OAuth2 Bearer authentication, and isolation between accounts."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests

from bandwidth_provider.emulator import Emulator

from .helpers import ACCOUNT, created_id, error_of, ids, subscription_xml

OTHER = "9900001"


@pytest.fixture
def two_accounts() -> Iterator[Emulator]:
    with Emulator(
        accounts=((ACCOUNT, "emulator", "emulator"), (OTHER, "other-user", "other-pw")),
        oauth_clients=(("cid-1", "csecret-1", ACCOUNT), ("cid-2", "csecret:with:colons", OTHER)),
    ) as emu:
        yield emu


def _url(emu: Emulator, account: str = ACCOUNT) -> str:
    return f"{emu.api_url}/accounts/{account}/subscriptions"


def _token(emu: Emulator, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        emu.token_url,
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )


@pytest.mark.parametrize(
    "auth_header",
    [
        None,
        "Basic " + base64.b64encode(b"emulator:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:emulator").decode(),
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer not-a-token",
        "Digest foo",
    ],
)
def test_missing_or_wrong_credentials_401_empty(emulator: Emulator, auth_header: str | None) -> None:
    headers = {"Authorization": auth_header} if auth_header else {}
    for method in ("GET", "POST"):
        response = requests.request(method, _url(emulator), headers=headers, data=subscription_xml())
        assert response.status_code == 401
        assert response.content == b""
        assert response.headers["Content-Length"] == "0"
    assert emulator.state()["counts"]["subscriptions"] == 0


def test_401_before_404_for_unknown_subscription(emulator: Emulator) -> None:
    response = requests.get(_url(emulator) + "/whatever")
    assert (response.status_code, response.content) == (401, b"")


def test_cross_account_is_403_access_denied(two_accounts: Emulator) -> None:
    emu = two_accounts
    with requests.Session() as mine, requests.Session() as theirs:
        mine.auth = ("emulator", "emulator")
        theirs.auth = ("other-user", "other-pw")
        sid = created_id(mine.post(_url(emu), data=subscription_xml()))
        for method, url in [
            ("GET", _url(emu)),
            ("POST", _url(emu)),
            ("GET", f"{_url(emu)}/{sid}"),
            ("PUT", f"{_url(emu)}/{sid}"),
            ("DELETE", f"{_url(emu)}/{sid}"),
            ("GET", _url(emu, "1234567")),  # an account that does not exist looks the same
            ("GET", f"{_url(emu, '1234567')}/{sid}"),
        ]:
            response = theirs.request(method, url, data=subscription_xml())
            assert response.status_code == 403, (method, url)
            assert error_of(response) == (1001, "Access Denied")
            assert sid not in response.text
        # their own view: nothing of ours, and our id is unknown under their account
        assert ids(theirs.get(_url(emu, OTHER))) == []
        missing = theirs.get(f"{_url(emu, OTHER)}/{sid}")
        assert missing.status_code == 404 and error_of(missing)[0] == 16000
        assert theirs.delete(f"{_url(emu, OTHER)}/{sid}").status_code == 404
        assert ids(mine.get(_url(emu))) == [sid]


def test_same_subscription_in_two_accounts_is_not_a_duplicate(two_accounts: Emulator) -> None:
    emu = two_accounts
    a = requests.post(_url(emu), data=subscription_xml(), auth=("emulator", "emulator"))
    b = requests.post(_url(emu, OTHER), data=subscription_xml(), auth=("other-user", "other-pw"))
    assert created_id(a) != created_id(b)


def test_oauth_token_flow(two_accounts: Emulator) -> None:
    emu = two_accounts
    issued = _token(emu, "cid-1", "csecret-1")
    assert issued.status_code == 200
    assert issued.headers["Content-Type"] == "application/json"
    payload = issued.json()
    assert set(payload) == {"access_token", "token_type", "expires_in"}
    assert payload["token_type"] == "Bearer" and payload["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {payload['access_token']}"}
    sid = created_id(requests.post(_url(emu), data=subscription_xml(), headers=bearer))
    assert ids(requests.get(_url(emu), headers=bearer)) == [sid]
    denied = requests.get(_url(emu, OTHER), headers=bearer)
    assert denied.status_code == 403 and error_of(denied)[0] == 1001
    # a secret containing colons works, for the other account
    other = _token(emu, "cid-2", "csecret:with:colons").json()["access_token"]
    assert requests.get(_url(emu, OTHER), headers={"Authorization": f"Bearer {other}"}).status_code == 200
    assert payload["access_token"] not in str(emu.state())


def test_oauth_client_credentials_in_form(two_accounts: Emulator) -> None:
    response = requests.post(
        two_accounts.token_url,
        data={"grant_type": "client_credentials", "client_id": "cid-1", "client_secret": "csecret-1"},
    )
    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"


def test_tokens_expire_with_the_emulator_clock(two_accounts: Emulator) -> None:
    emu = two_accounts
    token = _token(emu, "cid-1", "csecret-1").json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    emu.advance_clock(3599)
    assert requests.get(_url(emu), headers=bearer).status_code == 200
    emu.advance_clock(1)
    expired = requests.get(_url(emu), headers=bearer)
    assert (expired.status_code, expired.content) == (401, b"")
    fresh = _token(emu, "cid-1", "csecret-1").json()["access_token"]
    assert requests.get(_url(emu), headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_token_endpoint_errors(two_accounts: Emulator) -> None:
    emu = two_accounts
    wrong = _token(emu, "cid-1", "wrong")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "wrong" not in wrong.text
    assert requests.post(emu.token_url, data={"grant_type": "client_credentials"}).status_code == 401
    bad_grant = requests.post(emu.token_url, data={"grant_type": "password"}, auth=("cid-1", "csecret-1"))
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "unsupported_grant_type"
    not_allowed = requests.get(emu.token_url)
    assert not_allowed.status_code == 405 and not_allowed.headers["Allow"] == "POST"
    # API-user credentials are not OAuth clients, and client credentials are not API users
    assert _token(emu, "emulator", "emulator").status_code == 401
    assert requests.get(_url(emu), auth=("cid-1", "csecret-1")).status_code == 401


def test_bearer_and_basic_are_equivalent(two_accounts: Emulator) -> None:
    emu = two_accounts
    token = _token(emu, "cid-1", "csecret-1").json()["access_token"]
    sid = created_id(requests.post(_url(emu), data=subscription_xml(), auth=("emulator", "emulator")))
    deleted = requests.delete(f"{_url(emu)}/{sid}", headers={"Authorization": f"Bearer {token}"})
    assert deleted.status_code == 200


def _basic_utf8(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


#: Authorization values whose base64 is not ASCII, or decodes to bytes that are not UTF-8 (issue 14 item 6).
HOSTILE_BASIC: list[bytes] = [
    b"Basic \xc3\xa9\xc3\xa9",  # UTF-8 letters where the base64 goes
    b"Basic \xff\xfe\xfd",  # Latin-1 bytes
    b"Basic d\xe9adbeef",
    b"Bearer \xff\xfe",
    b"Basic " + base64.b64encode(b"\xff\xfe:\x80"),  # not UTF-8 at all
    b"Basic " + base64.b64encode(b"\xed\xa0\x80:x"),  # an encoded surrogate (invalid UTF-8)
    b"Basic " + base64.b64encode("\u00e9mulateur:p\u00e4ss".encode("latin-1")),  # Latin-1 credentials
    b"Basic " + base64.b64encode(b"cid-1:csecret-1\xc3"),  # a truncated UTF-8 sequence
]


def test_hostile_basic_headers_are_401_without_a_traceback(
    two_accounts: Emulator, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    emu = two_accounts
    caplog.set_level("DEBUG", logger="bandwidth_provider")
    for header in HOSTILE_BASIC:
        for _ in range(2):  # every such request, not just the first
            api = requests.get(_url(emu), headers={"Authorization": header})
            assert (api.status_code, api.content) == (401, b""), header
            assert api.headers["WWW-Authenticate"] == 'Basic realm="Bandwidth"'
            token = requests.post(
                emu.token_url, data={"grant_type": "client_credentials"}, headers={"Authorization": header}
            )
            assert token.status_code == 401, header
            assert token.json()["error"] == "invalid_client"
            assert token.headers["WWW-Authenticate"] == 'Basic realm="oauth2", charset="UTF-8"'
    assert [r for r in caplog.records if r.exc_info or r.levelno >= 30] == []
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Traceback" not in caplog.text
    assert emu.state()["counts"]["subscriptions"] == 0


def test_utf8_basic_credentials_still_work() -> None:
    with Emulator(
        accounts=((ACCOUNT, "\u00e9mulateur", "p\u00e4ssw\u00f6rd-\u2603"),),
        oauth_clients=(("cl\u00efent", "s\u00e9cret-\u00fc", ACCOUNT),),
    ) as emu:
        user = requests.get(
            _url(emu), headers={"Authorization": _basic_utf8("\u00e9mulateur", "p\u00e4ssw\u00f6rd-\u2603")}
        )
        assert user.status_code == 200
        issued = requests.post(
            emu.token_url,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": _basic_utf8("cl\u00efent", "s\u00e9cret-\u00fc")},
        )
        assert issued.status_code == 200
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert requests.get(_url(emu), headers=bearer).status_code == 200
