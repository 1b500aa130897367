"""FastAPI application: the page is rendered from Jinja2 templates; no endpoint accepts images or video."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from training.gestures import EMOJI, GESTURES

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

app = FastAPI(title="gesture-reactions", docs_url=None, redoc_url=None)


@app.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "index.html", {"gestures": [(g, EMOJI[g]) for g in GESTURES]})


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
