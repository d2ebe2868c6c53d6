"""One settings object, read from the environment and `.env` (mirrors `.env.example`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """A required setting is missing or a value cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = "sqlite:///watchkeeper.db"
    config_path: str = "oncall.yaml"
    host: str = "127.0.0.1"
    port: int = 3000
    calendar_token: str | None = None
    # The JSON API's Bearer token; unset, the API is not served at all.
    api_token: str | None = None
    # The email intake's port on HOST; unset, no SMTP listener.
    smtp_port: int | None = None
    log_level: str = "INFO"
    # Where phones and browsers reach the bot (acknowledge links); None: http://HOST:PORT.
    public_url: str | None = None
    # Signs acknowledge links; required once any wake-up method exists.
    watchkeeper_secret: str | None = None
    # Every variable as read, so the setup file's integration tokens (token_env) resolve here.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def secret(self, name: str) -> str | None:
        """The value of an environment variable named by the setup file (an integration token)."""
        value = self.environ.get(name)
        return value or None

    @property
    def base_url(self) -> str:
        """Where people's phones and browsers reach the bot, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def require_slack(self) -> None:
        """Refuse to run against Slack without the credentials the chosen mode needs."""
        if not self.slack_bot_token:
            raise SettingsError(
                "SLACK_BOT_TOKEN is not set: put the bot token (xoxb-…) in the environment or .env"
            )
        if self.socket_mode:
            if not self.slack_app_token or not self.slack_app_token.startswith("xapp-"):
                raise SettingsError(
                    "SLACK_APP_TOKEN must be an app-level token starting with xapp-"
                )
        elif not self.slack_signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify requests from Slack"
            )


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from `.env` overlaid by the process environment (the environment wins)."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = values.get(name)
        return value if value not in (None, "") else None

    port = _port("PORT", get("PORT") or "3000")
    smtp_port_text = get("SMTP_PORT")
    smtp_port = None if smtp_port_text is None else _port("SMTP_PORT", smtp_port_text)
    api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL, got {api_url!r}")
    if not api_url.endswith("/"):
        api_url += "/"
    public_url = get("PUBLIC_URL")
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise SettingsError(
            f"PUBLIC_URL must be an http(s) URL where phones reach the bot, got {public_url!r}"
        )
    database_url = get("DATABASE_URL") or "sqlite:///watchkeeper.db"
    _check_database_url(database_url)
    return Settings(
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_api_url=api_url,
        database_url=database_url,
        config_path=get("WATCHKEEPER_CONFIG") or "oncall.yaml",
        host=get("HOST") or "127.0.0.1",
        port=port,
        calendar_token=get("CALENDAR_TOKEN"),
        api_token=get("API_TOKEN"),
        smtp_port=smtp_port,
        log_level=(get("LOG_LEVEL") or "INFO").upper(),
        public_url=public_url,
        watchkeeper_secret=get("WATCHKEEPER_SECRET"),
        environ=dict(values),
    )


def _port(name: str, text: str) -> int:
    """A port number read from the variable ``name``."""
    try:
        port = int(text)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise SettingsError(f"{name} must be a port number (0-65535), got {text!r}") from None
    return port


def _check_database_url(url: str) -> None:
    """Refuse a DATABASE_URL that names no database we run on (never repeating a password)."""
    expected = "sqlite:///watchkeeper.db or postgresql://user:password@host:5432/watchkeeper"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingsError(f"DATABASE_URL must be a database URL like {expected}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        shown = parsed.render_as_string(hide_password=True)
        raise SettingsError(
            f"DATABASE_URL must name SQLite or PostgreSQL, like {expected}; got {shown}"
        )
