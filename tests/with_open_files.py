"""`python -m tests.with_open_files N MODULE [ARG...]`: `python -m MODULE ARG...` allowed at most N open files (soft
and hard limit), as on a machine whose limit is low."""

from __future__ import annotations

import resource
import runpy
import sys


def main(argv: list[str]) -> None:
    limit, module, *args = argv
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(limit), int(limit)))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
