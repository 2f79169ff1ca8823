"""The container files agree with the settings: deploy/idp.toml loads (unknown keys are
refused), and every IDP_* variable compose.yaml sets names a real setting."""

import re
from pathlib import Path

from idp.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_config_loads_with_compose_s_overrides():
    compose = (ROOT / "compose.yaml").read_text()
    names = re.findall(r"^\s+(IDP_[A-Z_]+):", compose, flags=re.MULTILINE)
    assert "IDP_DATABASE_URL" in names and "IDP_SERVER_SECRET_KEY" in names
    environ = {name: "x" for name in names}
    environ.update(IDP_SERVER_DEMO="true", IDP_SERVER_ISSUER="http://localhost:8080")
    settings = load_settings(ROOT / "deploy" / "idp.toml", environ=environ)
    assert settings.server.proxy_count == 1 and settings.server.demo
    known = {f"IDP_{section.upper()}_{key.upper()}"
             for section in ("server", "database", "redis", "keys", "sms", "email", "ops")
             for key in vars(getattr(settings, section))}
    assert set(names) - {"IDP_WORKERS"} <= known  # IDP_WORKERS is the image's own
    assert (ROOT / "deploy" / "nginx.conf").exists()
    assert "COPY deploy/idp.toml /etc/idp/idp.toml" in (ROOT / "Dockerfile").read_text()


def test_the_proxy_balances_over_compose_s_instances_on_the_image_s_port():
    """deploy/nginx.conf's upstream names the compose services that run the image, on the
    port the image listens on: a renamed service or port would leave the proxy answering 502."""
    compose = (ROOT / "compose.yaml").read_text()
    services = set(re.findall(r"^  ([a-z0-9-]+):\n    <<: \*idp$", compose, flags=re.MULTILINE))
    port = re.search(r"^ENV IDP_PORT=(\d+)$", (ROOT / "Dockerfile").read_text(),
                     flags=re.MULTILINE)[1]
    upstream = re.findall(r"^\s+server ([a-z0-9-]+):(\d+) ",
                          (ROOT / "deploy" / "nginx.conf").read_text(), flags=re.MULTILINE)
    assert len(services) == 2 and {name for name, _ in upstream} == services
    assert {p for _, p in upstream} == {port}
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in compose
