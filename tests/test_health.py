"""GET /health, /ready and /metrics: outside the tenant API, what an operator's probes and scraper read."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from restcomm.app import create_app
from restcomm.settings import Settings
from testkit.metrics import samples, value
from tests.conftest import ADMIN_SID
from tests.support import database_urls
from tests.support.processes import running_server
from tests.support.tcp_proxy import TcpProxy


async def test_health_and_ready_without_credentials(api):
    health = await api.client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "up"})
    ready = await api.client.get("/ready")
    assert ready.status_code == 200, ready.text
    # This app runs without SIP (port 0): the API is all it serves, which is ready.
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "sip": "off", "draining": False}}


async def test_ready_is_503_while_the_node_drains(api, app):
    app.context.engine.draining = True  # what engine.drain() sets first, on SIGTERM
    try:
        ready = await api.client.get("/ready")
    finally:
        app.context.engine.draining = False
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable" and ready.json()["checks"]["draining"] is True


async def test_metrics_count_api_requests_by_operation_and_status(api):
    before = samples((await api.client.get("/metrics")).text)
    assert (await api.get(f"/Accounts/{ADMIN_SID}/Calls.json")).status_code == 200
    assert (await api.get(f"/Accounts/{ADMIN_SID}/Calls.json", auth=None)).status_code == 401
    scrape = await api.client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain; version=")
    after = samples(scrape.text)
    for status in ("200", "401"):
        key = {"operation": "handlers.calls.list_json", "status": status}
        assert value(after, "restcomm_http_requests_total", **key) == value(before, "restcomm_http_requests_total",
                                                                            **key) + 1
    operation = {"operation": "handlers.calls.list_json"}
    assert value(after, "restcomm_http_request_seconds_count", **operation) == value(
        before, "restcomm_http_request_seconds_count", **operation) + 2
    assert value(after, "restcomm_node_info", node=api_node(api)) == 1
    # Never a CallSid, an account SID or a URL in a label: nothing an attacker or traffic can grow.
    assert "AC" + "ae6e420f" not in scrape.text and "CA" not in {k for _, labels in after for k, _ in labels}


def api_node(api) -> str:
    import socket

    return f"{socket.gethostname()}:0"


async def test_a_metrics_token_is_required_once_set(clean_db):
    app = create_app(Settings(database_url="unused", sip_port=0, metrics_token="scrape-secret"),
                     manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        refused = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert (refused.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert "restcomm_http_requests_total" in allowed.text


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}" if parts.username
                                     else f"127.0.0.1:{port}"))


def _ready(base: str) -> httpx.Response:
    return httpx.get(base + "/ready", timeout=10)


def _until(base: str, status: int, within: float = 20) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = _ready(base)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_ready_follows_postgresql_going_away_and_coming_back(tmp_path):
    with database_urls.server_database("postgres", str(tmp_path)) as url:
        if url is None:
            pytest.skip(database_urls.skip_reason())
        target = urlsplit(url)
        proxy = TcpProxy((target.hostname, target.port or 5432))
        proxy.start()
        with running_server(_via(url, proxy.port)) as base:
            assert _ready(base).status_code == 200
            proxy.stop()
            gone = _until(base, 503)
            assert gone.status_code == 503, gone.text
            assert gone.json()["checks"]["database"] != "ok"
            assert httpx.get(base + "/health", timeout=5).status_code == 200  # the process itself is fine
            proxy.start()
            back = _until(base, 200)
            assert back.status_code == 200, back.text
        proxy.stop()
