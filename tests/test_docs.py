"""The documents a newcomer reads: a README that is a front door, links that lead somewhere, commands that run."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runtime.paths import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_LIMIT_BYTES = 12 * 1024
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MODULE = re.compile(r"python -m ([A-Za-z_][\w.]*)")


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_the_readme_is_a_front_door_that_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) <= README_LIMIT_BYTES, f"README.md is {len(readme.encode())} bytes"
    first = [line.split("#")[0].strip() for line in readme.splitlines()[:2]]
    assert first == ["make run", "make test"]
    assert {"widget.md", "pipeline.md", "training.md", "results.md", "decisions.md"} <= {
        path.name for path in DOCUMENTS}


def test_every_docs_page_says_what_it_is_for() -> None:
    for page in DOCUMENTS[1:]:
        opening = page.read_text(encoding="utf-8").split("\n\n")[1]
        assert opening.startswith("For "), f"{page.name} should open with who it is for, not {opening[:60]!r}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_resolves(document: Path) -> None:
    broken = []
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        missing_anchor = (linked.exists() and anchor and linked.suffix == ".md"
                          and anchor not in anchors(linked.read_text(encoding="utf-8")))
        if not linked.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{document.name}: links that lead nowhere: {broken}"


def test_every_module_the_documents_name_answers_help() -> None:
    modules = sorted({name.rstrip(".") for page in DOCUMENTS for name in MODULE.findall(page.read_text("utf-8"))})
    assert len(modules) > 10

    def help_of(module: str) -> tuple[str, subprocess.CompletedProcess]:
        return module, subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True,
                                      text=True, timeout=300)

    with ThreadPoolExecutor(max_workers=2) as pool:
        failed = {module: (done.stderr or done.stdout)[-300:] for module, done in pool.map(help_of, modules)
                  if done.returncode != 0 or "usage" not in done.stdout.lower()}
    assert not failed, failed


def test_every_pointer_from_the_code_to_a_decision_leads_to_one() -> None:
    decisions = anchors((ROOT / "docs" / "decisions.md").read_text(encoding="utf-8"))
    sources = [path for folder in ("runtime", "training", "research", "export", "webapp", "benchmarks", "static")
               for path in (ROOT / folder).rglob("*") if path.suffix in {".py", ".js"}]
    pointers = {(path.relative_to(ROOT).as_posix(), anchor) for path in sources
                for anchor in re.findall(r"decisions\.md#([\w-]+)", path.read_text(encoding="utf-8"))}
    assert pointers, "the code points at no decision"
    missing = sorted(pointer for pointer in pointers if pointer[1] not in decisions)
    assert not missing, missing
