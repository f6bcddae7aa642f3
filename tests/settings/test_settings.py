"""Settings from environment, TOML file, .env and secret files; `okrsync config show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from okrsync.settings import SettingsError, load_settings

CANARY = "canary-9f3b2c7e-secret"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("OKRSYNC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    monkeypatch.setenv("OKRSYNC_SECRETS_DIR", str(tmp_path / "no-secrets"))


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.jira == {} and settings.teambition == {}
    assert settings.state_url == "sqlite:///okrsync.db"
    assert settings.mappings == Path("mappings")


def test_nested_environment_names_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", "https://acme.atlassian.net")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__EMAIL", "bot@acme.com")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__API_TOKEN", CANARY)
    monkeypatch.setenv("OKRSYNC_JIRA__DC__URL", "https://jira.acme.internal")
    monkeypatch.setenv("OKRSYNC_JIRA__DC__PAT", CANARY)
    monkeypatch.setenv("OKRSYNC_JIRA__DC__FLAVOUR", "datacenter")
    monkeypatch.setenv("OKRSYNC_SYNC__DROP_THRESHOLD", "0.3")
    settings = load_settings()
    assert set(settings.jira) == {"cloud", "dc"}
    assert settings.jira["dc"].flavour == "datacenter"
    assert settings.jira["cloud"].api_token is not None
    assert settings.jira["cloud"].api_token.get_secret_value() == CANARY
    assert settings.sync.drop_threshold == 0.3
    assert CANARY not in repr(settings)


def test_toml_file_and_environment_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "okrsync.toml"
    config.write_text(
        'state_url = "sqlite:///from-file.db"\nlog_level = "warning"\n'
        '[teambition.main]\napp_id = "app"\napp_secret = "s3cr3t-value"\ntenant_id = "org"\n'
    )
    monkeypatch.setenv("OKRSYNC_LOG_LEVEL", "DEBUG")
    settings = load_settings(config)
    assert settings.state_url == "sqlite:///from-file.db"
    assert settings.log_level == "debug"  # environment wins over the file
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


def test_secret_from_file_reference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(CANARY + "\n")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", "https://acme.atlassian.net")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__EMAIL", "bot@acme.com")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__API_TOKEN_FILE", str(secret))
    token = load_settings().jira["cloud"].api_token
    assert token is not None and token.get_secret_value() == CANARY


def test_secret_from_secrets_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "okrsync_teambition__main__app_secret").write_text(CANARY)
    monkeypatch.setenv("OKRSYNC_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__APP_ID", "app")
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__TENANT_ID", "org")
    app_secret = load_settings().teambition["main"].app_secret
    assert app_secret.get_secret_value() == CANARY


def test_missing_secret_file_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", "https://acme.atlassian.net")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__PAT_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "cloud.pat_file: cannot read" in str(info.value)


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        'lisen = "x"\nlog_level = "loud"\n[sync]\ndrop_threshold = 2\n'
        '[jira.cloud]\nurl = "https://a.atlassian.net"\n'
    )
    with pytest.raises(SettingsError) as info:
        load_settings(config)
    text = "\n".join(info.value.problems)
    assert f"{config}: lisen: Extra inputs are not permitted" in text
    assert f"{config}: log_level:" in text
    assert f"{config}: sync.drop_threshold: Input should be less than or equal to 1" in text
    assert "give either 'pat' or both 'email' and 'api_token'" in text
    assert len(info.value.problems) == 4


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_config_show_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from okrsync.cli import main

    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", "https://acme.atlassian.net")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__EMAIL", "bot@acme.com")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__API_TOKEN", CANARY)
    runner = CliRunner()
    shown = runner.invoke(main, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    assert CANARY not in shown.output
    assert "[jira.cloud]" in shown.output
    assert 'api_token = "**********"' in shown.output
    as_json = runner.invoke(main, ["config", "show", "--output", "json"])
    data = json.loads(as_json.output)
    assert data["jira"]["cloud"]["api_token"] == "**********"
    assert data["jira"]["cloud"]["email"] == "bot@acme.com"


def test_bad_settings_exit_with_located_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from okrsync.cli import main

    monkeypatch.setenv("OKRSYNC_LISTEN", "nowhere")
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 2
    assert "listen: Value error, listen must be HOST:PORT" in result.output
