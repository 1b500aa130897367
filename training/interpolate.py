"""A checkpoint whose weights lie between two fine-tunings of one checkpoint, which stay in one basin of the loss
and often keep what each run gained ("Model soups", Wortsman et al. 2022); `<out>.run.json` keeps both runs' records.

    python -m training.interpolate runs/slim-webcam-toned/best.pt runs/slim-webcam-washed/best.pt \
        --weight 0.5 --out runs/soup/soup-0.5.pt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from runtime.paths import recorded
from training.checkpoint import CheckpointError, load_checkpoint, recorded_paths, run_record, save_checkpoint
from training.models import build_model


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("first", type=Path, help="a checkpoint")
    p.add_argument("second", type=Path, help="a checkpoint of the same architecture, from the same start")
    p.add_argument("--weight", type=float, required=True, help="the second checkpoint's share, 0 to 1")
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def interpolate(first: Path, second: Path, weight: float, out: Path) -> None:
    """Write `out`: (1 - weight) x `first` + weight x `second`, floating-point tensors only."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"--weight {weight}: expected a share between 0 and 1")
    first_model, first_meta = load_checkpoint(first)
    second_model, second_meta = load_checkpoint(second)
    if first_meta["model"] != second_meta["model"]:
        raise CheckpointError(f"{first} is a {first_meta['model']}, {second} a {second_meta['model']}: "
                              "only weights of one architecture can be mixed")
    if first_meta["labels"] != second_meta["labels"]:
        raise CheckpointError(f"{first} has labels {first_meta['labels']}, {second} {second_meta['labels']}: "
                              "only weights of one label set can be mixed")
    a, b = first_model.state_dict(), second_model.state_dict()
    mixed = {key: (1 - weight) * a[key] + weight * b[key] if b[key].is_floating_point() else b[key] for key in b}
    model = build_model(second_meta["model"], pretrained=False, num_classes=len(second_meta["labels"]))
    model.load_state_dict(mixed)
    out.parent.mkdir(parents=True, exist_ok=True)
    origin = {"first": recorded(first.resolve()), "second": recorded(second.resolve()), "weight": weight}
    save_checkpoint(out, model, second_meta["model"], second_meta["labels"], interpolated=origin)
    records = [recorded_paths(run_record(path)) for path in (first, second)]
    out.with_suffix(".run.json").write_text(json.dumps({
        "config": origin, "wall_seconds": sum(r.get("wall_seconds", 0) for r in records if r),
        "runs": records}, indent=2))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    interpolate(args.first, args.second, args.weight, args.out)
    print(f"{args.out}: {1 - args.weight:g} x {args.first} + {args.weight:g} x {args.second}")


if __name__ == "__main__":
    main()
