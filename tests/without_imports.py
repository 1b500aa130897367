"""`python -m tests.without_imports GROUP MODULE [ARG...]`: `python -m MODULE ARG...` in a Python where the
packages of GROUP cannot be imported: `dev` (pyproject.toml's `dev` extra, as in an installation of the product
alone) or `torch` (PyTorch and torchvision, for the runtime). Every import it refuses is also written to stderr,
so that a caller sees one that the code caught."""

from __future__ import annotations

import importlib.abc
import runpy
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

GROUPS = {
    "dev": frozenset({"playwright", "pytest", "_pytest", "httpx2", "ruff", "ai_edge_litert"}),
    "torch": frozenset({"torch", "torchvision"}),
}
"""Import names per group: the `dev` extra's packages, and PyTorch's."""

REFUSED = "refused import:"
"""How each refused import starts on stderr."""


class ImportBlocker(importlib.abc.MetaPathFinder):
    """Answers every import of the given packages, and of their modules, with ModuleNotFoundError."""

    def __init__(self, blocked: frozenset[str]) -> None:
        self.blocked = blocked

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in self.blocked:
            return None
        print(f"{REFUSED} {fullname}", file=sys.stderr, flush=True)
        raise ModuleNotFoundError(f"No module named {fullname!r} (blocked by tests.without_imports)", name=fullname)


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in GROUPS:
        sys.exit(__doc__)
    sys.meta_path.insert(0, ImportBlocker(GROUPS[sys.argv[1]]))
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
