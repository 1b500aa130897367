"""Every number and name the browser shares with Python is written once in Python (`training/gestures.py`,
`runtime/settings.py`) and reaches the worker in the classifier's ONNX metadata: a fresh export is read alike
by the Python reader and the worker's, both refuse the same broken files with the same words, and no JavaScript
file spells a shared value itself."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from export.classifier_onnx import export_fp32, metadata
from runtime.classifier import read_metadata
from runtime.hand_landmarks import INPUT_SIZE as LANDMARK_INPUT_SIZE
from runtime.hand_landmarks import LANDMARK_REGION, PALM_REGION
from runtime.onnx_models import ModelFileError
from runtime.paths import ROOT, SHIPPED_CHECKPOINT
from runtime.settings import CustomGestureSettings, PipelineSettings, RaiseHandSettings, ReactionSettings
from tests.conftest import copy_with_metadata
from training.checkpoint import load_checkpoint
from training.gestures import (
    CATALOGUE,
    EMOJI,
    GESTURES,
    INPUT_SIZE,
    LABEL_SETS,
    LABELS,
    MEAN,
    NAMES,
    STD,
    emoji_of,
    names_of,
)

# numbers no production file uses, so that a reader that ignores the file and uses its own cannot pass
FRESH_PIPELINE = PipelineSettings(min_palm_score=0.37, min_presence=0.55, min_gesture_score=0.61, max_hands=3,
                                  hand_box_margin=0.13, still_change=17, signature_size=12, redetect_ms=850,
                                  search_motion=33, motion_shift_share=0.3, motion_search_ms=450, idle_search_ms=1100,
                                  idle_fps=9, bright_crop_luma=185, bright_crop_target=155, bright_crop_none_logit=0.9)
FRESH_REACTIONS = ReactionSettings(threshold=0.72, hold_ms=650, cooldown_ms=1500)

READ_IN_JAVASCRIPT = """
import {readFileSync} from 'node:fs';
import {classifierSettings, readModelMetadata} from './static/widget/onnx-metadata.js';
try {
  console.log(JSON.stringify(classifierSettings(readModelMetadata(readFileSync(process.argv[1])))));
} catch (error) {
  console.log(JSON.stringify({error: error.message}));
}
"""

TOKENS = re.compile(r"(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<string>'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\""
                    r"|`(?:\\.|[^`\\])*`)|(?P<number>(?<![\w.])\d+(?:\.\d+)?(?![\w.]))|(?P<name>(?<![\w.$])[A-Za-z_]\w*)",
                    re.DOTALL)


def read_in_javascript(path: Path) -> dict:
    """What the worker's reader (`static/widget/onnx-metadata.js`) makes of a classifier file, or its error."""
    result = subprocess.run(["node", "--input-type=module", "-e", READ_IN_JAVASCRIPT, str(path)], cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=60)
    return json.loads(result.stdout)


