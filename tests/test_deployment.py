"""docker-compose.yml describes the production topology; no Docker engine runs in CI, so check its shape here."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_has_the_production_topology_with_health_checks():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker"):
        assert "test" in services[name]["healthcheck"], name
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "gunicorn" in (ROOT / "Dockerfile").read_text()
    assert services["beat"]["command"][:4] == ["celery", "-A", "sla_portal", "beat"]
    # web and worker share the folder where uploaded CSV imports wait for the worker
    assert services["web"]["volumes"] == services["worker"]["volumes"]


def test_healthz_answers_with_the_database_up(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
