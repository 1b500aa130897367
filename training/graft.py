"""Graft a branch onto the classifier it was trained from: one model whose first gestures are the base's own,
probabilities and all, and whose branch splits the base's `none` among more gestures
(docs/decisions.md#more-gestures-as-a-branch-of-the-shipped-classifier).

    python -m training.train --model efficientnet_lite0_slim --labels added --init training/weights/classifier.pt \\
        --freeze-blocks 9 --augment webcam --epochs 10 --samples-per-epoch 12000 --lr 2e-3 --out runs/added
    python -m training.none_prior apply runs/added/best.pt --bias 1.0 --out runs/added-prior/classifier.pt
    python -m training.graft training/weights/classifier.pt runs/added-prior/classifier.pt --out runs/graft.pt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from runtime.paths import recorded
from training.checkpoint import CheckpointError, load_checkpoint, recorded_paths, run_record, save_checkpoint
from training.gestures import LABEL_SETS
from training.models.efficientnet_lite import BASE_CLASSES, BRANCH_BLOCK, EfficientNetLite0, SlimWithBranch

SLIM, BRANCHED = "efficientnet_lite0_slim", "efficientnet_lite0_slim_branched"


def trunk_state(model: EfficientNetLite0) -> dict[str, torch.Tensor]:
    """The weights and statistics a branch shares with its base: the stem and the blocks before `BRANCH_BLOCK`."""
    return {k: v for k, v in model.state_dict().items()
            if k.startswith(("_conv_stem.", "_bn0.")) or (k.startswith("_blocks.")
                                                         and int(k.split(".")[1]) < BRANCH_BLOCK)}


def graft(base: Path, branch: Path) -> tuple[SlimWithBranch, list[str]]:
    """The grafted model and its labels (the base's gestures, the branch's, then `none`); a `CheckpointError`
    naming what is wrong when the two were not trained as base and branch."""
    base_model, base_meta = load_checkpoint(base)
    if isinstance(base_model, SlimWithBranch):  # a grafted classifier: its base takes the new branch
        base_model = base_model.base
        base_meta = {**base_meta, "model": SLIM, "labels": [*base_meta["labels"][:BASE_CLASSES - 1], "none"]}
    branch_model, branch_meta = load_checkpoint(branch)
    for path, meta in ((base, base_meta), (branch, branch_meta)):
        if meta["model"] != SLIM:
            raise CheckpointError(f"{path}: a {meta['model']} checkpoint; a graft takes two {SLIM} checkpoints")
    if len(base_meta["labels"]) != BASE_CLASSES:
        raise CheckpointError(f"{base}: labels {base_meta['labels']}; the base has {BASE_CLASSES} "
                              f"(e.g. {list(LABEL_SETS['shipped'])})")
    if shared := set(base_meta["labels"][:-1]) & set(branch_meta["labels"][:-1]):
        raise CheckpointError(f"{branch}: gestures {sorted(shared)} are the base's too; a branch adds others")
    theirs, ours = trunk_state(branch_model), trunk_state(base_model)
    if any(not torch.equal(theirs[k], ours[k]) for k in ours):
        raise CheckpointError(f"{branch}: its first {BRANCH_BLOCK} blocks differ from {base}'s; train the branch with "
                              f"--init {base} --freeze-blocks {BRANCH_BLOCK}")
    labels = [*base_meta["labels"][:-1], *branch_meta["labels"]]
    model = SlimWithBranch(len(labels))
    model.base.load_state_dict(base_model.state_dict())
    model.branch_blocks.load_state_dict(branch_model._blocks[BRANCH_BLOCK:].state_dict())
    head: list[nn.Module] = [branch_model._conv_head, branch_model._bn1, branch_model._fc]
    for ours_part, theirs_part in zip([m for m in model.branch_head if list(m.parameters())], head, strict=True):
        ours_part.load_state_dict(theirs_part.state_dict())
    return model.eval(), labels


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", type=Path, help="the classifier the branch was trained from (--init); a grafted one gives "
                   "its four-label base")
    p.add_argument("branch", type=Path, help="training.train's best.pt of the branch (--freeze-blocks)")
    p.add_argument("--out", type=Path, required=True, help="the grafted checkpoint (.pt)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        model, labels = graft(args.base, args.branch)
    except CheckpointError as error:
        raise SystemExit(str(error)) from error
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out, model, BRANCHED, labels)
    runs = [record for record in map(run_record, (args.base, args.branch)) if record is not None]
    record = {"config": {"base": recorded(str(args.base)), "branch": recorded(str(args.branch))},
              "wall_seconds": sum(run["wall_seconds"] for run in runs), "runs": [recorded_paths(run) for run in runs]}
    args.out.with_suffix(".run.json").write_text(json.dumps(record, indent=2))
    print(f"{args.out}: {', '.join(labels)}")


if __name__ == "__main__":
    main()
