"""A checkpoint whose weights lie between two runs of one architecture.

    python -m training.interpolate training/weights/classifier.pt runs/slim-webcam-toned/best.pt \
        --weight 0.5 --out runs/slim-webcam-toned-0.5.pt

A run fine-tuned from another (`training.train --init`) for webcam robustness reads degraded hands better and can
read the pipeline's ordinary crops a little worse. Weights on the line between the two (Wortsman et al., "Robust
fine-tuning of zero-shot models", 2022) often keep most of both: `--weight` is the fine-tuned run's share (0 gives
the first checkpoint, 1 the second). Choose it on validation crops and the held-out training frames, like any
other setting. Batch-norm statistics are interpolated with the weights; counters are the second run's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from runtime.paths import recorded
from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from training.models import build_model


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("start", type=Path, help="the checkpoint the second was fine-tuned from")
    p.add_argument("tuned", type=Path, help="the fine-tuned checkpoint")
    p.add_argument("--weight", type=float, required=True, help="the tuned checkpoint's share, 0 to 1")
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def interpolate(start: Path, tuned: Path, weight: float, out: Path) -> None:
    """Write `out`: (1 - weight) x `start` + weight x `tuned`, floating-point tensors only."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"--weight {weight}: expected a share between 0 and 1")
    first, first_meta = load_checkpoint(start)
    second, second_meta = load_checkpoint(tuned)
    if first_meta["model"] != second_meta["model"]:
        raise CheckpointError(f"{start} is a {first_meta['model']}, {tuned} a {second_meta['model']}: "
                              "only weights of one architecture can be mixed")
    a, b = first.state_dict(), second.state_dict()
    mixed = {key: (1 - weight) * a[key] + weight * b[key] if b[key].is_floating_point() else b[key] for key in b}
    model = build_model(second_meta["model"], pretrained=False)
    model.load_state_dict(mixed)
    out.parent.mkdir(parents=True, exist_ok=True)
    origin = {"start": recorded(start.resolve()), "tuned": recorded(tuned.resolve()), "weight": weight}
    save_checkpoint(out, model, second_meta["model"], interpolated=origin)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    interpolate(args.start, args.tuned, args.weight, args.out)
    print(f"{args.out}: {1 - args.weight:g} x {args.start} + {args.weight:g} x {args.tuned}")


if __name__ == "__main__":
    main()
