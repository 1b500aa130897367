"""A constant added to a classifier's `none` logit, a prior correction (Menon et al., logit adjustment, 2021):
balanced training draws make the network see a gesture in three hands of four. `sweep` scores each value on a
model's probabilities, `apply` writes it into the last layer's bias (then tune the pipeline again).

    python -m training.none_prior sweep --models export/models/classifier.int8.onnx --split val
    python -m training.none_prior apply runs/soup/soup-0.5.pt --bias 0.5 --out runs/prior/classifier.pt
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path

import numpy as np

from runtime.classifier import OnnxClassifier, add_to_logit, input_crops
from runtime.paths import data_dir, recorded
from training.cache import load_cached
from training.datasets import SPLITS, load_samples
from training.evaluate import crop_labels, load_classifier
from training.metrics import classification_report, with_gestures_chosen
from training.perturbations import PERTURBATIONS, perturb_crops

CLEAN = "clean"
BIASES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = p.add_subparsers(dest="command", required=True)
    sweep = commands.add_parser("sweep", help="macro-F1 per condition for each value added to the none logit")
    sweep.add_argument("--models", type=Path, required=True, help="a .pt checkpoint or .onnx file")
    sweep.add_argument("--data", type=Path, default=data_dir())
    sweep.add_argument("--split", choices=[s for s in SPLITS if s != "test"], default="val",
                       help="never the test split: the value is chosen here")
    sweep.add_argument("--conditions", nargs="+", choices=[CLEAN, *PERTURBATIONS], default=[CLEAN, *PERTURBATIONS])
    sweep.add_argument("--biases", type=float, nargs="+", default=BIASES)
    sweep.add_argument("--seed", type=int, default=0)
    sweep.add_argument("--decision", choices=("argmax", "pipeline"), default="argmax",
                       help="the most probable label, or the pipeline's answer (a gesture only at the "
                            "classifier's min_gesture_score)")
    sweep.add_argument("--washed-out", action="store_true",
                       help="sweep the runtime's bright_crop_none_logit instead: the none logit of toned-down crops "
                            "only (an .onnx export)")
    apply = commands.add_parser("apply", help="write a checkpoint with the value added to its none logit")
    apply.add_argument("checkpoint", type=Path)
    apply.add_argument("--bias", type=float, required=True)
    apply.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def sweep(model: Path, data: Path, split: str, conditions: list[str], biases: list[float], seed: int = 0,
          as_pipeline: bool = False, washed_out: bool = False) -> dict[str, dict[float, float]]:
    """{condition: {bias: macro-F1}} on `data`'s crops of `split`, each condition's probabilities computed once.
    `washed_out`: each value is `bright_crop_none_logit`, added to the crops the runtime tones down alone (an
    export's own value taken off first)."""
    classifier, _ = load_classifier(model)
    labels = tuple(classifier.labels)
    samples = load_samples(data, split, "crop", labels)
    if not samples:
        raise SystemExit(f"{data}: no crop images in split {split!r}")
    cached = load_cached(samples, desc=f"decoding {split}", labels=labels)
    if washed_out and not isinstance(classifier, OnnxClassifier):
        raise SystemExit(f"{model}: --washed-out needs an .onnx export (the runtime tones crops down, PyTorch not)")
    results: dict[str, dict[float, float]] = {}
    for condition in conditions:
        images = cached.images if condition == CLEAN else perturb_crops(cached.images, condition, seed)
        probabilities = classifier.probabilities(images)
        rows = input_crops(images, classifier.input_size, classifier.settings)[1] if washed_out else None
        own = classifier.settings.bright_crop_none_logit if washed_out else 0.0
        results[condition] = {}
        for bias in biases:
            adjusted = add_to_logit(probabilities, labels.index("none"), bias - own, rows)
            report = classification_report(cached.labels, crop_labels(adjusted, classifier, as_pipeline), labels)
            if as_pipeline:  # as evaluate_crops: the pipeline's decisions among the default gestures
                report = with_gestures_chosen(report, classifier.default_gestures)
            results[condition][bias] = report["macro_f1"]
        logging.info("%s: %s", condition, ", ".join(f"{b:+g} {f:.4f}" for b, f in results[condition].items()))
    return results


def markdown_table(results: dict[str, dict[float, float]]) -> str:
    """One row per condition and one column per value, then the mean and the lowest over the conditions."""
    biases = list(next(iter(results.values())))
    lines = ["| condition | " + " | ".join(f"{b:+g}" for b in biases) + " |", "|---|" + "---|" * len(biases)]
    lines += [f"| {c} | " + " | ".join(f"{row[b]:.4f}" for b in biases) + " |" for c, row in results.items()]
    for name, summary in (("mean", np.mean), ("lowest", np.min)):
        values = [summary([row[b] for row in results.values()]) for b in biases]
        lines.append(f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    return "\n".join(lines)


def apply_bias(checkpoint: Path, bias: float, out: Path) -> None:
    """Write `out`: `checkpoint` with `bias` added to the `none` output of its last linear layer."""
    import torch  # here, so that a sweep over an export runs on the runtime alone, as training.evaluate does

    from training.checkpoint import load_checkpoint, recorded_paths, run_record, save_checkpoint
    from training.models import output_layer

    if not math.isfinite(bias):
        raise SystemExit(f"--bias {bias}: expected a finite number")
    model, meta = load_checkpoint(checkpoint)
    labels = meta["labels"]
    head = output_layer(model)[1]
    if head.out_features != len(labels) or head.bias is None:
        raise SystemExit(f"{checkpoint}: its last linear layer has {head.out_features} outputs"
                         f"{'' if head.bias is not None else ' and no bias'}; expected one per label {labels}")
    with torch.no_grad():
        head.bias[labels.index("none")] += bias
    out.parent.mkdir(parents=True, exist_ok=True)
    extra = {k: v for k, v in meta.items() if k not in ("model", "input_size", "labels", "mean", "std")}
    prior = {"checkpoint": recorded(checkpoint.resolve()), "bias": bias, "earlier": meta.get("none_prior")}
    save_checkpoint(out, model, meta["model"], labels, **{**extra, "none_prior": prior})
    record = recorded_paths(run_record(checkpoint))  # the training time stays the run's (training.ship reads it)
    out.with_suffix(".run.json").write_text(json.dumps({
        "config": prior, "wall_seconds": record.get("wall_seconds", 0) if record else 0, "runs": [record]}, indent=2))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    if args.command == "apply":
        apply_bias(args.checkpoint, args.bias, args.out)
        print(f"{args.out}: {args.checkpoint} with {args.bias:+g} on the none logit")
        return
    results = sweep(args.models, args.data, args.split, args.conditions, args.biases, args.seed,
                    args.decision == "pipeline", args.washed_out)
    decided = "labelled as the pipeline decides" if args.decision == "pipeline" else "by the most probable label"
    which = " of the crops toned down (bright_crop_none_logit)" if args.washed_out else ""
    print(f"{args.split} crops of {args.data}, seed {args.seed}, {decided}: macro-F1 per value added to the none logit"
          f"{which}")
    print(markdown_table(results))


if __name__ == "__main__":
    main()
