"""Opt-in provider diagnostics: quiet unless BANDWIDTH_LOG or the engine's -v level asks for them."""

from __future__ import annotations

import logging

import pytest

from bandwidth_provider import logs


@pytest.mark.parametrize(
    ("environ", "flags", "level"),
    [
        ({}, [], None),
        ({"BANDWIDTH_LOG": "debug"}, [], logging.DEBUG),
        ({"BANDWIDTH_LOG": " INFO "}, [], logging.INFO),
        ({"BANDWIDTH_LOG": "loud"}, [], None),
        ({}, ["--logtostderr", "-v=9"], logging.DEBUG),
        ({}, ["--v=11"], logging.DEBUG),
        ({}, ["-v=3"], None),
        ({"BANDWIDTH_LOG": "warning"}, ["-v=9"], logging.WARNING),
    ],
)
def test_level_from_environment_and_engine_flags(environ: dict[str, str], flags: list[str], level: int | None) -> None:
    assert logs.level_from(environ, flags) == level


def test_enable_adds_one_handler_and_stays_quiet_by_default() -> None:
    logger = logging.getLogger("bandwidth_provider")
    before = list(logger.handlers)
    try:
        logs.enable({})
        assert logger.handlers == before
        logs.enable({"BANDWIDTH_LOG": "debug"})
        logs.enable({"BANDWIDTH_LOG": "debug"})
        added = [h for h in logger.handlers if h not in before]
        assert len(added) == 1 and logger.level == logging.DEBUG
    finally:
        logger.handlers = before
        logger.setLevel(logging.NOTSET)
