"""What a user reads when the state database cannot be opened: clear, and no password."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from okrsync.state import StateError, StateStore, mask_url

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

CASES = [
    # (url, words the message must contain)
    ("postgresql+psycopg://u:s3cret@127.0.0.1:1/x", ["cannot open", "u:***@127.0.0.1:1/x"]),
    ("postgresql+psycopg://u:s3cret@127.0.0.1:notaport/x", ["malformed", "u:***@"]),
    ("not a database url", ["malformed", "sqlite:///okrsync.db"]),
    ("mysql://u:s3cret@127.0.0.1/x", ["supports sqlite and postgresql", "u:***@"]),
    ("postgresql+nosuchdriver://u:s3cret@127.0.0.1/x", ["nosuchdriver", "u:***@"]),
]


@pytest.mark.parametrize(("url", "words"), CASES)
def test_open_failures_name_the_url_without_its_password(url: str, words: list[str]) -> None:
    with pytest.raises(StateError) as raised:
        StateStore.open(url)
    message = str(raised.value)
    assert "s3cret" not in message
    for word in words:
        assert word in message


def test_an_unwritable_sqlite_location_is_a_clear_error(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(StateError, match="cannot create state database file"):
        StateStore.open("sqlite:////proc/okrsync/okrsync.db")


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("postgresql+psycopg://u:s3cret@h:5432/db", "postgresql+psycopg://u:***@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///okrsync.db", "sqlite:///okrsync.db"),
        ("postgresql://u:s3:cr@t@h:bad/db", "postgresql://u:***@h:bad/db"),
    ],
)
def test_mask_url(raw: str, masked: str) -> None:
    assert mask_url(raw) == masked


def test_stored_error_texts_lose_their_passwords(store: StateStore) -> None:
    run_id = store.start_run("full", at=T0)
    store.finish_run(
        run_id, "failed", error="cannot reach postgresql://ops:s3cret@db/okr (password=s3cret)"
    )
    store.set_source_health("jira:cloud", up=False, error="GET https://a:s3cret@jira/ failed")
    entry = store.record_write(
        run_id, "jira:cloud", "OKR-1", "OKR Progress", None, 0.5, note="via https://a:s3cret@x/"
    )
    last = store.last_run()
    assert last is not None and last.error is not None
    assert "s3cret" not in last.error and "ops:***@db" in last.error
    assert "s3cret" not in str(store.source_health()["jira:cloud"].last_error)
    assert [e.note for e in store.ledger() if e.id == entry] == ["via https://a:***@x/"]
