"""Every fault action, its matching rules, and that the control plane is never faulted."""

from __future__ import annotations

import time

import pytest
import requests
from lxml import etree

from bandwidth_provider.emulator import Emulator

from .helpers import created_id, ids, parse, subscription_xml


def test_status_fault_answers_without_processing(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    rule = emulator.add_fault(method="POST", path="/subscriptions", action="status", status=503)
    assert rule["times"] == 1 and rule["remaining"] == 1
    failed = http.post(subs_url, data=subscription_xml())
    assert (failed.status_code, failed.content) == (503, b"")
    assert emulator.state()["counts"]["subscriptions"] == 0
    created_id(http.post(subs_url, data=subscription_xml()))  # times=1: the next request is normal
    log = emulator.requests()
    assert [(e["status"], e["fault"]) for e in log] == [(503, "status"), (201, None)]


def test_status_fault_429_has_rate_limit_reset(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    emulator.add_fault(method="GET", action="status", status=429)
    before = time.time()
    limited = http.get(subs_url)
    assert (limited.status_code, limited.content, limited.headers["Content-Length"]) == (429, b"", "0")
    reset = int(limited.headers["X-RateLimit-Reset"])
    assert before < reset <= before + 2.5
    assert http.get(subs_url).status_code == 200


def test_status_fault_applies_before_auth(emulator: Emulator, subs_url: str) -> None:
    emulator.add_fault(action="status", status=500)
    assert requests.get(subs_url).status_code == 500


def test_delay_fault_then_normal_processing(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    emulator.add_fault(method="POST", action="delay", delay=0.3)
    started = time.monotonic()
    sid = created_id(http.post(subs_url, data=subscription_xml()))
    assert time.monotonic() - started >= 0.3
    assert ids(http.get(subs_url)) == [sid]
    assert emulator.requests()[0]["fault"] == "delay"


def test_delay_past_client_timeout(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    emulator.add_fault(method="GET", action="delay", delay=0.5)
    with pytest.raises(requests.ReadTimeout):
        http.get(subs_url, timeout=0.1)


def test_drop_before_closes_without_processing(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    emulator.add_fault(method="POST", action="drop_before")
    with pytest.raises(requests.ConnectionError):
        http.post(subs_url, data=subscription_xml())
    assert emulator.state()["counts"]["subscriptions"] == 0
    (entry,) = emulator.requests()
    assert (entry["method"], entry["status"], entry["fault"]) == ("POST", None, "drop_before")
    created_id(http.post(subs_url, data=subscription_xml()))  # the session recovers on a new connection


def test_drop_after_commits_the_write(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    emulator.add_fault(method="POST", action="drop_after")
    with pytest.raises(requests.ConnectionError):
        http.post(subs_url, data=subscription_xml())
    (sid,) = ids(http.get(subs_url))
    assert [s["subscription_id"] for s in emulator.state()["subscriptions"]] == [sid]
    assert emulator.requests()[0]["status"] == 201
    assert emulator.requests()[0]["fault"] == "drop_after"
    # and a retried POST is a duplicate, as with the real API
    assert http.post(subs_url, data=subscription_xml()).status_code == 409


def test_drop_after_on_delete_commits(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml()))
    emulator.add_fault(method="DELETE", action="drop_after")
    with pytest.raises(requests.ConnectionError):
        http.delete(f"{subs_url}/{sid}")
    assert http.get(f"{subs_url}/{sid}").status_code == 404


def test_malformed_get_is_unparseable(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    created_id(http.post(subs_url, data=subscription_xml()))
    emulator.add_fault(method="GET", action="malformed")
    response = http.get(subs_url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    assert int(response.headers["Content-Length"]) == len(response.content) > 0
    with pytest.raises(etree.XMLSyntaxError):
        parse(response)
    assert len(ids(http.get(subs_url))) == 1  # same keep-alive connection still usable


def test_malformed_post_commits_but_hides_location(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    emulator.add_fault(method="POST", action="malformed")
    response = http.post(subs_url, data=subscription_xml())
    assert response.status_code == 201
    assert "Location" not in response.headers
    with pytest.raises(etree.XMLSyntaxError):
        parse(response)
    assert emulator.state()["counts"]["subscriptions"] == 1


def test_times_and_unlimited_rules(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    emulator.add_fault(method="GET", action="status", status=502, times=2)
    assert [http.get(subs_url).status_code for _ in range(3)] == [502, 502, 200]
    emulator.add_fault(method="GET", action="status", status=504, times=None)
    assert [http.get(subs_url).status_code for _ in range(4)] == [504] * 4
    (rule,) = [r for r in emulator.state()["faults"] if r["times"] is None]
    assert rule["hits"] == 4
    emulator.clear_faults()
    assert http.get(subs_url).status_code == 200


def test_rules_match_method_and_path_substring(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml()))
    emulator.add_fault(method="delete", path=sid, action="status", status=500, times=0)
    assert http.get(f"{subs_url}/{sid}").status_code == 200  # other method
    assert http.delete(f"{subs_url}/other").status_code == 404  # other path
    assert http.delete(f"{subs_url}/{sid}").status_code == 500
    emulator.add_fault(path="orderType=portins", action="status", status=418)
    assert http.get(subs_url, params={"orderType": "portins"}).status_code == 418


def test_first_matching_rule_wins(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    emulator.add_fault(action="status", status=501)
    emulator.add_fault(action="status", status=502)
    assert [http.get(subs_url).status_code for _ in range(3)] == [501, 502, 200]


def test_token_endpoint_can_be_faulted() -> None:
    with Emulator(oauth_clients=(("cid", "csecret", "9900000"),)) as emu:
        emu.add_fault(path="oauth2/token", action="status", status=503)
        data = {"grant_type": "client_credentials"}
        assert requests.post(emu.token_url, data=data, auth=("cid", "csecret")).status_code == 503
        assert requests.post(emu.token_url, data=data, auth=("cid", "csecret")).status_code == 200


def test_control_plane_is_never_faulted(emulator: Emulator) -> None:
    emulator.add_fault(action="drop_before", times=None)
    assert requests.get(f"{emulator.control_url}/state").status_code == 200
    assert requests.post(f"{emulator.control_url}/reset", json={}).status_code == 200
    assert emulator.state()["faults"] == []


def test_fault_rules_over_http(emulator: Emulator) -> None:
    url = f"{emulator.control_url}/faults"
    created = requests.post(url, json={"method": "GET", "path": "/api", "action": "status", "status": 503})
    assert created.status_code == 201
    assert created.json()["fault"]["action"] == "status"
    assert [r["status"] for r in requests.get(url).json()["faults"]] == [503]
    bad = requests.post(url, json={"action": "explode"})
    assert bad.status_code == 400
    assert "drop_before" in bad.json()["error"]
    for invalid in ({"action": "status", "status": 99}, {"action": "delay", "delay": -1}, {"action": "x", "bogus": 1}):
        assert requests.post(url, json=invalid).status_code == 400
    assert requests.delete(url).json() == {"faults": []}
    assert requests.get(url).json()["faults"] == []
