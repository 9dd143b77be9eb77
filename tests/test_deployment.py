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


def replicas_override() -> dict[str, Any]:
    text = (ROOT / "docker-compose.replicas.yml").read_text("utf-8")

    class Loader(yaml.SafeLoader):
        """Reads Compose's `!reset` tag as "no value"."""

    Loader.add_constructor("!reset", lambda *_: None)
    data: dict[str, Any] = yaml.load(text, Loader=Loader)  # noqa: S506 -- a safe subclass
    return data


def test_the_replicated_layout_runs_two_bots_and_two_rasas_behind_one_published_port() -> None:
    base, override = compose()["services"], replicas_override()["services"]
    assert set(override) - set(base) == {"lb"}
    assert override["bot"]["deploy"]["replicas"] >= 2
    assert override["rasa"]["deploy"]["replicas"] >= 2
    # Only the load balancer publishes a port; the bots' port is reset.
    assert override["bot"]["ports"] is None
    assert [name for name, s in override.items() if s.get("ports")] == ["lb"]
    assert override["lb"]["ports"] == ["8080:8080"]
    # The bots reach Rasa through the balancer, which never publishes Rasa's port.
    assert override["bot"]["environment"]["RASA_URL"] == "http://lb:5005"
    # Behind nginx, the client is the last X-Forwarded-For address, not nginx itself.
    assert override["bot"]["environment"]["TRUST_X_FORWARDED_FOR"] == "true"
    assert (
        "X-Forwarded-For $proxy_add_x_forwarded_for" in (ROOT / "deploy" / "nginx.conf").read_text()
    )
    nginx = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    assert "server bot:8080" in nginx
    assert "server rasa:5005" in nginx
    assert "listen 5005" in nginx
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in override["lb"]["volumes"]
    # Every replica shares Redis: the base file's REDIS_URL and Rasa's Redis stores stay.
    assert base["bot"]["environment"]["REDIS_URL"].startswith("redis://redis:")
    endpoints = yaml.safe_load((ROOT / "rasa_project" / "endpoints.yml").read_text("utf-8"))
    assert endpoints["lock_store"]["type"] == "redis"
    assert endpoints["tracker_store"]["type"] == "redis"
