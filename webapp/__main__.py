"""`python -m webapp [--host H] [--port P]`: start the server (default http://127.0.0.1:8000)."""

from __future__ import annotations

import argparse

import uvicorn


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Serve the gesture-reactions page.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    args = p.parse_args(argv)
    uvicorn.run("webapp.app:app", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
