"""Image tasks: class token + code grid examples, LlamaGen's code layout, seeded per-access views."""

import json
from collections import Counter

import numpy as np
import pytest

from mutorbench.models.code_vocabulary import CodeVocabulary
from mutorbench.tasks.base import split_hashes, tokenizer_hash
from mutorbench.tasks.image_codes import DigitsTask, ImageNetCodesTask, view_choices

pytest.importorskip("sklearn")


def llamagen_folder(root, n=12, num_aug=2, grid=4, codebook=50, classes=7, seed=0):
    """What LlamaGen's extract_codes_c2i.py writes: {i}.npy codes (1, num_aug, grid²) and labels
    (1,) in imagenet256_codes/ and imagenet256_labels/."""
    rng = np.random.default_rng(seed)
    codes, labels = root / "imagenet256_codes", root / "imagenet256_labels"
    codes.mkdir(parents=True), labels.mkdir(parents=True)
    written = []
    for i in range(n):
        x = rng.integers(codebook, size=(1, num_aug, grid * grid))
        y = rng.integers(classes, size=(1,))
        np.save(codes / f"{i}.npy", x), np.save(labels / f"{i}.npy", y)
        written.append((x, int(y[0])))
    return written


def codes_task(root, **kw):
    return ImageNetCodesTask(local_path=str(root), codebook_size=50, num_classes=7,
                             downsample=64, **kw)  # 256 / 64: a 4 x 4 grid


def test_llamagens_code_layout_loads_as_class_token_and_grid(tmp_path):
    written = llamagen_folder(tmp_path)
    task = codes_task(tmp_path)
    vocab = task.code_vocabulary()
    examples, counts = task.examples("train", vocab, 1024)
    assert counts == {"split": "train", "total": 12, "kept": 12, "dropped_too_long": 0,
                      "augmentations": 2}
    for e, (x, y) in zip(examples, written):
        assert e.prompt_ids == (50 + y,)  # class_token_offset = the codebook size
        assert e.answer_ids == tuple(x[0, 0].tolist())  # 16 codes, raster order, no EOS
    assert task.fixed_answer_tokens == 16 and not task.answer_eos
    assert len(vocab) == 50 + 7 + 1 and vocab.null_class_id == 57


def test_one_augmentation_and_the_label_drop_per_access_are_seeded(tmp_path):
    written = llamagen_folder(tmp_path, n=12)
    task = codes_task(tmp_path, label_drop=0.25)
    examples, _ = task.examples("train", task.code_vocabulary(), 1024)
    a = task.view(examples, seed=3, epoch=1)
    assert a == task.view(examples, seed=3, epoch=1)  # a pure function of (seed, epoch, example)
    assert a != task.view(examples, seed=3, epoch=2)
    for e, v, (x, y) in zip(examples, a, written):
        assert v.index == e.index
        assert v.answer_ids in (tuple(x[0, 0].tolist()), tuple(x[0, 1].tolist()))
        assert v.prompt_ids in ((50 + y,), (57,))  # its class, or the null class
    # over many accesses: both crops about half the time, the null class about a quarter
    seen = view_choices(0, 0, range(4000), 2, 0.25)
    augs, drops = Counter(a for a, _ in seen), sum(d for _, d in seen)
    assert abs(augs[1] / 4000 - 0.5) < 0.03 and abs(drops / 4000 - 0.25) < 0.03
    assert view_choices(0, 0, [5], 1, 0.0) == [(0, False)]


def test_a_bad_code_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="needs task.local_path"):
        ImageNetCodesTask().grids("train")
    with pytest.raises(ValueError, match="imagenet256_codes not found"):
        codes_task(tmp_path).grids("train")
    llamagen_folder(tmp_path, n=3)
    (tmp_path / "imagenet256_labels" / "1.npy").unlink()
    with pytest.raises(ValueError, match="1.npy is missing"):
        codes_task(tmp_path).grids("train")
    with pytest.raises(ValueError, match="train split only"):
        codes_task(tmp_path).grids("validation")
    with pytest.raises(ValueError, match="codes outside 0..9"):
        ImageNetCodesTask(local_path=str(tmp_path), codebook_size=10, num_classes=7,
                          downsample=64, limit=1).grids("train")


def test_digits_are_an_8x8_grid_of_17_grey_levels_with_a_fixed_split():
    task = DigitsTask()
    vocab = task.code_vocabulary()
    examples, counts = task.examples("train", vocab, 512)
    assert counts["total"] == 1297 and counts["augmentations"] == 1
    assert {len(e.answer_ids) for e in examples} == {64}
    assert max(max(e.answer_ids) for e in examples) == 16
    assert {e.prompt_ids[0] for e in examples} == set(range(17, 27))
    hashes = split_hashes(task, ["train", "validation", "test"])
    assert hashes["test"].startswith("69bc27c33e20") and len(set(hashes.values())) == 3
    viewed = task.view(examples[:200], seed=0, epoch=0)
    assert all(v.answer_ids == e.answer_ids for v, e in zip(viewed, examples))  # one crop
    assert 5 <= sum(v.prompt_ids == (27,) for v in viewed) <= 40  # label drop 0.1 of 200
    with pytest.raises(ValueError, match="over task.max_length=32"):
        task.examples("train", vocab, 32)


