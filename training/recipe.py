"""Rebuild the shipped classifier from ImageNet's weights: every step in order, each from the one before.

    python -m training.recipe shipped --dry-run     # the steps' commands, their state and expected figures
    python -m training.recipe shipped               # into runs/recipe-shipped (2-core CPU: about 4 hours)
    python -m training.recipe shipped --device cuda
    torchrun --standalone --nproc_per_node 8 -m training.recipe shipped --device cuda
    python -m training.recipe shipped --scale toy   # the whole chain in minutes: a test of it, not a model

Each step calls its module's `main` (`training.train`, `training.interpolate`, `training.none_prior`,
`training.graft`, `training.ship`, `export.to_onnx`) with the arguments `--dry-run` shows. A step whose output is
complete is skipped, so running the command again after an interruption goes on where it stopped; a training run
that was cut short resumes from its last.pt. Under torchrun every process trains and rank 0 alone runs the other
steps while the rest wait. Everything lands in `--out`: `--ship` writes the last two steps into the repository's
shipped files instead (`training/weights/classifier.pt`, the browser's models), and runs them every time. At the end
a table puts each step's figure beside the one recorded when the shipped model was made. The last steps train a
branch for more gestures on the finished four-label classifier and graft it on (`training.graft`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch.distributed

from runtime.classifier import OnnxClassifier
from runtime.paths import CLASSIFIER_INT8, MODELS_DIR, SHIPPED_CHECKPOINT, data_dir, recorded
from training import distributed, evaluate
from training.cache import load_cached
from training.datasets import load_samples
from training.device import DEVICE_CHOICES
from training.models.efficientnet_lite import BRANCH_BLOCK

TRAIN, INTERPOLATE, NONE_PRIOR, GRAFT, SHIP, EXPORT = (
    "training.train", "training.interpolate", "training.none_prior", "training.graft", "training.ship",
    "export.to_onnx")

TEST = "test"
"""Macro-F1 on the test crops of the step's output (an export: its int8 network alone), measured by the recipe."""

VAL_PIPELINE = "val-pipeline"
"""The best epoch's validation macro-F1 on pipeline-cut crops, from the run's run.json."""

VAL = "val"
"""The best epoch's validation macro-F1 on the crops, from the run's run.json."""

RESULTS_TABLE = "docs/results.md, test crops"
SHIPPED_RECORD = "training/weights/classifier.run.json"


@dataclass(frozen=True)
class Expected:
    """What a step gave when the shipped model was made: a figure (`TEST` or `VAL_PIPELINE`), where it is
    recorded, and the training minutes that run.json recorded (epochs and validation, not the caches)."""

    metric: str
    value: float
    source: str
    minutes: float | None = None


@dataclass(frozen=True)
class Step:
    """One command of a recipe: `module`'s arguments, where "{name}" stands for step `name`'s output, and the
    name of the file it writes in its folder (`--out` and `--data` are added by the recipe); `expected` is None
    where no figure was recorded."""

    name: str
    module: str
    args: tuple[str, ...]
    expected: Expected | None
    output: str = "best.pt"


SLIM = ("--model", "efficientnet_lite0_slim")
FINE_TUNING = ("--hard-negatives", "0.33", "--lr", "5e-4")
WEBCAM = (*SLIM, "--init", "{slim-landmarks-v3}", "--teacher", "{slim-landmarks-v3}", "--augment", "webcam-vs-clean",
          "--pipeline-share", "0.75", "--pipeline-variants", "1", *FINE_TUNING, "--epochs", "8",
          "--samples-per-epoch", "12000")

