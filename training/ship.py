"""Make a trained run the model the project ships: `training/weights/classifier.pt` in float16 (half the file),
with its run record and its test report, which the tests hold it to; `--out` keeps another run the same way.

    python -m training.ship runs/efficientnet_lite0/best.pt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from runtime.paths import SHIPPED_CHECKPOINT, data_dir, recorded
from training import evaluate
from training.checkpoint import load_checkpoint, recorded_paths, run_record


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="best.pt of a training run")
    p.add_argument("--data", type=Path, default=data_dir(), help="where the test split is")
    p.add_argument("--out", type=Path, default=SHIPPED_CHECKPOINT)
    return p.parse_args(argv)


def ship(checkpoint: Path, data: Path, out: Path) -> dict:
    """Copy `checkpoint` to `out` in float16 with its records; returns the shipped file's test report."""
    load_checkpoint(checkpoint)  # fail early, with the path, on anything that is not one of ours
    raw = torch.load(checkpoint, map_location="cpu", weights_only=True)
    raw["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in raw["state_dict"].items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(raw, out)
    record = recorded_paths(run_record(checkpoint))
    if record is not None:
        out.with_suffix(".run.json").write_text(json.dumps(record, indent=2))
    report = evaluate.evaluate(data, "test", "crop", out)
    report["data"] = recorded(report["data"])
    out.with_suffix(".test.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = ship(args.checkpoint, args.data, args.out)
    per_class = ", ".join(f"{name} {v['f1']:.4f}" for name, v in report["per_class"].items())
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, test macro-F1 {report['macro_f1']:.4f} ({per_class})")


if __name__ == "__main__":
    main()
