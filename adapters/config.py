"""Configuration from the environment and a `.env` file (SPEC §11).

Validated at start: every problem is collected into one list, so an operator
fixes them all in one go. Secrets are `SecretStr` and never printed.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import DEFAULT_URL


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = DEFAULT_URL
    host: str = "127.0.0.1"
    port: int = Field(default=3978, ge=1, le=65535)
    migrate_on_start: bool = True
    public_url: str | None = None  # how people reach this server (calendar links); http://HOST:PORT

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_tenant_id: str | None = None
    microsoft_app_type: str = "MultiTenant"
    teams_allow_unauthenticated: bool = False

    # Signing in to the dashboard (SPEC §16): "Sign in with Slack" uses SLACK_CLIENT_ID and
    # SLACK_CLIENT_SECRET; Microsoft Entra ID its own app registration. The URLs are where
    # each provider's `.well-known/openid-configuration` lives (tests point them elsewhere).
    slack_oidc_url: str = "https://slack.com"
    entra_client_id: str | None = None
    entra_client_secret: SecretStr | None = None
    entra_tenant_id: str = Field(default="organizations", pattern=r"^[A-Za-z0-9.-]{1,64}$")
    entra_authority_url: str = "https://login.microsoftonline.com"

    circles_admins: str = ""
    circles_default_tz: str = "UTC"
    circles_retention_days: int = Field(default=365, ge=1)
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.CONSOLE
    admin_secret_key: SecretStr | None = None  # signs the dashboard's session cookie (/admin/)

    @field_validator("circles_default_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import available_timezones

        if value not in available_timezones():
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)")
        return value

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.circles_admins.split(",") if a.strip())

    @property
    def public_base(self) -> str:
        """The server's address as people reach it, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token or self.slack_client_id or self.slack_app_token)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id or self.teams_allow_unauthenticated)

    def problems(self) -> list[str]:
        """What is inconsistent between settings that are each valid on their own."""
        found: list[str] = []
        if self.slack_bot_token and not self.slack_signing_secret and not self.slack_app_token:
            found.append(
                "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not (needed to verify requests)"
            )
        if self.slack_client_id and not (self.slack_client_secret and self.slack_signing_secret):
            found.append(
                "SLACK_CLIENT_ID needs SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET for the OAuth install"
            )
        if self.slack_app_token and not self.slack_bot_token and not self.slack_client_id:
            found.append("SLACK_APP_TOKEN (Socket Mode) needs SLACK_BOT_TOKEN")
        if self.entra_client_id and not self.entra_client_secret:
            found.append("ENTRA_CLIENT_ID is set but ENTRA_CLIENT_SECRET is not")
        for name, url in (
            ("SLACK_OIDC_URL", self.slack_oidc_url),
            ("ENTRA_AUTHORITY_URL", self.entra_authority_url),
        ):
            if not url.startswith(("https://", "http://")):
                found.append(f"{name} must start with https:// (or http://), not {url}")
        if self.microsoft_app_id and not self.microsoft_app_password:
            found.append("MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is not")
        if (
            self.teams_allow_unauthenticated
            and not self.microsoft_app_id
            and not _loopback(self.host)
        ):
            found.append(
                "TEAMS_ALLOW_UNAUTHENTICATED=true lets anyone make the bot post to any address;"
                f" it is for local testing only, so HOST must be a loopback address, not {self.host}"
            )
        if self.microsoft_app_type == "SingleTenant" and not self.microsoft_app_tenant_id:
            found.append("MICROSOFT_APP_TYPE=SingleTenant needs MICROSOFT_APP_TENANT_ID")
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            found.append(f"PUBLIC_URL must start with https:// (or http://), not {self.public_url}")
        if not self.database_url.startswith(
            ("sqlite://", "sqlite+aiosqlite://", "postgresql+asyncpg://")
        ):
            found.append("DATABASE_URL must start with sqlite:// or postgresql+asyncpg://")
        return found


def _loopback(host: str) -> bool:
    """True when only this machine can connect to `host` (127.0.0.1, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConfigurationError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings() -> Settings:
    """Settings, or `ConfigurationError` listing every problem (never a secret's value)."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigurationError(
            [f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()]
        ) from None
    if problems := settings.problems():
        raise ConfigurationError(problems)
    return settings
