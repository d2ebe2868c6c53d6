"""Settings: `.env` and the environment, defaults, and one clear line for what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.settings import SettingsError, load_settings


def test_defaults_match_the_documented_contract(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "absent.env")
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///watchkeeper.db"
    assert settings.config_path == "oncall.yaml"
    assert (settings.host, settings.port) == ("127.0.0.1", 3000)
    assert settings.calendar_token is None
    assert (settings.api_token, settings.smtp_port) == (None, None)
    assert not settings.socket_mode


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\nPROMETHEUS_ALERT_TOKEN=s3cret\n")
    settings = load_settings({"PORT": "5000"}, env_file=env)
    assert settings.slack_bot_token == "xoxb-from-file"
    assert settings.port == 5000
    assert settings.secret("PROMETHEUS_ALERT_TOKEN") == "s3cret"
    assert settings.secret("UNSET_TOKEN") is None


def test_api_url_gets_its_trailing_slash(tmp_path: Path) -> None:
    settings = load_settings({"SLACK_API_URL": "http://127.0.0.1:9000/api"}, env_file=None)
    assert settings.slack_api_url == "http://127.0.0.1:9000/api/"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN must be"),
    ],
)
def test_missing_slack_credentials_name_the_variable(environ: dict[str, str], message: str) -> None:
    settings = load_settings(environ, env_file=None)
    with pytest.raises(SettingsError, match=message):
        settings.require_slack()


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, env_file=None
    )
    assert settings.socket_mode
    settings.require_slack()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PORT": "http"}, "PORT must be a port number"),
        ({"PORT": "70000"}, "PORT must be a port number"),
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT must be a port number"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL must be an http"),
        ({"DATABASE_URL": "watchkeeper.db"}, "DATABASE_URL must be a database URL like sqlite"),
        ({"DATABASE_URL": "mysql://wk:s3cret@db/wk"}, "got mysql://wk:\\*\\*\\*@db/wk$"),
        ({"DATABASE_URL": "postgres://wk@db/wk"}, "DATABASE_URL must name SQLite or PostgreSQL"),
    ],
)
def test_unusable_values_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ, env_file=None)


@pytest.mark.parametrize(
    "url",
    ["sqlite:///watchkeeper.db", "sqlite://", "postgresql://wk:s3cret@db:5432/wk",
     "postgresql+psycopg://wk@db/wk"],
)  # fmt: skip
def test_sqlite_and_postgresql_urls_are_taken_as_given(url: str) -> None:
    assert load_settings({"DATABASE_URL": url}, env_file=None).database_url == url