SHIPPED = (
    Step("efficientnet_lite0_slim", TRAIN, (*SLIM, "--epochs", "7", "--samples-per-epoch", "10000", "--lr", "1.5e-3"),
         Expected(TEST, 0.9940, RESULTS_TABLE, 32)),
    Step("slim-pipeline", TRAIN, (*SLIM, "--init", "{efficientnet_lite0_slim}", "--pipeline-box", "palm",
                                  "--pipeline-share", "0.5", "--pipeline-variants", "2", *FINE_TUNING, "--epochs", "4",
                                  "--samples-per-epoch", "10000"),
         Expected(TEST, 0.9843, RESULTS_TABLE, 5)),
    Step("slim-landmarks", TRAIN, (*SLIM, "--init", "{slim-pipeline}", "--pipeline-box", "landmarks",
                                   "--pipeline-share", "0.5", "--pipeline-variants", "2", *FINE_TUNING, "--epochs", "4",
                                   "--samples-per-epoch", "10000"),
         Expected(TEST, 0.9899, RESULTS_TABLE, 8)),
    Step("slim-landmarks-v3", TRAIN, (*SLIM, "--init", "{slim-landmarks}", "--pipeline-box", "landmarks",
                                      "--pipeline-share", "0.75", "--pipeline-variants", "2", *FINE_TUNING,
                                      "--epochs", "8", "--samples-per-epoch", "12000"),
         Expected(TEST, 0.9903, RESULTS_TABLE, 25)),
    Step("slim-webcam-toned", TRAIN, WEBCAM, Expected(VAL_PIPELINE, 0.9780, SHIPPED_RECORD, 28.4)),
    Step("slim-webcam-washed", TRAIN, (*WEBCAM, "--washed-out-negatives", "0.2"),
         Expected(VAL_PIPELINE, 0.9730, SHIPPED_RECORD, 26.9)),
    Step("soup", INTERPOLATE, ("{slim-webcam-toned}", "{slim-webcam-washed}", "--weight", "0.5"),
         Expected(TEST, 0.9935, RESULTS_TABLE), "soup-0.5.pt"),
    Step("prior", NONE_PRIOR, ("apply", "{soup}", "--bias", "0.5"), Expected(TEST, 0.9956, RESULTS_TABLE),
         "classifier.pt"),
    Step("added", TRAIN, (*SLIM, "--labels", "added", "--init", "{prior}", "--freeze-blocks", str(BRANCH_BLOCK),
                          "--augment", "webcam", "--epochs", "10", "--samples-per-epoch", "12000", "--lr", "2e-3"),
         Expected(VAL, 0.9788, SHIPPED_RECORD, 32.9)),
    Step("added-prior", NONE_PRIOR, ("apply", "{added}", "--bias", "1.0"), Expected(TEST, 0.9853, RESULTS_TABLE),
         "classifier.pt"),
    Step("graft", GRAFT, ("{prior}", "{added-prior}"), Expected(TEST, 0.9885, RESULTS_TABLE), "classifier.pt"),
    Step("ship", SHIP, ("{graft}",), Expected(TEST, 0.9885, "training/weights/classifier.test.json"),
         "classifier.pt"),
    Step("export", EXPORT, ("--checkpoint", "{ship}", "--only", "classifier"),
         Expected(TEST, 0.9890, "docs/results.md, int8 on clean test crops"), CLASSIFIER_INT8),
)


RECIPES = {"shipped": SHIPPED}

SCALES = {"full": (), "toy": ("--epochs", "2", "--samples-per-epoch", "16", "--batch-size", "8",
                              "--limit-per-class", "4")}
"""Training options added to every training step (the last of a repeated option wins): toy runs 2 epochs of 2
batches on 4 crops of each class, which tests the chain, not the model."""

REPOSITORY_STEPS = {SHIP: SHIPPED_CHECKPOINT, EXPORT: MODELS_DIR / CLASSIFIER_INT8}
"""With `--ship`, what these modules write by default: the repository's shipped files."""

STATE_FILE = "recipe.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe", choices=sorted(RECIPES))
    p.add_argument("--out", type=Path, help="folder of every step's output (default runs/recipe-<recipe>[-toy])")
    p.add_argument("--data", type=Path, default=data_dir(), help="shared manifest layout or HaGRID layout")
    p.add_argument("--scale", choices=sorted(SCALES), default="full")
    p.add_argument("--device", default="auto", help=f"for the training steps: {DEVICE_CHOICES}")
    p.add_argument("--workers", type=int, help="data-loading processes per training process (training.train)")
    p.add_argument("--ship", action="store_true",
                   help="write training/weights/classifier.pt and the browser's classifier, not into --out")
    p.add_argument("--dry-run", action="store_true", help="print the steps' commands and state, run nothing")
    args = p.parse_args(argv)
    args.out = args.out or Path("runs") / f"recipe-{args.recipe}{'-toy' if args.scale == 'toy' else ''}"
    return args


