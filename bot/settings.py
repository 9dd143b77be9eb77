"""The one configuration class: every variable is read from the environment (or `.env`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration; see the README's settings table."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Bot HTTP server
    bot_host: str = "127.0.0.1"
    bot_port: Annotated[int, Field(ge=1, le=65535)] = 8080
    log_level: str = "INFO"

    # Rasa server and action server (Rasa's own API is bound to loopback; see docs/security.md)
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_port: Annotated[int, Field(ge=1, le=65535)] = 5005
    rasa_token: SecretStr | None = None
    rasa_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    rasa_retries: Annotated[int, Field(ge=0, le=10)] = 2
    rasa_max_in_flight: Annotated[int, Field(ge=1, le=256)] = 4
    action_server_url: str = "http://127.0.0.1:5055"
    action_server_port: Annotated[int, Field(ge=1, le=65535)] = 5055

    # Redis: unset means the embedded in-process store (state is not persistent)
    redis_url: str | None = None
    redis_key_prefix: str = "bizbot:"
    redis_max_connections: Annotated[int, Field(ge=2, le=10_000)] = 500
    conversation_ttl_days: Annotated[int, Field(ge=1)] = 30

    # Chat contract limits and per-user rate limit (token bucket in Redis)
    max_text_chars: Annotated[int, Field(ge=1)] = 2000
    rate_limit_per_minute: Annotated[float, Field(gt=0)] = 20.0
    rate_limit_burst: Annotated[int, Field(ge=1)] = 5
    # Web chat sessions (`POST /api/chat/session`): a token bucket per client address
    web_session_rate_per_minute: Annotated[float, Field(gt=0)] = 60.0
    web_session_burst: Annotated[int, Field(ge=1)] = 300
    # Only behind a reverse proxy that sets X-Forwarded-For and is the only way in
    trust_x_forwarded_for: bool = False

    # Telegram (python-telegram-bot): webhook mode when TELEGRAM_WEBHOOK_URL is set, else polling
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None

    # WeChat Official Account (wechatpy); the bridge is on when WECHAT_TOKEN is set
    wechat_token: SecretStr | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: SecretStr | None = None
    wechat_encoding_aes_key: SecretStr | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_passive_reply_s: Annotated[float, Field(gt=0, lt=5)] = 4.0

    # Service desk: agents as `name:role:sha256(token)` entries (role agent or admin), comma
    # separated; `bizbot desk token NAME` makes one. No agents means the console is off.
    desk_agents: str = ""
    desk_hours: str = "mon-fri 09:00-18:00"
    desk_timezone: str = "Asia/Shanghai"
    desk_transcript_turns: Annotated[int, Field(ge=1, le=200)] = 20
    desk_retention_days: Annotated[int, Field(ge=1)] = 90
    desk_delivery_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    desk_delivery_retry_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    desk_cookie_secure: bool | None = None
    desk_telegram_chat_id: str | None = None

    # Fact store
    seeds_dir: Path = ROOT / "seeds"
    facts_dir: Path = ROOT / "var" / "facts"

    @field_validator(
        "redis_url",
        "rasa_token",
        "telegram_bot_token",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "wechat_token",
        "wechat_app_id",
        "wechat_app_secret",
        "wechat_encoding_aes_key",
        "desk_cookie_secure",
        "desk_telegram_chat_id",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `.env.example` lists every variable; an empty value there means "not configured".
        return None if value == "" else value

    @field_validator("rasa_url", "action_server_url", "wechat_api_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")
