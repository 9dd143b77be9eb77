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
    action_server_url: str = "http://127.0.0.1:5055"
    action_server_port: Annotated[int, Field(ge=1, le=65535)] = 5055

    # Redis: unset means the embedded in-process store (state is not persistent)
    redis_url: str | None = None
    redis_key_prefix: str = "bizbot:"
    conversation_ttl_days: Annotated[int, Field(ge=1)] = 30

    # Chat contract limits
    max_text_chars: Annotated[int, Field(ge=1)] = 2000

    # Fact store
    seeds_dir: Path = ROOT / "seeds"
    facts_dir: Path = ROOT / "var" / "facts"

    @field_validator("redis_url", "rasa_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `.env.example` lists every variable; an empty value there means "not configured".
        return None if value == "" else value

    @field_validator("rasa_url", "action_server_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")
