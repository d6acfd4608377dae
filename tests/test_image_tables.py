"""The image tables' specs (Tables 7, 8, 9, 15): the paper's recipe at paper scale, one run per
arm read at the paper's steps, and the cells the tables share trained once."""

import pytest

from mutorbench.bench.reuse import training_key
from mutorbench.cli import main
from mutorbench.identity import training_hash
from mutorbench.paper import load_paper_table
from mutorbench.spec import SPEC_DIR, expand, load_spec

IMAGE_TABLES = ("table7", "table8", "table9", "table15")


def cells_of(table, scale):
    return {c.id: c for c in expand(load_spec(table), scale)}


@pytest.mark.parametrize("table", IMAGE_TABLES)
def test_paper_scale_is_llamagen_b_with_the_papers_recipe_and_steps(table):
    for c in cells_of(table, "paper").values():
        cfg = c.config
        assert (cfg.model.source, cfg.model.dim, cfg.model.n_layer, cfg.model.n_head) == (
            "llamagen", 768, 12, 12)
        assert (cfg.model.token_dropout_p, cfg.model.resid_dropout_p,
                cfg.model.ffn_dropout_p) == (0.1, 0.1, 0.1)
        o = cfg.optim
        assert (o.lr, o.betas, o.weight_decay, o.decay, o.schedule, o.warmup_fraction,
                o.grad_clip) == (4e-4, (0.9, 0.95), 0.05, "matrices", "constant", 0.0, 1.0)
        assert cfg.batch.micro_batch_size * cfg.batch.grad_accumulation == 1024
        assert cfg.precision == "bf16" and cfg.task.name == "imagenet_codes"
        assert (cfg.task.image_size // cfg.task.downsample, cfg.task.label_drop) == (16, 0.1)
        images = cfg.eval.images
        assert (images.num_samples, images.cfg_scale, images.temperature, images.top_k,
                images.top_p) == (50000, 2.0, 1.0, 0, 1.0)
        long_ntp = table == "table15" and c.row.startswith("ntp")
        assert cfg.budget.amount == (500000 if long_ntp else 360000)
        assert cfg.eval.at_steps == ((100000, 200000, 360000) + ((500000,) if long_ntp else ()))
        assert cfg.eval.selection == "at_step"
        step = {"100k": 100000, "200k": 200000, "360k": 360000}.get(c.column)
        if table == "table15":
            step = 500000 if c.row == "ntp_500k" else 360000
        assert cfg.eval.report_step == step
        if cfg.method.id != "ntp":
            assert cfg.method.a == 0.5
        if cfg.method.id == "mutor":
            assert cfg.method.d_max == 4
        if cfg.method.id == "mutor_2d":
            assert cfg.method.grid_width == 16
            sparse = c.row in ("reg80", "d3", "d4", "d5", "mutor2d_80")
            assert cfg.method.register_count == (80 if sparse else None)
            assert cfg.method.d_max_2d == ({"d3": 3, "d5": 5}.get(c.row, 4))


def test_the_dry_run_lists_every_cell(capsys):
    assert main(["run", "table7", "--scale", "paper", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--- mutor2d/200k/seed42 [run]" in out and "report_step: 200000" in out
    assert "9 cells (9 to run); dry run: nothing was run" in out


@pytest.mark.parametrize("scale", ["tiny", "paper"])
def test_one_run_per_arm_and_the_tables_share_their_common_runs(scale):
    t7, t8, t9, t15 = (cells_of(t, scale) for t in IMAGE_TABLES)

    def key(cells, cell):
        return training_key(cells[cell].tree)

    seed = "seed0" if scale == "tiny" else "seed42"
    for cells, rows in ((t7, ("ntp", "mutor1d", "mutor2d")), (t8, ("reg80", "reg256")),
                        (t9, ("d3", "d4", "d5"))):
        for row in rows:  # the three columns of a row are one training run
            assert len({key(cells, f"{row}/{col}/{seed}") for col in ("100k", "200k", "360k")}) == 1
    assert len({key(t7, f"{r}/100k/{seed}") for r in ("ntp", "mutor1d", "mutor2d")}) == 3
    assert key(t8, f"reg256/360k/{seed}") == key(t7, f"mutor2d/360k/{seed}")
    assert key(t9, f"d4/100k/{seed}") == key(t8, f"reg80/100k/{seed}")
    assert key(t15, f"ntp_360k/imagenet/{seed}") == key(t15, f"ntp_500k/imagenet/{seed}")
    assert key(t15, f"ntp_500k/imagenet/{seed}") != key(t7, f"ntp/360k/{seed}")  # 500K steps
    # the same cell exactly (its step too): the claims find it wherever it was trained
    assert training_hash(t15[f"mutor2d_80/imagenet/{seed}"].tree) == \
        training_hash(t8[f"reg80/360k/{seed}"].tree)


def test_tiny_steps_keep_the_papers_ratios():
    steps = {c.column: c.config.eval.report_step for c in cells_of("table7", "tiny").values()}
    assert steps == {"100k": 150, "200k": 300, "360k": 540}
    assert 150 / 100 == 300 / 200 == 540 / 360
    t15 = cells_of("table15", "tiny")
    assert t15["ntp_500k/imagenet/seed0"].config.budget.amount == 750  # 500 : 360 of 540
    for c in cells_of("table8", "tiny").values():
        if c.row == "reg80":
            assert c.config.method.register_count == 20  # 80 / 256 of 64 codes


def test_every_paper_number_a_spec_names_exists_in_its_paper_table():
    """A spec's paper_row (per column) and paper columns must name cells of its paper table:
    a typo would show '–' where the paper has a number."""
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        spec = load_spec(path.stem)
        paper = load_paper_table(spec.paper)
        rows, cols = {r.id for r in paper.rows}, {c.id for c in paper.columns}
        for row in spec.rows:
            for col in spec.columns:
                if row.paper_row is None or (col.id in row.per_column
                                             and row.per_column[col.id] is None):
                    continue
                assert row.paper_row_at(col.id) in rows, (spec.table, row.id, col.id)
                named = set(col.paper.values()) - {"none"}
                if spec.table not in ("table8", "table9", "table15"):
                    assert named <= cols, (spec.table, col.id, named - cols)
                else:  # Table 7's four metrics; these paper tables print FID and IS only
                    assert {"fid", "inception_score"} <= named and named - cols <= {
                        "precision", "recall"}
