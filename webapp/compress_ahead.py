"""`python -m webapp.compress_ahead`: compress what the widget downloads in brotli at its smallest, once, into the
cache folder, where the server finds it (`make setup` runs it; a file changed since is compressed by the server,
quickly, as before)."""

from __future__ import annotations

import argparse

from webapp.app import WIDGET_DOWNLOADS
from webapp.assets import compress_ahead


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    paths = [path for folder, pattern in WIDGET_DOWNLOADS for path in folder.compressible(pattern)]
    written = [path for path in paths if compress_ahead(path)]
    print(f"compressed ahead: {len(written)} of the widget's {len(paths)} files (the others were kept already)")


if __name__ == "__main__":
    main()
