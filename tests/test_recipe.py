"""The recipe that rebuilds the shipped classifier (`training.recipe`), run whole at toy scale on real crops: it is
interrupted in its first training run and resumes it, writes every step's output, skips every step when run again,
runs under torchrun, and its commands are the ones the shipped model's records hold."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch

from runtime.classifier import OnnxClassifier
from runtime.onnx_models import onnx_session
from runtime.paths import CLASSIFIER_INT8, ROOT, SHIPPED_CHECKPOINT, browser_model, classifier_model
from tests.conftest import copy_rows, manifest_rows
from tests.test_label_sets import SOURCE_CLASSES
from training import recipe, train
from training.checkpoint import load_checkpoint
from training.gestures import LABEL_SETS

SHIPPED_LABELS = LABEL_SETS["extended"]
"""The shipped classifier's labels: the four-label model's and its branch's."""

STEPS = recipe.RECIPES["shipped"]


class KilledRunError(Exception):
    """Stands for a run killed after its first epoch."""


def toy_options(data: Path, out: Path) -> list[str]:
    return ["shipped", "--scale", "toy", "--data", str(data), "--out", str(out), "--workers", "0"]


def table_rows(output: str) -> dict[str, str]:
    """The closing table's line of each step, by step name."""
    return {line.split("|")[1].strip(): line for line in output.splitlines() if line.startswith("| ")}


