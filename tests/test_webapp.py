"""The server starts, renders its page from the shared gesture definitions and answers health checks."""

from __future__ import annotations

from fastapi.testclient import TestClient

from training.gestures import EMOJI, GESTURES
from webapp.app import app


def test_index_and_health() -> None:
    client = TestClient(app)
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert all(EMOJI[g] in page.text for g in GESTURES)
    assert client.get("/healthz").json() == {"status": "ok"}


def test_no_endpoint_accepts_uploads() -> None:
    client = TestClient(app)
    assert client.post("/", content=b"\xff\xd8\xff", headers={"content-type": "image/jpeg"}).status_code == 405
