"""Learning curves of training runs from their run.json (validation macro-F1 and training loss per epoch), and
whether each has stopped improving: its best epoch, and what the last `--window` epochs added over the best before.

    python -m research.curves runs/attention_hgr-30/run.json runs/attention_hgr-30-located/run.json \
        --out curves.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("records", type=Path, nargs="+", help="run.json files written by training.train")
    p.add_argument("--out", type=Path, default=Path("curves.png"))
    p.add_argument("--window", type=int, default=5, help="the last epochs whose gain is reported")
    return p.parse_args(argv)


def late_gain(scores: list[float], window: int) -> float:
    """The best of the last `window` scores minus the best before them (0 when there is nothing before)."""
    if len(scores) <= window:
        return 0.0
    return max(scores[-window:]) - max(scores[:-window])


def summary(name: str, record: dict, window: int) -> str:
    scores = [epoch["val_macro_f1"] for epoch in record["epochs"]]
    best = max(range(len(scores)), key=scores.__getitem__)
    return (f"{name}: {len(scores)} epochs, best validation macro-F1 {scores[best]:.4f} at epoch {best + 1}, "
            f"the last {window} epochs added {late_gain(scores, window):+.4f}; {record['wall_seconds'] / 60:.0f} min")


def plot(records: dict[str, dict], out: Path) -> None:
    fig, (f1_axis, loss_axis) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for name, record in records.items():
        epochs = [epoch["epoch"] for epoch in record["epochs"]]
        f1_axis.plot(epochs, [epoch["val_macro_f1"] for epoch in record["epochs"]], marker=".", label=name)
        loss_axis.plot(epochs, [epoch["train_loss"] for epoch in record["epochs"]], marker=".", label=name)
    f1_axis.set(xlabel="epoch", ylabel="validation macro-F1", title="validation crops")
    loss_axis.set(xlabel="epoch", ylabel="training loss", title="training draws")
    for axis in (f1_axis, loss_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def run_name(record: Path) -> str:
    """A run's name: its folder for `runs/<name>/run.json`, the file's for a kept `research/weights/<name>.run.json`."""
    if record.name == "run.json":
        return record.parent.name or str(record)
    return record.name.removesuffix(".json").removesuffix(".run")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    records = {run_name(path): json.loads(path.read_text()) for path in args.records}
    for name, record in records.items():
        if not record.get("epochs"):
            raise SystemExit(f"{name}: the run record has no finished epoch")
        print(summary(name, record, args.window))
    plot(records, args.out)
    print(f"curves: {args.out}")


if __name__ == "__main__":
    main()