def outputs(steps: tuple[Step, ...], out: Path, ship: bool) -> dict[str, Path]:
    """Each step's output file: in its folder under `out`, or with `ship` the repository's shipped files."""
    return {s.name: REPOSITORY_STEPS[s.module] if ship and s.module in REPOSITORY_STEPS else out / s.name / s.output
            for s in steps}


def step_argv(step: Step, paths: dict[str, Path], args: argparse.Namespace) -> list[str]:
    """The step's command line: its arguments from the earlier steps' outputs, with the recipe's options."""
    argv = [str(paths[a[1:-1]]) if a.startswith("{") and a.endswith("}") else a for a in step.args]
    output = paths[step.name]
    if step.module in (TRAIN, SHIP, EXPORT):
        argv += ["--data", str(args.data)]
    if not (args.ship and step.module in REPOSITORY_STEPS):
        argv += ["--out", str(output.parent if step.module in (TRAIN, EXPORT) else output)]
    if step.module == TRAIN:
        argv += [*SCALES[args.scale], "--device", args.device]
        argv += ["--workers", str(args.workers)] if args.workers is not None else []
    return argv


def training_epochs(run: Path) -> tuple[int, int] | None:
    """(epochs done, epochs asked) from a training run's run.json, or None before its first epoch."""
    record = run / "run.json"
    if not record.is_file():
        return None
    record = json.loads(record.read_text())
    return len(record["epochs"]), record["config"]["epochs"]


def step_state(step: Step, output: Path, ship: bool) -> str:
    """"done" (skip it), "resume" (a training run cut short) or "run"."""
    if ship and step.module in REPOSITORY_STEPS:
        return "run"  # the repository always holds shipped files: their presence says nothing
    if step.module == TRAIN:
        epochs = training_epochs(output.parent)
        if epochs is not None and epochs[0] >= epochs[1] and output.is_file():
            return "done"
        return "resume" if (output.parent / "last.pt").is_file() else "run"
    last_written = {INTERPOLATE: ".run.json", NONE_PRIOR: ".run.json", GRAFT: ".run.json",
                    SHIP: ".test.json"}.get(step.module)
    return "done" if (output.with_suffix(last_written) if last_written else output).is_file() else "run"


def run_step(step: Step, argv: list[str], processes: distributed.Processes) -> None:
    """The step's `main(argv)`: a training step in every torchrun process, any other on rank 0 while the rest
    wait at a barrier (a failure on rank 0 ends them all: torchrun stops the group when one process fails)."""
    main: Callable[[list[str]], None] = importlib.import_module(step.module).main
    if step.module == TRAIN or processes.is_main:
        main(argv)
    if step.module != TRAIN and processes.distributed:
        torch.distributed.barrier()


def measure(step: Step, output: Path, data: Path) -> dict[str, float]:
    """The step's figures: test macro-F1 of its output, and a training run's best validation macro-F1s."""
    figures = {}
    if step.module == TRAIN:
        best = json.loads((output.parent / "run.json").read_text())["best"]
        figures[VAL] = best["val_macro_f1"]
        if "val_pipeline_macro_f1" in best:
            figures[VAL_PIPELINE] = best["val_pipeline_macro_f1"]
    if step.module == SHIP:
        figures[TEST] = json.loads(output.with_suffix(".test.json").read_text())["macro_f1"]
    elif step.module == EXPORT:
        classifier = OnnxClassifier(output, network_only=True)
        labels = tuple(classifier.labels)
        test = load_cached(load_samples(data, "test", "crop", labels), desc="decoding test", labels=labels)
        figures[TEST] = evaluate.evaluate_crops(test, classifier)["macro_f1"]
    else:
        figures[TEST] = evaluate.evaluate(data, "test", "crop", output)["macro_f1"]
    return figures


def load_state(args: argparse.Namespace) -> dict:
    """The recipe folder's record of its scale, data, and each step's minutes and figures; refuses a folder made
    at another scale or from other data."""
    path = args.out / STATE_FILE
    made = {"recipe": args.recipe, "scale": args.scale, "data": recorded(args.data.resolve())}
    if not path.is_file():
        return {**made, "steps": {}}
    state = json.loads(path.read_text())
    differs = {k: state.get(k) for k, v in made.items() if state.get(k) != v}
    if differs:
        raise SystemExit(f"{args.out} holds a recipe run with {differs}, not {made}: choose another --out")
    return state


