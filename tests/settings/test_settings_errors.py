"""Bad settings: every problem at once, each naming where its value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from okrsync.config.settings import SettingsError, load_settings, unknown_environment
from tests.settings.conftest import CANARY


def problems(config: Path | None = None) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load_settings(config)
    return info.value.problems


# (environment, the one problem it must produce)
ENVIRONMENT_CASES = [
    (
        {"OKRSYNC_LISTEN": "nowhere"},
        "OKRSYNC_LISTEN: must be HOST:PORT, e.g. 0.0.0.0:9464 (port 0: any free port)",
    ),
    (
        {"OKRSYNC_LISTEN": "host:70000"},
        "OKRSYNC_LISTEN: must be HOST:PORT, e.g. 0.0.0.0:9464 (port 0: any free port)",
    ),
    ({"OKRSYNC_LOG_FORMAT": "xml"}, "OKRSYNC_LOG_FORMAT: should be 'text' or 'json'"),
    (
        {"OKRSYNC_SCHEDULE": "61 * * * *"},
        "OKRSYNC_SCHEDULE: '61 * * * *' is not a valid cron expression: bad minute",
    ),
    (
        {"OKRSYNC_SCHEDULE": "every tuesday"},
        "OKRSYNC_SCHEDULE: 'every tuesday' is neither an interval like 15m or 1h30m nor a "
        "cron expression of 5 fields (minute hour day month weekday); it has 2 fields",
    ),
    ({"OKRSYNC_SCHEDULE": "0m"}, "OKRSYNC_SCHEDULE: interval '0m' must be longer than zero"),
    (
        {"OKRSYNC_STATE_URL": "mysql://okrsync@db/okrsync"},
        "OKRSYNC_STATE_URL: okrsync supports sqlite and postgresql, not mysql",
    ),
    (
        {"OKRSYNC_STATE_URL": "postgres://okrsync@db/okrsync"},
        "OKRSYNC_STATE_URL: write postgresql://... (or postgresql+psycopg://...), not postgres://",
    ),
    (
        {"OKRSYNC_STATE_URL": "okrsync.db"},
        "OKRSYNC_STATE_URL: state_url is not a database URL; expected e.g. "
        "sqlite:///okrsync.db or postgresql+psycopg://user@host:5432/okrsync",
    ),
    (
        {"OKRSYNC_JIRA__CLOUD__URL": "https://a.atlassian.net"},
        "OKRSYNC_JIRA__CLOUD__*: give either 'pat' or both 'email' and 'api_token'",
    ),
    (
        {"OKRSYNC_JIRA__CLOUD__URL": "https://a", "OKRSYNC_JIRA__CLOUD__PAT": "abcdef1"}
        | {"OKRSYNC_JIRA__CLOUD__FLAVOUR": "server"},
        "OKRSYNC_JIRA__CLOUD__FLAVOUR: should be 'cloud', 'datacenter' or 'auto'",
    ),
    (
        {"OKRSYNC_JIRA__CLOUD__URL": "https://a", "OKRSYNC_JIRA__CLOUD__PAT": "abcdef1"}
        | {"OKRSYNC_JIRA__CLOUD__CONCURRENCY": "0"},
        "OKRSYNC_JIRA__CLOUD__CONCURRENCY: should be greater than or equal to 1",
    ),
    (
        {"OKRSYNC_JIRA__CLOUD__URL": "https://a", "OKRSYNC_JIRA__CLOUD__PAT": "abcdef1"}
        | {"OKRSYNC_JIRA__CLOUD__CONCURENCY": "2"},
        "OKRSYNC_JIRA__CLOUD__CONCURENCY: unknown setting (did you mean 'concurrency'?)",
    ),
    (
        {"OKRSYNC_JIRA__URL": "https://a.atlassian.net"},
        "OKRSYNC_JIRA__*: 'url' is not a jira connection: settings of a connection go under "
        "its name, e.g. OKRSYNC_JIRA__MAIN__URL or a [jira.main] table",
    ),
    (
        {"OKRSYNC_TEAMBITION__MAIN__APP_ID": "app", "OKRSYNC_TEAMBITION__MAIN__TENANT_ID": "o"},
        "OKRSYNC_TEAMBITION__MAIN__APP_SECRET: required",
    ),
    (
        {"OKRSYNC_JIRA__CLOUD__URL": "https://a", "OKRSYNC_JIRA__CLOUD__PAT": " "},
        "OKRSYNC_JIRA__CLOUD__PAT: is empty",
    ),
]


@pytest.mark.parametrize(
    ("environment", "expected"), ENVIRONMENT_CASES, ids=[str(c[0]) for c in ENVIRONMENT_CASES]
)
def test_a_bad_environment_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert problems() == [expected]


def test_every_problem_of_a_config_file_at_once(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        'lisen = "x"\nlog_level = "loud"\n[sync]\ndrop_threshold = 2\n'
        '[jira.cloud]\nurl = "https://a.atlassian.net"\n'
    )
    assert problems(config) == [
        f"{config}: jira.cloud: give either 'pat' or both 'email' and 'api_token'",
        f"{config}: log_level: should be 'debug', 'info', 'warning' or 'error'",
        f"{config}: sync.drop_threshold: should be less than or equal to 1",
        f"{config}: lisen: unknown setting (did you mean 'listen'?)",
    ]


def test_a_malformed_config_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("listen = [\n")
    [problem] = problems(config)
    assert problem.startswith(f"{config}: ")


def test_dotenv_problems_name_the_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OKRSYNC_LISEN=x\nOKRSYNC_SYNC__DROP_THRESHOLD=3\n")
    assert problems() == [
        ".env: OKRSYNC_SYNC__DROP_THRESHOLD: should be less than or equal to 1",
        ".env: OKRSYNC_LISEN: unknown setting (did you mean OKRSYNC_LISTEN?)",
    ]


def test_a_secret_file_that_cannot_be_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", "https://acme.atlassian.net")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__PAT_FILE", str(tmp_path / "absent"))
    # Only the unreadable file is reported, not also "credentials missing".
    assert problems() == [
        f"OKRSYNC_JIRA__CLOUD__PAT_FILE: cannot read {tmp_path / 'absent'}: "
        "No such file or directory"
    ]


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")
    config = tmp_path / "okrsync.toml"
    config.write_text(
        f'[jira.cloud]\nurl = "https://a"\nemail = "a@b"\napi_token_file = "{tmp_path}/token"\n'
    )
    assert problems(config) == [f"{config}: jira.cloud.api_token_file: {tmp_path}/token is empty"]


def test_a_secret_and_its_file_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "pat").write_text(CANARY)
    config = tmp_path / "okrsync.toml"
    config.write_text(f'[jira.dc]\nurl = "https://a"\npat_file = "{tmp_path}/pat"\n')
    monkeypatch.setenv("OKRSYNC_JIRA__DC__PAT", "another-token")
    assert problems(config) == [f"{config}: jira.dc.pat_file: give 'pat' or 'pat_file', not both"]


def test_an_empty_file_in_the_secrets_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "okrsync_jira__dc__pat").write_text("\n")
    monkeypatch.setenv("OKRSYNC_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("OKRSYNC_JIRA__DC__URL", "https://jira.acme.internal")
    assert problems() == [f"{secrets / 'okrsync_jira__dc__pat'}: is empty"]


def test_no_message_quotes_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    # A secret pasted into the wrong variable must not be echoed back.
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", CANARY)
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__CONCURRENCY", CANARY)
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__PAT", CANARY)
    found = problems()
    assert len(found) == 2
    assert not any(CANARY in problem for problem in found)


def test_misspelt_variables_are_pointed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRSYNC_STATE_URI", "sqlite:///x.db")
    monkeypatch.setenv("OKRSYNC_JIRA_CLOUD_API_TOKEN_FILE", "/run/secrets/token")
    monkeypatch.setenv("OKRSYNC_TEST_POSTGRES_URL", "postgresql://x")  # other tools' own
    monkeypatch.setenv("OKRSYNC_JIRA_OPENAPI", "spec.json")
    monkeypatch.setenv("OKRSYNC_CONFIG", "")
    assert unknown_environment() == [
        "OKRSYNC_JIRA_CLOUD_API_TOKEN_FILE is not a setting (nested settings take a double "
        "underscore: "
        "OKRSYNC_JIRA__...)",
        "OKRSYNC_STATE_URI is not a setting (did you mean OKRSYNC_STATE_URL?)",
    ]


def test_an_empty_webhook_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty key would make every signature easy to forge.
    monkeypatch.setenv("OKRSYNC_WEBHOOKS__JIRA_SECRET", "")
    assert problems() == ["OKRSYNC_WEBHOOKS__JIRA_SECRET: is empty"]
