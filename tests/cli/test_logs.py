"""Log output: text or JSON lines, and configured secrets masked whatever carries them."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from okrsync.config.logs import MASK, JsonFormatter, RedactSecrets, setup_logging

SECRET = "canary-77aa-secret"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([SECRET, "abc"]))
    logger = logging.getLogger("okrsync.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_secrets_are_masked_in_messages_arguments_and_tracebacks(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    logger.info("token is %s", SECRET)
    try:
        raise RuntimeError(f"server said: bad token {SECRET}")
    except RuntimeError:
        logger.exception("call failed")
    text = stream.getvalue()
    assert SECRET not in text
    assert f"token is {MASK}" in text
    assert f"bad token {MASK}" in text
    # Values under four characters are too likely to be ordinary words to mask.
    logger.info("abc stays")
    assert "abc stays" in stream.getvalue()


def test_json_lines_carry_level_logger_message_and_exception(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    logger.warning("held %s", "pay-checkout-v2")
    try:
        raise ValueError(SECRET)
    except ValueError:
        logger.error("failed", exc_info=True)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["level"], first["logger"], first["message"]) == (
        "warning",
        "okrsync.test-logs",
        "held pay-checkout-v2",
    )
    assert second["message"] == "failed"
    assert "ValueError" in second["exception"] and SECRET not in second["exception"]


def test_set_up_logging_follows_the_current_stderr_and_masks_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("info", "json", [SECRET])
        later = io.StringIO()
        monkeypatch.setattr(sys, "stderr", later)  # replaced after set-up, as runners do
        logging.getLogger("okrsync.sync.cycle").info("using %s", SECRET)
        logging.getLogger("okrsync.sync.cycle").debug("not at info level")
        [line] = later.getvalue().splitlines()
        assert json.loads(line)["message"] == f"using {MASK}"
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
