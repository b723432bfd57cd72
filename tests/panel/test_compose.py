"""docker-compose.yml stays in step with the code (this machine has no Docker engine to run it)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_web_worker_and_beat_run_one_image_against_postgres_and_redis() -> None:
    app = [SERVICES[name] for name in ("web", "worker", "beat")]
    assert {service["image"] for service in app} == {"smm-panel:latest"}
    for service in app:
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["DEBUG"] == "0"
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "gunicorn panel.wsgi" in SERVICES["web"]["command"]
    assert "celery -A panel worker" in SERVICES["worker"]["command"]
    assert "celery -A panel beat" in SERVICES["beat"]["command"]


def test_every_long_running_service_has_a_health_check_and_data_has_volumes() -> None:
    for name in ("web", "worker", "db", "redis"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert set(COMPOSE["volumes"]) >= {"pgdata", "redisdata"}
    assert any("pgdata:" in volume for volume in SERVICES["db"]["volumes"])


def test_the_access_log_never_prints_query_strings_where_api_keys_travel() -> None:
    web = SERVICES["web"]["command"]
    assert "%(U)s" in web and "%(r)s" not in web and "%(q)s" not in web
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "%(U)s" in dockerfile


def test_the_environment_contract_is_documented() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in (
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "SIEULIKE_API_URL",
        "SIEULIKE_API_KEY",
        "SIEULIKE_TIMEOUT",
    ):
        assert name in example, name


# --- issue 12: only the proxy is published; the panel trusts it, a shared cache, a moved admin ---


def test_gunicorn_is_not_published_to_the_world_only_the_proxy_is() -> None:
    assert "ports" not in SERVICES["web"]
    assert {"80:80", "443:443"} <= set(SERVICES["proxy"]["ports"])
    for name, service in SERVICES.items():
        if name != "proxy":
            assert "ports" not in service, name
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile


def test_the_panel_trusts_forwarded_headers_from_the_proxy_alone() -> None:
    proxy_address = SERVICES["proxy"]["networks"]["edge"]["ipv4_address"]
    trusted = SERVICES["web"]["environment"]["TRUSTED_PROXIES"].split(",")
    assert proxy_address in trusted
    assert set(trusted) <= {proxy_address, "127.0.0.1"}  # loopback: the health check only


def test_the_stack_has_a_shared_cache_and_an_admin_url_of_its_own() -> None:
    env = SERVICES["web"]["environment"]
    assert env["CACHE_URL"].startswith("redis://")
    assert env["ADMIN_URL"].startswith("${ADMIN_URL:?")  # compose refuses to start without one
    assert "createcachetable" in SERVICES["web"]["command"]
