"""A short train-then-evaluate round trip on real crops, its reproducibility, and the evaluation interface's
contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from export.classifier_onnx import export_fp32, metadata
from runtime.paths import ROOT, SHIPPED_CHECKPOINT, recorded
from tests.conftest import make_small_dataset
from training import benchmark, evaluate, ship, train
from training.checkpoint import CheckpointError, load_checkpoint
from training.device import autocast, autocast_dtype, grad_scaler, resolve_device
from training.gestures import LABELS


@pytest.fixture(scope="module")
def small_data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_dataset(data_dir, tmp_path_factory.mktemp("data"), {"train": 24, "val": 8, "test": 8})


@pytest.fixture(scope="module")
def trained(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train.main(["--model", "mobilenet_v3_small", "--data", str(small_data), "--epochs", "2",
                "--samples-per-epoch", "64", "--batch-size", "16", "--workers", "0", "--out", str(out)])
    return out


def test_training_writes_best_last_and_a_run_record(trained: Path) -> None:
    record = json.loads((trained / "run.json").read_text())
    assert [e["epoch"] for e in record["epochs"]] == [1, 2]
    assert record["config"]["model"] == "mobilenet_v3_small" and record["wall_seconds"] > 0
    assert record["best"]["val_macro_f1"] == max(e["val_macro_f1"] for e in record["epochs"])
    _, meta = load_checkpoint(trained / "best.pt")
    assert meta["model"] == "mobilenet_v3_small" and meta["labels"] == list(LABELS) and meta["input_size"] == 112
    assert meta["epoch"] == record["best"]["epoch"]
    assert all(e["train_images_per_second"] > 0 for e in record["epochs"])


def test_limit_per_class_limits_the_training_and_the_validation_crops(small_data: Path) -> None:
    data = train.load_data(train.parse_args(["--model", "mobilenet_v3_small", "--data", str(small_data),
                                             "--limit-per-class", "3"]))
    for crops in (data.train_set, data.val_set):
        assert np.bincount(crops.labels, minlength=len(LABELS)).tolist() == [3] * len(LABELS)


def test_the_device_flag_falls_back_to_the_cpu_with_a_warning_where_cuda_is_absent(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert caplog.records == []
    for asked in ("cuda", "cuda:1"):
        with caplog.at_level("WARNING"):
            assert resolve_device(asked) == torch.device("cpu")
        assert f"--device {asked}: no CUDA device here" in caplog.text
    for wrong in ("tpu", "gpu", "mps"):
        with pytest.raises(ValueError, match="auto"):
            resolve_device(wrong)



def test_precision_picks_the_autocast_dtype_and_loss_scaling_per_device() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    conv, image = torch.nn.Conv2d(3, 4, 3), torch.rand(1, 3, 8, 8)
    for precision, dtype in (("auto", torch.float32), ("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        with autocast(cpu, precision):
            assert conv(image).dtype == dtype, precision
    assert [autocast_dtype(cuda, p) for p in ("auto", "bfloat16", "float32")] == [torch.float16, torch.bfloat16, None]
    # only float16 needs its loss scaled; bfloat16 has float32's exponent range
    assert not any(grad_scaler(cpu, p).is_enabled() for p in ("auto", "bfloat16", "float32"))
    with pytest.raises(ValueError, match="bfloat16"):
        autocast_dtype(cpu, "float16")


def test_bfloat16_training_follows_float32_and_resumes_in_bfloat16(small_data: Path, trained: Path,
                                                                    tmp_path: Path) -> None:
    train.main(["--model", "mobilenet_v3_small", "--data", str(small_data), "--epochs", "2", "--samples-per-epoch",
                "64", "--batch-size", "16", "--workers", "0", "--out", str(tmp_path), "--stop-after", "1",
                "--precision", "bfloat16"])
    train.main(["--resume", str(tmp_path / "last.pt"), "--workers", "0"])
    bfloat16 = json.loads((tmp_path / "run.json").read_text())
    float32 = json.loads((trained / "run.json").read_text())
    assert bfloat16["config"]["precision"] == "bfloat16" and float32["config"]["precision"] == "auto"
    # the same seed and draws: rounding to bfloat16 moves the loss a little, not the training
    for ours, theirs in zip(bfloat16["epochs"], float32["epochs"], strict=True):
        assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=0.05)
        assert ours["train_loss"] != theirs["train_loss"]

def test_training_is_reproducible_and_resumes(small_data: Path, trained: Path, tmp_path: Path) -> None:
    train.main(["--model", "mobilenet_v3_small", "--data", str(small_data), "--epochs", "2", "--samples-per-epoch",
                "64", "--batch-size", "16", "--workers", "0", "--out", str(tmp_path), "--stop-after", "1"])
    assert len(json.loads((tmp_path / "run.json").read_text())["epochs"]) == 1
    train.main(["--resume", str(tmp_path / "last.pt"), "--workers", "0"])
    resumed = json.loads((tmp_path / "run.json").read_text())
    straight = json.loads((trained / "run.json").read_text())
    assert [e["epoch"] for e in resumed["epochs"]] == [1, 2]
    # same seed, same data: the first epoch matches the uninterrupted run exactly
    assert resumed["epochs"][0]["train_loss"] == pytest.approx(straight["epochs"][0]["train_loss"], abs=1e-6)
    assert resumed["epochs"][1]["train_loss"] == pytest.approx(straight["epochs"][1]["train_loss"], rel=1e-3)


def best_weights(data: Path, out: Path, seed: int) -> dict[str, torch.Tensor]:
    """The best.pt weights of a one-epoch run with the default data-loading workers."""
    train.main(["--model", "mobilenet_v3_small", "--data", str(data), "--epochs", "1", "--samples-per-epoch", "64",
                "--batch-size", "16", "--seed", str(seed), "--out", str(out)])
    return torch.load(out / "best.pt", weights_only=True)["state_dict"]


def test_training_with_default_workers_repeats_per_seed(small_data: Path, tmp_path: Path) -> None:
    first = best_weights(small_data, tmp_path / "first", seed=1)
    again = best_weights(small_data, tmp_path / "again", seed=1)
    other = best_weights(small_data, tmp_path / "other", seed=2)
    assert first.keys() == again.keys() == other.keys()
    assert [k for k in first if not torch.equal(first[k], again[k])] == []
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_evaluate_cli_prints_and_writes_json_and_png(small_data: Path, trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = subprocess.run([sys.executable, "-m", "training.evaluate", "--data", str(small_data), "--split",
                             "test", "--kind", "crop", "--model", str(trained / "best.pt"), "--json", str(out)],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    report = json.loads(out.read_text())
    assert {"macro_f1", "per_class", "confusion", "labels", "n"} <= set(report)
    assert report["n"] == 8 * len(LABELS) and report["labels"] == list(LABELS)
    assert sum(map(sum, report["confusion"])) == report["n"]
    assert f"{report['macro_f1']:.4f}" in result.stdout and "confusion" in result.stdout
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_and_corrupt_checkpoints_fail_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=re.escape(str(corrupt))):
        load_checkpoint(corrupt)
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="'model' and 'state_dict'"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_evaluate_reports_a_missing_model_clearly(small_data: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"missing\.pt"):
        evaluate.evaluate(small_data, "test", "crop", tmp_path / "missing.pt")


def test_evaluate_gives_the_same_report_for_a_checkpoint_and_its_onnx_export(small_data: Path, trained: Path,
                                                                             tmp_path: Path) -> None:
    _, meta = load_checkpoint(trained / "best.pt")
    onnx_file = export_fp32(trained / "best.pt", tmp_path / "classifier.onnx", metadata(meta, None, "test", "float32"))
    from_torch = evaluate.evaluate(small_data, "test", "crop", trained / "best.pt")
    from_onnx = evaluate.evaluate(small_data, "test", "crop", onnx_file)
    assert from_onnx["confusion"] == from_torch["confusion"]
    assert from_onnx["macro_f1"] == pytest.approx(from_torch["macro_f1"])


def test_ship_writes_half_precision_weights_and_the_test_report(small_data: Path, trained: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "classifier.pt"
    ship.main([str(trained / "best.pt"), "--data", str(small_data), "--out", str(out)])
    shipped = torch.load(out, map_location="cpu", weights_only=True)["state_dict"]
    assert {v.dtype for v in shipped.values() if v.is_floating_point()} == {torch.float16}
    report = json.loads(out.with_suffix(".test.json").read_text())
    assert report["n"] == 8 * len(LABELS) and report["split"] == "test" and report["model_file"] == out.name
    assert json.loads(out.with_suffix(".run.json").read_text()) == json.loads((trained / "run.json").read_text())


def test_shipped_records_keep_paths_beside_the_repository_relative(tmp_path: Path) -> None:
    """The shipped run record and test report are committed: the shared data's folder goes in relative to the
    repository, not as this machine's absolute path; other paths stay as given."""
    assert recorded(ROOT.parent / "shared" / "data" / "gestures") == "../shared/data/gestures"
    assert recorded(ROOT / "runs" / "slim" / "best.pt") == "runs/slim/best.pt"
    assert recorded("runs/slim/best.pt") == "runs/slim/best.pt"
    assert recorded(tmp_path) == str(tmp_path)


