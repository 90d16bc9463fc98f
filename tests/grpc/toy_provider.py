"""A trivial dynamic provider used to test the harness itself (not the Bandwidth provider).

It lives in its own importable module so it pickles by reference, like the real provider. Its
"remote" store is a dict in the provider process, so every fact a test checks went through gRPC.
Behaviour is steered by input values:

* ``kind`` change -> replace (``delete_before_replace`` when ``dbr`` is true); ``value`` change -> update;
* ``diff_unknown`` true -> ``DiffResult()`` (changes None, so the engine must diff by itself);
* ``value == "bad"`` -> a CheckFailure on ``value``; ``fail`` true -> create raises;
* outputs echo the configured ``toy:greeting`` (or env TOY_GREETING) as ``greeting``, and the
  environment variables named (comma-separated) by ``toy:echoEnv`` as ``echo``.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

_STORE: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()
_IDS = itertools.count(1)


class ToyProvider(ResourceProvider):
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        self.greeting = req.config.get("toy:greeting") or os.environ.get("TOY_GREETING") or ""
        names = (req.config.get("toy:echoEnv") or "").split(",")
        self.echo = ",".join(f"{n}={os.environ.get(n, '<unset>')}" for n in names if n)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if news.get("value") == "bad":
            failures.append(CheckFailure("value", "must not be 'bad'; allowed values: anything else"))
        inputs = {k: v for k, v in news.items() if k != "__provider"}
        return CheckResult(inputs, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if news.get("diff_unknown"):
            return DiffResult()
        replaces = [k for k in ("kind",) if isinstance(news.get(k), Unknown) or olds.get(k) != news.get(k)]
        changed = replaces or any(
            isinstance(news.get(k), Unknown) or olds.get(k) != news.get(k) for k in ("value", "kind")
        )
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=bool(news.get("dbr")))

    def create(self, props: dict[str, Any]) -> CreateResult:
        if props.get("fail"):
            raise RuntimeError("create refused: fail was set")
        outs = {k: v for k, v in props.items() if k != "__provider"}
        outs["greeting"] = self.greeting
        outs["echo"] = self.echo
        with _LOCK:
            id_ = f"toy-{next(_IDS)}"
            _STORE[id_] = outs
        return CreateResult(id_, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _LOCK:
            live = _STORE.get(id_)
        if live is None:
            return ReadResult("", {})
        inputs = {k: v for k, v in live.items() if k in ("kind", "value")}
        return ReadResult(id_, dict(live), inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = {k: v for k, v in news.items() if k != "__provider"}
        outs["greeting"] = self.greeting
        with _LOCK:
            _STORE[id_] = outs
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with _LOCK:
            _STORE.pop(id_, None)
