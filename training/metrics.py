"""Classification metrics in one shape for training logs, evaluation output and the results tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from training.gestures import LABELS


def classification_report(targets: np.ndarray, predictions: np.ndarray, labels: Sequence[str] = LABELS) -> dict:
    """`macro_f1`, `per_class` {label: precision, recall, f1, support}, `confusion` (rows: truth), `labels`, `n`;
    targets and predictions index the label set `labels`, and macro-F1 averages over all of it."""
    indices = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        targets, predictions, labels=indices, zero_division=0)
    return {
        "macro_f1": float(np.mean(f1)),
        "accuracy": float(np.mean(targets == predictions)) if len(targets) else 0.0,
        "per_class": {label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                              "support": int(support[i])} for i, label in enumerate(labels)},
        "confusion": confusion_matrix(targets, predictions, labels=indices).tolist(),
        "labels": list(labels),
        "n": len(targets),
    }


def with_gestures_chosen(report: dict, gestures: Sequence[str]) -> dict:
    """`report` as a host that chose `gestures` sees it (the widget's `gestures` option): every other gesture, in
    truth and prediction, counts as `none`."""
    labels = report["labels"]
    if unknown := [gesture for gesture in gestures if gesture not in labels or gesture == "none"]:
        raise ValueError(f"gestures {unknown} are not gestures of {labels}")
    kept = (*gestures, "none")
    index = np.array([kept.index(label) if label in gestures else len(kept) - 1 for label in labels])
    counts = np.asarray(report["confusion"], dtype=np.int64)
    truth, predicted = np.meshgrid(index, index, indexing="ij")
    return {**report, **classification_report(np.repeat(truth.ravel(), counts.ravel()),
                                              np.repeat(predicted.ravel(), counts.ravel()), kept)}


def format_report(report: dict) -> str:
    """A plain-text table of per-class scores and the confusion matrix, its columns as wide as the longest label."""
    w = max(10, 2 + max(map(len, report["labels"])))
    lines = [f"{'class':<{w}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for label, scores in report["per_class"].items():
        lines.append(f"{label:<{w}}{scores['precision']:>10.4f}{scores['recall']:>10.4f}{scores['f1']:>10.4f}"
                     f"{scores['support']:>10d}")
    lines.append(f"{'macro-F1':<{w}}{report['macro_f1']:>30.4f}{report['n']:>10d}")
    lines.append("")
    lines.append("confusion (rows: truth, columns: prediction)")
    lines.append(" " * w + "".join(f"{label:>{w}}" for label in report["labels"]))
    for label, row in zip(report["labels"], report["confusion"], strict=False):
        lines.append(f"{label:<{w}}" + "".join(f"{count:>{w}d}" for count in row))
    return "\n".join(lines)


def score_cell(report: dict) -> str:
    """A table cell: macro-F1, and thumbs up's F1 (the weakest class) in brackets."""
    return f"{report['macro_f1']:.4f} ({report['per_class']['like']['f1']:.3f})"
