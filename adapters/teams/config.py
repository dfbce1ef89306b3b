"""What the Teams adapter needs from the settings (SPEC §8, §11)."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.config import Settings


@dataclass(frozen=True, kw_only=True)
class TeamsConfig:
    app_id: str | None = None
    app_password: str | None = field(default=None, repr=False)
    tenant_id: str | None = None
    app_type: str = "MultiTenant"
    allow_unauthenticated: bool = False
    admins: frozenset[str] = frozenset()  # user ids or AAD object ids (CIRCLES_ADMINS)
    key_timeout: float = 5.0  # seconds to fetch Microsoft's signing keys before answering 503
    token_timeout: float = 10.0  # seconds to get the bot's access token before retrying later

    @property
    def accepts_requests(self) -> bool:
        """Without an app id, every request is refused unless unauthenticated use is allowed."""
        return bool(self.app_id) or self.allow_unauthenticated

    @property
    def unauthenticated(self) -> bool:
        """Local testing: no token is checked or sent."""
        return not self.app_id and self.allow_unauthenticated

    @classmethod
    def from_settings(cls, settings: Settings) -> TeamsConfig:
        password = settings.microsoft_app_password
        return cls(
            app_id=settings.microsoft_app_id or None,
            app_password=password.get_secret_value() if password else None,
            tenant_id=settings.microsoft_app_tenant_id or None,
            app_type=settings.microsoft_app_type,
            allow_unauthenticated=settings.teams_allow_unauthenticated,
            admins=settings.admins,
        )