@pytest.fixture(scope="module")
def data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four real crops of each source class of every shipped label per split, six training frames of each of the
    four-label model's labels."""
    taken: dict[tuple[str, ...], int] = {}
    kept = []
    for row in manifest_rows(data_dir):
        crop = row["kind"] == "crop" and row["source_class"] in SOURCE_CLASSES
        key = (row["kind"], row["split"], row["source_class"] if crop else row["label"])
        if taken.get(key, 0) < (4 if crop else 6 * (row["kind"] == "frame" and row["split"] == "train")):
            taken[key] = taken.get(key, 0) + 1
            kept.append(row)
    return copy_rows(data_dir, kept, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def toy_run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The chain at toy scale, killed after the first run's first epoch, then run again to the end: the recipe
    folder and what the second invocation printed."""
    out = tmp_path_factory.mktemp("recipe")
    save_last = train.save_last

    def save_then_stop(*args: object) -> None:
        save_last(*args)
        raise KilledRunError

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "save_last", save_then_stop)
        with pytest.raises(KilledRunError):
            recipe.main(toy_options(data, out))
    assert torch.load(out / STEPS[0].name / "last.pt", weights_only=False)["epoch"] == 0  # after the first epoch
    assert not (out / STEPS[1].name).exists()
    printed = io.StringIO()
    with redirect_stdout(printed):
        recipe.main(toy_options(data, out))
    return out, printed.getvalue()


def test_the_toy_chain_resumes_writes_every_step_and_prints_each_figure(toy_run: tuple[Path, str]) -> None:
    out, printed = toy_run
    assert f"{STEPS[0].name}: resuming" in printed
    assert [e["epoch"] for e in json.loads((out / STEPS[0].name / "run.json").read_text())["epochs"]] == [1, 2]
    paths = recipe.outputs(STEPS, out, ship=False)
    for step in STEPS:
        if step.module == recipe.EXPORT:
            classifier = OnnxClassifier(paths[step.name])  # the runtime's own loader
            assert classifier.probabilities(np.zeros((2, 64, 64, 3), np.uint8)).shape == (2, len(SHIPPED_LABELS))
            assert paths[step.name].with_suffix(".ort").is_file()  # the browser's copy beside it
            widget, shipped = (onnx_session(path, "classifier").get_modelmeta().custom_metadata_map
                               for path in (browser_model(CLASSIFIER_INT8), classifier_model()))
            assert widget == shipped  # and not in the widget's folder
        else:
            _, meta = load_checkpoint(paths[step.name])
            grafted = step.module in (recipe.GRAFT, recipe.SHIP)
            assert meta["model"] == "efficientnet_lite0_slim" + "_branched" * grafted
        if step.module == recipe.TRAIN:
            assert json.loads((paths[step.name].parent / "run.json").read_text())["config"]["epochs"] == 2
    _, prior = load_checkpoint(paths["prior"])
    assert prior["none_prior"]["bias"] == 0.5
    assert SHIPPED_CHECKPOINT.parent not in paths["ship"].parents  # the repository's files are left alone
    rows = table_rows(printed)
    assert list(rows) == ["step", *(s.name for s in STEPS)]
    for step in STEPS:
        expected, got = rows[step.name].split("|")[2:4]
        assert f"{step.expected.metric} {step.expected.value:.4f}" in expected
        assert got.split()[0] == step.expected.metric and 0 <= float(got.split()[1]) <= 1


def test_a_second_run_skips_every_step(data: Path, toy_run: tuple[Path, str], monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    out, first = toy_run
    monkeypatch.setattr(recipe, "run_step", lambda *_: pytest.fail("a finished step ran again"))
    monkeypatch.setattr(recipe, "measure", lambda *_: pytest.fail("figures measured again"))
    recipe.main(toy_options(data, out))
    printed = capsys.readouterr().out
    assert [line.split(":")[0] for line in printed.splitlines() if "done, skipped" in line] == [s.name for s in STEPS]
    assert table_rows(printed) == table_rows(first)
    recipe.main([*toy_options(data, out), "--dry-run"])
    assert [line.split("]")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("[")] == (
        ["[done"] * len(STEPS))
    recipe.main([*toy_options(data, out), "--dry-run", "--ship"])
    shipping = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")][-2:]
    assert [line.split(" python")[0] for line in shipping] == ["[run] ship:", "[run] export:"]
    assert all("--out" not in line for line in shipping)  # the modules' defaults: the repository's shipped files
    with pytest.raises(SystemExit, match="holds a recipe run"):
        recipe.main([*toy_options(data, out)[:2], "full", *toy_options(data, out)[3:]])


def test_under_torchrun_the_processes_train_and_rank_0_alone_runs_the_rest(
        data: Path, toy_run: tuple[Path, str], tmp_path: Path) -> None:
    """The toy chain's last training run and every step after it, again in two processes (Gloo on the CPU)."""
    out = tmp_path / "recipe"
    shutil.copytree(toy_run[0], out)
    for name in ("slim-webcam-washed", "soup", "prior", "added", "added-prior", "graft", "ship", "export"):
        shutil.rmtree(out / name)
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "training.recipe", *toy_options(data, out)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "process 1 of 2" in result.stderr and "backend gloo" in result.stderr
    assert result.stdout.count("slim-webcam-toned: done, skipped") == 1  # rank 0 alone speaks
    assert result.stdout.count("test macro-F1") == 1 and result.stdout.count("| step |") == 1  # one ship, one table
    record = json.loads((out / "slim-webcam-washed" / "run.json").read_text())
    assert [e["epoch"] for e in record["epochs"]] == [1, 2]
    assert list(OnnxClassifier(out / "export" / recipe.CLASSIFIER_INT8).labels) == list(SHIPPED_LABELS)


def test_the_webcam_runs_are_the_recorded_ones() -> None:
    """The webcam runs' and the branch's settings and best figures are those in the shipped model's run record."""
    base, branch = json.loads((SHIPPED_CHECKPOINT.with_suffix(".run.json")).read_text())["runs"]
    recorded = [*base["runs"][0]["runs"], branch["runs"][0]]  # the branch's training, before its none prior
    prior = next(s for s in STEPS if s.name == "added-prior")
    assert branch["config"]["bias"] == float(prior.args[prior.args.index("--bias") + 1])
    paths = {s.name: Path(s.name) for s in STEPS}
    args = recipe.parse_args(["shipped"])
    steps = [*STEPS[4:6], next(s for s in STEPS if s.name == "added")]
    for step, run in zip(steps, recorded, strict=True):
        ours = vars(train.parse_args(recipe.step_argv(step, paths, args)))
        differ = {k: (v, ours[k]) for k, v in run["config"].items()
                  if k not in ("data", "out", "init", "teacher") and ours[k] != v}
        assert differ == {}
        assert step.expected.value == round(run["best"].get("val_pipeline_macro_f1", run["best"]["val_macro_f1"]), 4)
        assert step.expected.minutes == round(run["wall_seconds"] / 60, 1)
