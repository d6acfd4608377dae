"""The prepared GPU benchmark runs anywhere with --tiny, so a GPU session never finds it broken."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_throughput.py"


def test_the_gpu_benchmark_runs_tiny_on_cpu_and_writes_its_json(tmp_path):
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--steps", "1", "--batch", "8",
                           "--micro-batch", "4", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data == json.loads(proc.stdout)
    assert set(data["runs"]) == {f"{m}/sdpa/{layout}" for m in ("ntp", "mutor")
                                 for layout in ("padded", "packed")} | {
        "ntp/eager/official batch 1", "mutor/eager/official batch 1"}
    for name, run in data["runs"].items():
        assert run["regular_tokens_per_s"] > 0 and 0 <= run["padding"] < 1, name
        assert (run["register_tokens_per_s"] > 0) == name.startswith("mutor"), name
    assert data["runs"]["mutor/sdpa/packed"]["padding"] < data["runs"]["mutor/sdpa/padded"]["padding"]
    assert data["runs"]["ntp/eager/official batch 1"]["padding"] == 0.0
    # on a CPU: no flex training runs (no FlexAttention backward), the flex logits check runs
    assert set(data["ratios"]) == {"mutor/ntp step (sdpa, padded)", "mutor/ntp step (sdpa, packed)",
                                   "mutor/ntp flops (padded)", "mutor/ntp flops (packed)",
                                   "mutor best path tokens/s vs official batch-1 eager"}
    assert data["mutor_best_path"] in {"mutor/sdpa/padded", "mutor/sdpa/packed"}
    assert 1.5 < data["ratios"]["mutor/ntp flops (padded)"] < 2.1  # answer length about doubled
    for arm in ("ntp", "mutor"):
        check = data["flex_vs_sdpa_logits"][arm]
        assert check["max_abs_diff"] < 1e-4 and check["argmax_agreement"] == 1.0, arm
        # fp32 on a CPU: both kernels equal the fp32 reference, so flex is within tolerance
        assert check["within_tolerance"] and check["flex_vs_fp32"]["max"] < 1e-4, arm


def test_the_image_gpu_benchmark_runs_tiny_on_cpu_and_reports_its_ratios(tmp_path):
    out = tmp_path / "gpu-image.json"
    script = SCRIPT.parent / "gpu_image_throughput.py"
    proc = subprocess.run([sys.executable, str(script), "--tiny", "--steps", "1", "--batch", "4",
                           "--micro-batch", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    lengths = {name: run["length"] for name, run in data["runs"].items()}
    # a register whose target leaves the grid is dropped: fewer than 256 for MuToR-2D's offsets
    assert lengths.pop("mutor2d_256") in range(257 + 240, 513 + 1)
    assert lengths == {"ntp": 257, "mutor1d": 513, "mutor2d_80": 337}
    assert data["ratios"]["ntp"] == {"step_time": 1.0, "flops": 1.0}
    assert 1.3 < data["ratios"]["mutor2d_80"]["flops"] < data["ratios"]["mutor2d_256"]["flops"]
    for name, run in data["runs"].items():
        assert (run["register_tokens_per_s"] > 0) == (name != "ntp"), name


def test_the_image_sampling_gpu_benchmark_runs_tiny_on_cpu(tmp_path):
    """Sampling, VQ decoding and Inception scoring (random weights) of the prepared script."""
    out = tmp_path / "gpu-sampling.json"
    script = SCRIPT.parent / "gpu_image_sampling.py"
    proc = subprocess.run([sys.executable, str(script), "--tiny", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["samples"] == 12 and data["image_size"] == 16  # tiny VQ: 8 x 8 codes, 2x up
    for stage in ("sampling", "decoding", "scoring"):
        assert data[f"{stage}_images_per_s"] > 0, stage
    assert data["scoring_settings"]["feature_extractor"] == "inception-v3-compat"
    assert set(data["metrics_of_random_weights"]) == {"fid", "inception_score", "precision",
                                                      "recall"}