def test_benchmark_prints_the_results_table(small_data: Path, trained: Path, capsys: pytest.CaptureFixture) -> None:
    benchmark.main([str(trained / "best.pt"), "--data", str(small_data), "--repeats", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{8 * len(LABELS)} test crops") and lines[1].startswith("| model | input |")
    cells = [cell.strip() for cell in lines[3].split("|")[1:-1]]
    assert cells[0] == "mobilenet_v3_small" and cells[1] == "112" and 0 <= float(cells[2]) <= 1


def test_benchmark_adds_an_ensemble_row_with_summed_costs(small_data: Path, trained: Path, tmp_path: Path) -> None:
    """The shipped model with the short run: at weights 1 and 0 the ensemble row scores as the shipped row does;
    its costs are the two members' together."""
    out = tmp_path / "rows.json"
    benchmark.main([str(SHIPPED_CHECKPOINT), str(trained / "best.pt"), "--data", str(small_data), "--repeats", "3",
                    "--ensemble", "1", "0", "--json", str(out)])
    first, second, both = json.loads(out.read_text())
    assert both["macro_f1"] == first["macro_f1"] and both["f1"] == first["f1"]
    assert both["parameters"] == first["parameters"] + second["parameters"] and both["input_size"] == "112 + 112"
    assert both["latency_ms"] == pytest.approx(first["latency_ms"] + second["latency_ms"])
    assert both["name"] == "ensemble: 1 x efficientnet_lite0_slim_branched + 0 x mobilenet_v3_small"
    with pytest.raises(SystemExit, match="one weight per checkpoint"):
        benchmark.main([str(SHIPPED_CHECKPOINT), "--data", str(small_data), "--ensemble", "0.5", "0.5"])
