"""The harness itself, proven against a trivial provider before it is trusted with the real one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.grpc.harness import (
    UNKNOWN,
    CheckFailed,
    Decl,
    Engine,
    ProviderError,
    ProviderServer,
    from_struct,
    secret,
    to_struct,
)
from tests.grpc.toy_provider import ToyProvider


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderServer]:
    mp = pytest.MonkeyPatch()
    mp.setenv("BANDWIDTH_PASSWORD", "leaked-from-parent")  # must not reach the provider process
    mp.setenv("TOY_MARKER", "inherited")
    stderr = tmp_path_factory.mktemp("toy") / "stderr.txt"
    server = ProviderServer(ToyProvider(), stderr_path=stderr)
    mp.undo()
    with server:
        server.configure(
            {"toy:greeting": "hello", "toy:echoEnv": "BANDWIDTH_PASSWORD,TOY_MARKER"}, secret_keys=["toy:greeting"]
        )
        yield server


def test_struct_round_trip_matches_engine_marshalling() -> None:
    bag = {"n": 3122064000, "f": 1.5, "s": "x", "b": True, "none": None, "l": [1, {"a": UNKNOWN}]}
    assert from_struct(to_struct(bag)) == {"n": 3122064000, "f": 1.5, "s": "x", "b": True, "l": [1, {"a": UNKNOWN}]}


def test_configure_answers_like_the_dynamic_server(toy: ProviderServer) -> None:
    result = toy.configure({"toy:greeting": "hello", "toy:echoEnv": "BANDWIDTH_PASSWORD,TOY_MARKER"})
    assert (result.accept_secrets, result.supports_preview) == (False, False)
    assert toy.port and toy.pid


def test_secret_config_is_unwrapped_and_parent_bandwidth_env_is_scrubbed(toy: ProviderServer) -> None:
    created = toy.create({"kind": "a", "value": "v"}, name="cfg")
    assert created.outputs["greeting"] == "hello"
    assert created.outputs["echo"] == "BANDWIDTH_PASSWORD=<unset>,TOY_MARKER=inherited"
    assert created.outputs["__provider"] == toy.provider_string
    toy.delete(created.id, created.outputs)


def test_check_passes_unknowns_through_and_reports_failures(toy: ProviderServer) -> None:
    ok = toy.check({}, {"kind": UNKNOWN, "value": "v"})
    assert ok.inputs["kind"] == UNKNOWN and ok.failures == []
    assert ok.inputs["__provider"] == toy.provider_string
    bad = toy.check({}, {"kind": "a", "value": "bad"})
    assert bad.failures == [("value", "must not be 'bad'; allowed values: anything else")]


def test_diff_kinds(toy: ProviderServer) -> None:
    olds = {"kind": "a", "value": "v"}
    assert toy.diff("toy-x", olds, olds).changes == "none"
    assert toy.diff("toy-x", olds, {"kind": "a", "value": "w"}).changes == "some"
    replace = toy.diff("toy-x", olds, {"kind": "b", "value": "v", "dbr": True})
    assert (replace.changes, replace.replaces, replace.delete_before_replace) == ("some", ["kind"], True)
    assert toy.diff("toy-x", olds, {"kind": UNKNOWN, "value": "v"}).replaces == ["kind"]
    assert toy.diff("toy-x", olds, {**olds, "diff_unknown": True}).changes == "unknown"


def test_crud_and_error_details(toy: ProviderServer) -> None:
    created = toy.create({"kind": "a", "value": "v"})
    read = toy.read(created.id, created.outputs)
    assert read.id == created.id and read.inputs == {"kind": "a", "value": "v", "__provider": toy.provider_string}
    updated = toy.update(created.id, created.outputs, {"kind": "a", "value": "w"})
    assert updated.outputs["value"] == "w"
    toy.delete(created.id, updated.outputs)
    assert toy.read(created.id, updated.outputs).id == ""
    with pytest.raises(ProviderError) as err:
        toy.create({"kind": "a", "value": "v", "fail": True})
    assert "create refused: fail was set" in err.value.details
    assert err.value.method == "Create"


def test_engine_lifecycle(toy: ProviderServer) -> None:
    engine = Engine(toy)
    program = {"one": {"kind": "a", "value": "1"}, "two": {"kind": "a", "value": "2"}}

    plan = engine.preview(program)
    assert sorted(plan.creates) == ["one", "two"]
    assert {m for m, _ in plan.calls} == {"Check"} and engine.state == {}

    plan = engine.up(program)
    assert sorted(plan.creates) == ["one", "two"] and set(engine.state) == {"one", "two"}
    assert not engine.preview(program).changed

    changed = {"one": {"kind": "a", "value": "1b"}, "two": {"kind": "b", "value": "2"}}
    plan = engine.preview(changed)
    assert (plan.updates, plan.replaces) == (["one"], ["two"])
    old_two = engine.state["two"].id
    plan = engine.up(changed)
    assert engine.state["two"].id != old_two
    # create-before-delete: the replacement is created before the old one is deleted.
    calls = [c for c in plan.calls if c[1] == "two"]
    assert calls.index(("Create", "two")) < calls.index(("Delete", "two"))

    # Out-of-band deletion and drift, then refresh.
    toy.delete(engine.state["one"].id, engine.state["one"].outputs)
    toy.update(engine.state["two"].id, engine.state["two"].outputs, {"kind": "b", "value": "drifted"})
    plan = engine.refresh()
    assert plan.deletes == ["one"] and "one" not in engine.state
    assert engine.state["two"].inputs["value"] == "drifted"
    assert engine.preview(changed).updates == ["two"]

    plan = engine.destroy()
    assert plan.deletes == ["two"] and engine.state == {}
    assert toy.read(old_two, {}).id == ""


def test_engine_delete_before_replace_and_removed_resources(toy: ProviderServer) -> None:
    engine = Engine(toy, parallel=1)
    engine.up({"r": {"kind": "a", "value": "1"}, "gone": {"kind": "a", "value": "g"}})
    plan = engine.up({"r": Decl({"kind": "b", "value": "1"}, delete_before_replace=True)})
    assert plan.calls.index(("Delete", "r")) < plan.calls.index(("Create", "r"))
    assert plan.deletes == ["gone"] and set(engine.state) == {"r"}
    engine.destroy()


def test_engine_unknown_diff_falls_back_to_input_comparison(toy: ProviderServer) -> None:
    engine = Engine(toy)
    engine.up({"u": {"kind": "a", "value": "1", "diff_unknown": True}})
    assert engine.preview({"u": {"kind": "a", "value": "1", "diff_unknown": True}}).sames == ["u"]
    assert engine.preview({"u": {"kind": "a", "value": "2", "diff_unknown": True}}).updates == ["u"]
    engine.destroy()


def test_engine_same_step_keeps_old_outputs_and_secrets_are_annotated_by_name(toy: ProviderServer) -> None:
    engine = Engine(toy)
    engine.up({"s": Decl({"kind": "a", "value": secret("pw")}, additional_secret_outputs=["greeting"])})
    res = engine.state["s"]
    assert res.secret_keys == {"value", "greeting"}
    assert not [kv for kv in engine.stored_plaintext() if kv[2] in ("pw", "hello")]
    before = res.outputs
    engine.up({"s": Decl({"kind": "a", "value": secret("pw")}, additional_secret_outputs=["greeting"])})
    assert engine.state["s"].outputs is before
    engine.destroy()


def test_check_failure_stops_preview(toy: ProviderServer) -> None:
    engine = Engine(toy)
    with pytest.raises(CheckFailed) as err:
        engine.preview({"b": {"kind": "a", "value": "bad"}})
    assert err.value.failures == {"b": [("value", "must not be 'bad'; allowed values: anything else")]}


def test_stderr_is_captured(toy: ProviderServer) -> None:
    with pytest.raises(ProviderError):
        toy.create({"kind": "a", "value": "v", "fail": True})
    # The server reports errors over gRPC, not stderr; the capture file exists and is readable.
    assert toy.stderr_path.exists()
    assert isinstance(toy.stderr_text(), str)
