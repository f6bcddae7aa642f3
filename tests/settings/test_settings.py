"""Settings from environment, TOML file, .env and secret files, and what each holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from okrsync.config.settings import Settings, SettingsError, load_settings
from tests.settings.conftest import CANARY


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.jira == {} and settings.teambition == {}
    assert settings.state_url == "sqlite:///okrsync.db"
    assert settings.mappings == Path("mappings")
    assert settings.schedule == "*/15 * * * *"
    assert settings.listen == "127.0.0.1:9464"
    assert (settings.log_level, settings.log_format) == ("info", "text")


@pytest.mark.usefixtures("cloud_env")
def test_named_jira_connections_of_both_flavours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRSYNC_JIRA__DC__URL", "https://jira.acme.internal")
    monkeypatch.setenv("OKRSYNC_JIRA__DC__PAT", CANARY)
    monkeypatch.setenv("OKRSYNC_JIRA__DC__FLAVOUR", "datacenter")
    monkeypatch.setenv("OKRSYNC_JIRA__DC__CONCURRENCY", "2")
    settings = load_settings()
    assert settings.connection_names() == {"jira": {"cloud", "dc"}, "teambition": set()}
    cloud, dc = settings.jira["cloud"], settings.jira["dc"]
    assert cloud.flavour == "auto"  # detected from serverInfo unless given
    assert cloud.email == "bot@acme.com" and cloud.pat is None
    assert cloud.api_token is not None and cloud.api_token.get_secret_value() == CANARY
    assert dc.flavour == "datacenter" and dc.email is None
    assert dc.pat is not None and dc.pat.get_secret_value() == CANARY
    assert (cloud.concurrency, dc.concurrency) == (4, 2)
    assert CANARY not in repr(settings)
    assert CANARY not in str(settings.model_dump())


def test_teambition_connection_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__APP_ID", "okrsync-demo")
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__APP_SECRET", CANARY)
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__TENANT_ID", "tb-org-demo")
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__OPERATOR_ID", "tb-user-ana")
    main = load_settings().teambition["main"]
    assert str(main.base_url) == "https://open.teambition.com/api"
    assert (main.app_id, main.tenant_id, main.operator_id) == (
        "okrsync-demo",
        "tb-org-demo",
        "tb-user-ana",
    )
    assert main.app_secret.get_secret_value() == CANARY


def test_scalar_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRSYNC_MAPPINGS", "okrs/")
    monkeypatch.setenv("OKRSYNC_STATE_URL", "postgresql+psycopg://okrsync@db:5432/okrsync")
    monkeypatch.setenv("OKRSYNC_SCHEDULE", "  0   9 * * mon-fri ")
    monkeypatch.setenv("OKRSYNC_LISTEN", "[::]:0")
    monkeypatch.setenv("OKRSYNC_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("OKRSYNC_LOG_FORMAT", "json")
    monkeypatch.setenv("OKRSYNC_SYNC__DROP_THRESHOLD", "0.3")
    monkeypatch.setenv("OKRSYNC_RETRY__MAX_ATTEMPTS", "2")
    settings = load_settings()
    assert settings.mappings == Path("okrs")
    assert settings.state_url == "postgresql+psycopg://okrsync@db:5432/okrsync"
    assert settings.schedule == "0 9 * * mon-fri"  # normalized
    assert settings.listen == "[::]:0"  # port 0: any free port
    assert (settings.log_level, settings.log_format) == ("warning", "json")
    assert settings.sync.drop_threshold == 0.3
    assert settings.retry.max_attempts == 2


@pytest.mark.parametrize(("given", "kept"), [("15m", "15m"), ("@daily", "0 0 * * *")])
def test_schedule_takes_intervals_and_cron_macros(
    monkeypatch: pytest.MonkeyPatch, given: str, kept: str
) -> None:
    monkeypatch.setenv("OKRSYNC_SCHEDULE", given)
    assert load_settings().schedule == kept


def test_toml_file_and_environment_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "okrsync.toml"
    config.write_text(
        'state_url = "sqlite:///from-file.db"\nlog_level = "warning"\nschedule = "1h"\n'
        '[teambition.main]\napp_id = "app"\napp_secret = "s3cr3t-value"\ntenant_id = "org"\n'
    )
    monkeypatch.setenv("OKRSYNC_LOG_LEVEL", "DEBUG")
    (tmp_path / ".env").write_text("OKRSYNC_SCHEDULE=30m\nOKRSYNC_LOG_LEVEL=error\n")
    settings = load_settings(config)
    assert settings.state_url == "sqlite:///from-file.db"
    assert settings.log_level == "debug"  # environment wins over .env and the file
    assert settings.schedule == "30m"  # .env wins over the file
    assert settings.teambition["main"].tenant_id == "org"


def test_config_file_from_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('listen = "0.0.0.0:9100"\n')
    monkeypatch.setenv("OKRSYNC_CONFIG", str(config))
    assert load_settings().listen == "0.0.0.0:9100"


def test_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OKRSYNC_STATE_URL=sqlite:///dotenv.db\n")
    assert load_settings().state_url == "sqlite:///dotenv.db"


@pytest.mark.usefixtures("cloud_env")
def test_secret_from_a_file_named_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text(CANARY + "\n")
    monkeypatch.delenv("OKRSYNC_JIRA__CLOUD__API_TOKEN")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__API_TOKEN_FILE", str(secret))
    token = load_settings().jira["cloud"].api_token
    assert token is not None and token.get_secret_value() == CANARY


def test_secret_from_a_file_named_in_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "tb_secret").write_text(CANARY)
    config = tmp_path / "okrsync.toml"
    config.write_text(
        '[teambition.main]\napp_id = "app"\ntenant_id = "org"\n'
        f'app_secret_file = "{tmp_path / "tb_secret"}"\n'
    )
    assert load_settings(config).teambition["main"].app_secret.get_secret_value() == CANARY


def test_secret_from_the_secrets_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "okrsync_teambition__main__app_secret").write_text(CANARY + "\n")
    monkeypatch.setenv("OKRSYNC_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__APP_ID", "app")
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__TENANT_ID", "org")
    app_secret = load_settings().teambition["main"].app_secret
    assert app_secret.get_secret_value() == CANARY


def test_overrides_win_over_every_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRSYNC_LOG_LEVEL", "debug")
    assert load_settings(log_level="error").log_level == "error"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.log_level = "debug"  # type: ignore[misc]


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path / "nope.toml")
    assert info.value.problems == [f"{tmp_path / 'nope.toml'}: config file not found"]


def test_connection_names_for_mapping_checks() -> None:
    settings = Settings.model_validate(
        {
            "jira": {"cloud": {"url": "https://a.atlassian.net", "pat": "x" * 8}},
            "teambition": {"main": {"app_id": "a", "app_secret": "s" * 8, "tenant_id": "t"}},
        }
    )
    assert settings.connection_names() == {"jira": {"cloud"}, "teambition": {"main"}}


def test_webhook_secrets_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "hook").write_text(CANARY + "\n")
    config = tmp_path / "okrsync.toml"
    config.write_text(f'[webhooks]\njira_secret_file = "{tmp_path / "hook"}"\n')
    monkeypatch.setenv("OKRSYNC_WEBHOOKS__TEAMBITION_SECRET_FILE", str(tmp_path / "hook"))
    webhooks = load_settings(config).webhooks
    assert webhooks.jira_secret is not None and webhooks.teambition_secret is not None
    assert webhooks.jira_secret.get_secret_value() == CANARY
    assert webhooks.teambition_secret.get_secret_value() == CANARY
