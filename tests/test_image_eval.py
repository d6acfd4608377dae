"""`mutor-bench eval` on image checkpoints: a run's checkpoint sampled and scored again gives the
run's own last evaluation, and the paper-scale pipeline (images -> VQ codes -> LlamaGen trained
on them -> sampled codes decoded by the VQ -> scored against an ADM-layout reference batch) runs
end to end at a tiny size on CPU (a tiny VQ, a stand-in feature extractor for Inception)."""

import json

import numpy as np
import pytest

pytest.importorskip("torch_fidelity")

from mutorbench.cli import main  # noqa: E402
from mutorbench.results import load_result  # noqa: E402
from mutorbench.train.config import load_config  # noqa: E402
from mutorbench.train.loop import train  # noqa: E402
from tests.test_adm_reference import register_stand_in  # noqa: E402
from tests.test_image_task import digits_run  # noqa: E402
from tests.test_image_tokenize import write_folder, write_vq  # noqa: E402

SIZES = ["--set", "model.dim=32", "--set", "model.n_layer=2", "--set", "model.n_head=2"]


def sets(*pairs: str) -> list[str]:
    return [x for p in pairs for x in ("--set", p)]


def test_a_runs_checkpoint_scored_by_eval_gives_the_runs_last_evaluation(tmp_path,
                                                                        digits_cnn_dir):
    cfg = digits_run(tmp_path / "runs", "mutor_2d", digits_cnn_dir, "method.grid_width=8",
                     "method.d_max_2d=2")
    trained = load_result(train(cfg, progress=False))
    checkpoint = tmp_path / "runs" / "mutor_2d-seed0" / "checkpoint.pt"
    assert main(["eval", "--model", str(checkpoint), "--task", "digits", *SIZES,
                 *sets("eval.report_split=validation", "eval.images.num_samples=30",
                       f"eval.images.feature_cache={digits_cnn_dir}",
                       f"output_dir={tmp_path / 'evals'}")]) == 0
    path = tmp_path / "evals" / "eval-digits-mutor_2d-seed0-checkpoint" / "result.json"
    scored = load_result(path)
    assert scored.kind == "eval"
    # the same weights (register rows left out: never sampled), seed and samples: the same numbers
    assert scored.metrics.selected.values == trained.metrics.selected.values
    assert scored.init_weights_hash != trained.init_weights_hash  # trained weights, not the init


def test_images_to_codes_to_a_trained_llamagen_to_scores_end_to_end(tmp_path, capsys):
    name = register_stand_in()
    write_folder(tmp_path / "images")
    vq = write_vq(tmp_path / "vq.pt", seed=0)
    assert main(["images", "tokenize", "--images", str(tmp_path / "images"), "--out",
                 str(tmp_path / "codes"), "--vq", str(vq), "--image-size", "16",
                 "--no-progress"]) == 0
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    f = ref[:, 0, :2, 0].astype(np.float64)  # the stand-in's features: first pixels, channel 0
    np.savez(tmp_path / "ref.npz", arr_0=ref, mu=f.mean(0), sigma=np.cov(f, rowvar=False))
    (tmp_path / "weights.bin").write_bytes(b"stand-in")
    task = ["task.name=imagenet_codes", f"task.local_path={tmp_path / 'codes'}",
            "task.image_size=16", "task.downsample=2", "task.codebook_size=64",
            "task.num_classes=2", f"task.vq_checkpoint={vq}",
            f"task.reference_batch={tmp_path / 'ref.npz'}",
            f"task.inception_weights={tmp_path / 'weights.bin'}", f"task.feature_extractor={name}"]
    scoring = ["eval.report_split=train", "eval.images.num_samples=12", "eval.images.batch_size=6"]
    cfg = load_config(None, [*task, *scoring, "model.source=llamagen", "model.dim=32",
                             "model.n_layer=2", "model.n_head=2", "method.id=mutor_2d",
                             "method.grid_width=8", "method.d_max_2d=2",
                             "eval.select_split=train", "eval.selection=last",
                             "batch.micro_batch_size=2", "budget.kind=steps", "budget.amount=2",
                             f"output_dir={tmp_path / 'runs'}"])
    trained = load_result(train(cfg, progress=False))
    values = trained.metrics.selected.values
    assert set(values) == {"fid", "inception_score", "precision", "recall"} and values["fid"] > 0
    log = next((tmp_path / "runs" / "mutor_2d-seed0" / "generations").glob("*-train.jsonl"))
    head = json.loads(log.read_text().splitlines()[0])["settings"]
    assert head["feature_extractor"] == name and head["num_reference"] == 12
    assert head["reference"]["reference_batch"] == "ref.npz"
    checkpoint = tmp_path / "runs" / "mutor_2d-seed0" / "checkpoint.pt"
    capsys.readouterr()
    assert main(["eval", "--model", str(checkpoint), "--task", "imagenet_codes", *SIZES,
                 *sets(*task, *scoring, f"output_dir={tmp_path / 'evals'}")]) == 0
    out = capsys.readouterr().out
    assert "12 sampled images" in out and "images/s sampled, decoded and scored" in out
    scored = load_result(next((tmp_path / "evals").glob("*/result.json")))
    assert scored.metrics.selected.values == values
    assert scored.data.split_hashes["train"] == head["reference"]["sha256"]


def test_an_imagenet_run_without_its_scoring_files_is_refused_before_training(tmp_path, capsys):
    write_folder(tmp_path / "images")
    vq = write_vq(tmp_path / "vq.pt", seed=0)
    main(["images", "tokenize", "--images", str(tmp_path / "images"), "--out",
          str(tmp_path / "codes"), "--vq", str(vq), "--image-size", "16", "--no-progress"])
    capsys.readouterr()
    rc = main(["train", "--no-progress", *sets(
        "task.name=imagenet_codes", f"task.local_path={tmp_path / 'codes'}", "task.image_size=16",
        "task.downsample=2", "task.codebook_size=64", "task.num_classes=2",
        f"task.vq_checkpoint={vq}", "model.source=llamagen", "model.dim=32", "model.n_layer=2",
        "model.n_head=2", "eval.select_split=train", "eval.report_split=train",
        f"output_dir={tmp_path / 'runs'}")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--set task.reference_batch=PATH" in err[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
