"""docker-compose.yml, the Procfile, .env.example and Settings describe the same stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    return data


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text("utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def endpoint_variables() -> set[str]:
    names: set[str] = set()
    for name in ("endpoints.yml", "endpoints.memory.yml"):
        lines = (ROOT / "rasa_project" / name).read_text("utf-8").splitlines()
        text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        names |= set(re.findall(r"\$\{(\w+)\}", text))
    return names


def test_compose_runs_the_procfile_services_plus_a_training_step() -> None:
    services = set(compose()["services"])
    assert services - {"rasa-train"} == set(procfile())


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in compose()["services"].items():
        if name != "rasa-train":
            assert "healthcheck" in service, name


def test_compose_uses_the_pinned_rasa_image_and_redis_with_aof() -> None:
    services = compose()["services"]
    assert services["rasa"]["image"] == "rasa/rasa:3.6.21-full"
    assert services["redis"]["image"] == "redis:7"
    assert "--appendonly" in services["redis"]["command"]


def test_app_services_use_only_variables_that_settings_reads() -> None:
    services = compose()["services"]
    for name in ("bot", "actions"):
        assert set(services[name].get("environment", {})) <= SETTING_NAMES, name


def test_rasa_service_sets_exactly_the_variables_its_endpoints_need() -> None:
    env = set(compose()["services"]["rasa"]["environment"])
    assert env - {"RASA_TELEMETRY_ENABLED"} == endpoint_variables()


def test_ports_match_the_settings_defaults() -> None:
    defaults = Settings()
    services = compose()["services"]
    assert services["bot"]["ports"] == [f"{defaults.bot_port}:{defaults.bot_port}"]
    assert services["bot"]["environment"]["BOT_PORT"] == str(defaults.bot_port)
    assert services["actions"]["environment"]["ACTION_SERVER_PORT"] == str(
        defaults.action_server_port
    )
    assert services["actions"]["expose"] == [str(defaults.action_server_port)]
    assert services["rasa"]["expose"] == [str(defaults.rasa_port)]
    assert str(defaults.rasa_port) in services["rasa"]["command"]
    assert services["bot"]["environment"]["RASA_URL"].endswith(f":{defaults.rasa_port}")
    assert services["rasa"]["environment"]["ACTION_SERVER_URL"].endswith(
        f":{defaults.action_server_port}"
    )


def test_rasa_api_is_not_published_outside_the_compose_network() -> None:
    services = compose()["services"]
    assert [name for name, s in services.items() if "ports" in s] == ["bot"]


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    lines = (ROOT / ".env.example").read_text("utf-8").splitlines()
    names = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    assert names == SETTING_NAMES


def test_readme_settings_table_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == SETTING_NAMES
