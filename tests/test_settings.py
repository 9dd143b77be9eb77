"""Settings come from the environment, with safe defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.cli.stack import rasa_environment
from bot.settings import Settings


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A developer's .env must not change what these tests see.
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_bind_to_loopback_and_use_the_embedded_store() -> None:
    settings = Settings()
    assert settings.bot_host == "127.0.0.1"
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.redis_url is None
    assert settings.conversation_ttl_days == 30


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_PORT", "9090")
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6380/2")
    monkeypatch.setenv("RASA_URL", "http://rasa:5005/")
    settings = Settings()
    assert settings.bot_port == 9090
    assert settings.redis_url == "redis://example.invalid:6380/2"
    assert settings.rasa_url == "http://rasa:5005"


def test_empty_redis_url_means_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    assert Settings().redis_url is None


def test_invalid_port_is_rejected_with_the_field_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_PORT", "70000")
    with pytest.raises(ValidationError, match="bot_port"):
        Settings()


def test_secrets_are_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_TOKEN", "s3cret-token")
    assert "s3cret-token" not in repr(Settings())


def test_rasa_gets_redis_endpoints_from_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:pw@10.0.0.5:6390/3")
    endpoints, env = rasa_environment(Settings(), {})
    assert endpoints.name == "endpoints.yml"
    assert env["RASA_REDIS_HOST"] == "10.0.0.5"
    assert env["RASA_REDIS_PORT"] == "6390"
    assert env["RASA_REDIS_DB"] == "3"
    assert env["RASA_REDIS_PASSWORD"] == "pw"
    assert env["RASA_TELEMETRY_ENABLED"] == "false"


def test_rasa_uses_in_memory_endpoints_without_redis() -> None:
    endpoints, env = rasa_environment(Settings(), {})
    assert endpoints.name == "endpoints.memory.yml"
    assert "RASA_REDIS_HOST" not in env
    assert env["ACTION_SERVER_URL"] == "http://127.0.0.1:5055"