def test_the_code_vocabulary_takes_registers_after_the_classes():
    vocab = CodeVocabulary(17, 10)
    before = tokenizer_hash(vocab)
    assert vocab.add_tokens(["<reg>"]) == 1 and vocab.convert_tokens_to_ids(["<reg>"]) == [28]
    assert len(vocab) == 29 and tokenizer_hash(vocab) != before
    with pytest.raises(ValueError, match="class 10 is outside 0..9"):
        vocab.class_id(10)


def digits_run(out, method, cnn_dir, *sets):
    from mutorbench.train.config import load_config

    return load_config(None, [
        "task.name=digits", "model.source=llamagen", "model.dim=32", "model.n_layer=2",
        "model.n_head=2", "model.token_dropout_p=0", "model.resid_dropout_p=0",
        "model.ffn_dropout_p=0", f"method.id={method}",
        "batch.micro_batch_size=8", "budget.kind=steps", "budget.amount=3",
        "eval.select_split=validation", "eval.report_split=validation", "eval.selection=last",
        "eval.images.num_samples=30", f"eval.images.feature_cache={cnn_dir}",
        f"output_dir={out}", *sets])


def test_llamagen_trains_on_digits_with_mutor_2d_and_is_scored_by_sampled_images(
        tmp_path, digits_cnn_dir):
    pytest.importorskip("torch_fidelity")
    from mutorbench.results import load_result
    from mutorbench.train.loop import train

    done = {}
    for method, sets in [("ntp", []), ("mutor_2d", ["method.grid_width=8", "method.d_max_2d=2",
                                                    "method.a=0"])]:
        done[method] = load_result(train(digits_run(tmp_path / method, method, digits_cnn_dir,
                                                    *sets), progress=False))
    ntp, mutor = done["ntp"], done["mutor_2d"]
    assert ntp.init_weights_hash == mutor.init_weights_hash  # paired: same base weights
    assert ntp.data.order_hash == mutor.data.order_hash  # same examples, crops and label drops
    assert mutor.budget.register_tokens > 0 and ntp.budget.register_tokens == 0
    values = ntp.metrics.selected.values
    assert set(values) == {"fid", "inception_score", "precision", "recall"}
    assert values["fid"] > 0 and 1.0 <= values["inception_score"] <= 10.0
    # a = 0: MuToR-2D's regular loss is next-token's, so the first steps' losses agree
    log = [json.loads(x) for x in (tmp_path / "ntp" / "ntp-seed0" / "log.jsonl").read_text()
           .splitlines()]
    log2 = [json.loads(x) for x in (tmp_path / "mutor_2d" / "mutor_2d-seed0" / "log.jsonl")
            .read_text().splitlines()]
    assert log[0]["loss_regular"] == pytest.approx(log2[0]["loss_regular"], abs=1e-5)
    samples = (tmp_path / "ntp" / "ntp-seed0" / "generations").glob("*-validation.jsonl")
    head = json.loads(next(samples).read_text().splitlines()[0])
    assert head["settings"]["feature_extractor"] == "mutorbench-digits-cnn"
    assert head["settings"]["num_generated"] == 30 and head["settings"]["cfg_scale"] == 2.0


def test_an_image_task_refuses_a_text_model_and_a_text_task_refuses_eval_images(tmp_path):
    from mutorbench.train.config import load_config

    with pytest.raises(ValueError, match="needs model.source=llamagen"):
        load_config(None, ["task.name=digits", f"output_dir={tmp_path}"])
    with pytest.raises(ValueError, match="does not generate images"):
        load_config(None, ["eval.images.num_samples=10", f"output_dir={tmp_path}"])


def test_mutor_2d_offsets_must_use_the_tasks_grid_width(tmp_path):
    from mutorbench.train.config import load_config

    base = ["task.name=digits", "model.source=llamagen", "model.dim=32", "model.n_head=2",
            "method.id=mutor_2d", f"output_dir={tmp_path}"]
    with pytest.raises(ValueError, match="method.grid_width 16 is not task digits's grid width 8"):
        load_config(None, base)
    assert load_config(None, base + ["method.grid_width=8"]).method.grid_width == 8


def test_the_image_baselines_bracket_what_a_model_can_score(digits_cnn_dir):
    """No model (every pixel from its marginal) must score far worse than the data themselves,
    in the same feature space and with the arms' sample count; the scores are seeded."""
    pytest.importorskip("torch_fidelity")
    from mutorbench.bench.trivial import image_baselines
    from mutorbench.train.config import EvalConfig

    cfg = EvalConfig(select_split="test", report_split="test",
                     images={"num_samples": 300, "feature_cache": str(digits_cnn_dir)})
    marginal, real = image_baselines(DigitsTask(), cfg)
    assert (marginal["key"], real["key"]) == ("pixel_marginals", "training_images")
    assert marginal["values"]["fid"] > 5 * real["values"]["fid"]
    assert real["values"]["precision"] > marginal["values"]["precision"]
    assert real["settings"]["num_generated"] == 300 and real["settings"]["num_reference"] == 300
    assert image_baselines(DigitsTask(), cfg)[0]["values"] == marginal["values"]
