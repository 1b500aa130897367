"""`python -m webapp [--host H] [--port P]`: start the server (default http://127.0.0.1:8000)."""

from __future__ import annotations

import argparse

import uvicorn

from webapp.connections import HEAD_TIMEOUT_S, quiet_repeated_log_lines, raise_open_file_limit, with_head_timeout


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Serve the gesture-reactions page.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--head-timeout", type=float, default=HEAD_TIMEOUT_S,
                   help="seconds a client has to send a request's head (after connecting, or after a response)")
    args = p.parse_args(argv)
    raise_open_file_limit()
    quiet_repeated_log_lines()
    uvicorn.run("webapp.app:app", host=args.host, port=args.port, http=with_head_timeout(args.head_timeout))


if __name__ == "__main__":
    main()