def read_in_python(path: Path) -> dict:
    """What `runtime.classifier` makes of it, in the worker's shape, or its error without the file's path."""
    try:
        meta = read_metadata(path)
    except ModelFileError as error:
        return {"error": str(error).removeprefix(f"{path}: ").split("; expected the gesture classifier")[0]}
    pipeline, reactions = asdict(meta.pipeline), meta.reactions
    return {"labels": list(meta.labels), "gestures": list(meta.gestures),
            "defaultGestures": list(meta.default_gestures), "emoji": meta.emoji, "names": meta.names,
            "inputSize": meta.input_size, "mean": list(meta.mean), "std": list(meta.std),
            "pipeline": {re.sub(r"_(\w)", lambda m: m.group(1).upper(), k): v for k, v in pipeline.items()},
            "reactions": {"threshold": reactions.threshold, "hold": reactions.hold_ms,
                          "cooldown": reactions.cooldown_ms},
            "raiseHand": meta.raise_hand and {"gesture": meta.raise_hand.label, "hold": meta.raise_hand.hold_ms,
                                              "lowerAfter": meta.raise_hand.lower_after_ms}}


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped checkpoint exported now, with pipeline and reaction numbers of its own."""
    _, checkpoint_meta = load_checkpoint(SHIPPED_CHECKPOINT)
    meta = metadata(checkpoint_meta, None, "test", "float32", FRESH_PIPELINE, FRESH_REACTIONS)
    return export_fp32(SHIPPED_CHECKPOINT, tmp_path_factory.mktemp("export") / "classifier.onnx", meta)


def test_both_readers_read_a_fresh_export_alike(fresh_export: Path) -> None:
    """The shipped checkpoint's nine labels, its default gestures (the four-label model's three) and its raise-hand
    gesture, read alike by both readers."""
    python = read_in_python(fresh_export)
    assert python["pipeline"]["minPalmScore"] == FRESH_PIPELINE.min_palm_score
    assert python["reactions"]["hold"] == FRESH_REACTIONS.hold_ms
    nine = LABEL_SETS["extended"]
    assert python["labels"] == list(nine) and python["gestures"] == list(nine[:-1])
    assert python["emoji"] == emoji_of(nine) and python["names"] == names_of(nine)
    assert python["emoji"]["like"] == EMOJI["like"] and python["names"]["ok"] == NAMES["ok"]
    assert python["defaultGestures"] == list(GESTURES) == list(LABELS[:-1])  # more gestures wait for a host
    assert python["inputSize"] == INPUT_SIZE and python["mean"] == list(MEAN) and python["std"] == list(STD)
    assert python["raiseHand"] == {"gesture": RaiseHandSettings().label, "hold": RaiseHandSettings().hold_ms,
                                   "lowerAfter": RaiseHandSettings().lower_after_ms}
    assert RaiseHandSettings().label in CATALOGUE
    assert read_in_javascript(fresh_export) == python


@pytest.mark.parametrize(("key", "value", "said"), [
    *[(key, None, f'its metadata has no "{key}"')
      for key in ("labels", "emoji", "names", "input_size", "mean", "std", "pipeline", "reactions", "raise_hand",
                  "default_gestures")],
    ("output", None, 'its metadata "output" is missing'),
    ("labels", "like,dislike,ok,none", 'its metadata "labels" is not JSON'),
    ("emoji", json.dumps({"like": "x"}), 'its metadata "emoji" is {"like": "x"}'),
    ("pipeline", json.dumps({"min_palm_score": 0.4}), 'its metadata "pipeline" is {"min_palm_score": 0.4}'),
    ("reactions", json.dumps({"threshold": "high", "hold_ms": 700, "cooldown_ms": 2000}),
     'its metadata "reactions" is'),
    ("raise_hand", json.dumps({"label": "like", "hold_ms": 600}), 'its metadata "raise_hand" is'),
    ("raise_hand", json.dumps({"label": "wave", "hold_ms": 600, "lower_after_ms": 2000}),
     'its metadata "raise_hand" is'),
    ("default_gestures", json.dumps([]), 'its metadata "default_gestures" is []'),
    ("default_gestures", json.dumps(["like", "wave"]), 'its metadata "default_gestures" is'),
])
def test_both_readers_refuse_a_broken_file_with_the_same_words(fresh_export: Path, tmp_path: Path, key: str,
                                                                value: str | None, said: str) -> None:
    broken = copy_with_metadata(fresh_export, tmp_path / "classifier.onnx", key, value)
    python, javascript = read_in_python(broken), read_in_javascript(broken)
    assert python["error"].startswith(said), python
    assert javascript == python


def test_no_javascript_file_spells_a_shared_value() -> None:
    """Numbers (but 0, 0.5, 1 and 2, which mean other things everywhere: pixel centres, halves), gesture labels (as
    a string or a key) and emoji: a JavaScript file that needs one reads it from the classifier's settings or the
    landmark model's (its input side and regions)."""
    raise_hand = [v for v in asdict(RaiseHandSettings()).values() if not isinstance(v, str)]
    shared_numbers = {*asdict(PipelineSettings()).values(), *asdict(ReactionSettings()).values(), *raise_hand,
                      INPUT_SIZE, LANDMARK_INPUT_SIZE, *asdict(PALM_REGION).values(), *asdict(LANDMARK_REGION).values(),
                      *asdict(CustomGestureSettings()).values()}
    numbers = {abs(float(n)) for n in shared_numbers if abs(n) not in (0, 0.5, 1, 2)}
    files = sorted((ROOT / "static").rglob("*.js"))
    assert files
    for file in files:
        for token in TOKENS.finditer(file.read_text(encoding="utf-8")):
            where = f"{file.name} spells {token[0]!r}"
            if token["number"] is not None:
                assert float(token["number"]) not in numbers, where
            elif token["string"] is not None:
                assert token["string"][1:-1] not in GESTURES, where
                assert not any(emoji in token["string"] for emoji in EMOJI.values()), where
            elif token["name"] is not None:
                assert token["name"] not in GESTURES, where