def save_state(args: argparse.Namespace, state: dict) -> None:
    if distributed.is_main_process():
        args.out.mkdir(parents=True, exist_ok=True)
        partial = args.out / f"{STATE_FILE}.partial"
        partial.write_text(json.dumps(state, indent=2) + "\n")
        partial.replace(args.out / STATE_FILE)


def expected_text(expected: Expected | None) -> str:
    """The recorded figure and where it is recorded, or that there is none."""
    return f"{expected.metric} {expected.value:.4f} ({expected.source})" if expected else "none recorded"


def row(step: Step, output: Path, record: dict) -> str:
    """One line of the closing table: the step, its expected and measured figures, minutes then and now (the
    expected metric first; the test figure first where none was recorded)."""
    got = record.get("figures", {})
    metric = step.expected.metric if step.expected else TEST
    first = f"{metric} {got[metric]:.4f}" if metric in got else "?"
    others = ", ".join(f"{k} {v:.4f}" for k, v in got.items() if k != metric)
    minutes = f"{step.expected.minutes:g}" if step.expected and step.expected.minutes is not None else "-"
    now = f"{record['seconds'] / 60:.1f}" if "seconds" in record else "?"
    return (f"| {step.name} | {expected_text(step.expected)} | {first}{f' ({others})' if others else ''} | "
            f"{minutes}, {now} | {recorded(output)} |")


def print_table(steps: tuple[Step, ...], paths: dict[str, Path], state: dict, scale: str) -> None:
    print(f"\n{state['recipe']} at {scale} scale" + (": figures of a toy run, not comparable" * (scale == "toy"))
          + f". test: macro-F1 on the test crops of {state['data']} (export: its int8 network alone); val: the best "
          "epoch's validation macro-F1 (val-pipeline: on pipeline-cut crops)")
    print("| step | expected | got | minutes: recorded, this run | output |")
    print("|---|---|---|---|---|")
    for step in steps:
        print(row(step, paths[step.name], state["steps"].get(step.name, {})))


def dry_run(args: argparse.Namespace) -> None:
    """Print each step's state, command and expected figure."""
    steps = RECIPES[args.recipe]
    paths = outputs(steps, args.out, args.ship)
    for step in steps:
        command = f"python -m {step.module} {shlex.join(step_argv(step, paths, args))}"
        print(f"[{step_state(step, paths[step.name], args.ship)}] {step.name}: {command}\n"
              f"    expected {expected_text(step.expected)}")


def run(args: argparse.Namespace) -> dict:
    """Run the recipe's steps that are not done, in one process group under torchrun, then measure and print the
    table (rank 0); the recipe folder's state."""
    steps = RECIPES[args.recipe]
    paths = outputs(steps, args.out, args.ship)
    state = load_state(args)
    processes = distributed.start(args.device)
    say = print if processes.is_main else lambda *_: None
    for step in steps:
        argv = step_argv(step, paths, args)
        status = step_state(step, paths[step.name], args.ship)
        if status == "done":
            say(f"{step.name}: done, skipped ({recorded(paths[step.name])})")
            continue
        if status == "resume":
            last = paths[step.name].parent / "last.pt"
            say(f"{step.name}: resuming {recorded(last)}")
            argv = ["--resume", str(last), "--device", args.device]
            argv += ["--workers", str(args.workers)] if args.workers is not None else []
        else:
            say(f"{step.name}: python -m {step.module} {shlex.join(argv)}")
        state["steps"].pop(step.name, None)
        started = time.time()
        run_step(step, argv, processes)
        state["steps"][step.name] = {"seconds": time.time() - started}
        save_state(args, state)
    distributed.finish(processes)
    if not processes.is_main:
        return state
    for step in steps:
        record = state["steps"].setdefault(step.name, {})
        if step.module == TRAIN:  # the training time as recorded: epochs and validation
            record["seconds"] = json.loads((paths[step.name].parent / "run.json").read_text())["wall_seconds"]
        if "figures" not in record:
            record["figures"] = measure(step, paths[step.name], args.data)
        save_state(args, state)
    print_table(steps, paths, state, args.scale)
    return state


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    if args.dry_run:
        dry_run(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
