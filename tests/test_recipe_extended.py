"""The nine-label recipe (`training.recipe extended`), run whole at toy scale on real crops and frames: its pipeline
inputs take no frame of its own gestures as a negative or background, and its export carries the nine labels and a
raise-hand gesture; it is never shipped over the repository's classifier."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from runtime.classifier import read_metadata
from runtime.paths import SHIPPED_CHECKPOINT
from tests.conftest import copy_rows, manifest_rows
from tests.test_label_sets import SOURCE_CLASSES
from tests.test_recipe import table_rows
from training import recipe
from training.gestures import LABEL_SETS
from training.pipeline_crops import context_frames

EXTENDED = LABEL_SETS["extended"]
STEPS = recipe.RECIPES["extended"]
FRAME_CLASSES = ("palm", "stop", "four")
"""Source classes of the toy training frames: two that are raise_hand in the extended set, one that stays none."""


def wanted(row: dict[str, str], taken: dict[tuple[str, ...], int]) -> bool:
    """Two crops of each source class per split, and four training frames of each of `FRAME_CLASSES`."""
    key = (row["kind"], row["split"], row["source_class"])
    if row["kind"] == "crop":
        limit = 2 * (row["source_class"] in SOURCE_CLASSES)
    else:
        limit = 4 * (row["split"] == "train" and row["source_class"] in FRAME_CLASSES)
    taken[key] = taken.get(key, 0) + 1
    return taken[key] <= limit


@pytest.fixture(scope="module")
def data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    taken: dict[tuple[str, ...], int] = {}
    kept = [row for row in manifest_rows(data_dir) if wanted(row, taken)]
    return copy_rows(data_dir, kept, tmp_path_factory.mktemp("data"))


def test_extended_runs_take_no_frame_of_their_gestures_as_a_negative(data: Path) -> None:
    """A palm frame is none to the shipped set, raise_hand to the extended one: no hard negative, no background."""
    shipped, extended = context_frames(data), context_frames(data, EXTENDED)
    assert any(frame.label == "none" for frame in extended)
    assert {frame.path for frame in shipped} - {frame.path for frame in extended}  # the toy data has such frames
    assert all("__four__" in frame.path.name for frame in extended)


def test_the_extended_chain_exports_nine_labels_with_a_raised_hand(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "recipe"
    printed = io.StringIO()
    with redirect_stdout(printed):
        recipe.main(["extended", "--scale", "toy", "--data", str(data), "--out", str(out), "--workers", "0"])
    paths = recipe.outputs(STEPS, out, ship=False)
    metadata = read_metadata(paths["export"])
    assert list(metadata.labels) == list(EXTENDED)
    assert metadata.raise_hand is not None
    first = json.loads((paths[STEPS[0].name].parent / "run.json").read_text())["config"]
    assert (first["labels"], Path(first["init"])) == ("extended", SHIPPED_CHECKPOINT)
    rows = table_rows(printed.getvalue())
    assert list(rows) == ["step", *(s.name for s in STEPS)]
    assert all(rows[s.name].split("|")[2].strip() == "none recorded" for s in STEPS)


def test_the_extended_recipe_is_never_shipped() -> None:
    with pytest.raises(SystemExit):
        recipe.parse_args(["extended", "--ship"])
