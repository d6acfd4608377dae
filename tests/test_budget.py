"""Budget math against the paper's official step counts (paper.md §5.1) and the tokens budget."""

import pytest

from mutorbench.results import load_result
from mutorbench.train.budget import plan_budget, steps_per_epoch, warmup_steps
from mutorbench.train.loop import train
from tests.runs import log_of, tiny_run


def test_gsm8k_official_figures():
    # GSM8K train N = 7,473, batch 1 x accumulation 10 on one GPU, 5 epochs -> 3,735 steps, 374 warmup
    plan = plan_budget("epochs", 5, n_examples=7473, micro_batch=1, accumulation=10, world_size=1,
                       warmup_fraction=0.1)
    assert (plan.steps_per_epoch, plan.total_steps, plan.warmup_steps) == (747, 3735, 374)


@pytest.mark.parametrize("total,warmup", [(75485, 7549), (83525, 8353), (3735, 374)])
def test_official_warmups(total, warmup):  # 1M-GSM, 1M-MATH, GSM8K
    assert warmup_steps(total, 0.1) == warmup


def test_world_size_and_accumulation_share_the_global_batch():
    assert steps_per_epoch(7473, 1, 10, 1) == steps_per_epoch(7473, 1, 2, 5) == 747  # Llama: 5 GPUs
    assert steps_per_epoch(100, 4, 2, 2) == 6
    with pytest.raises(ValueError, match="do not fill one global batch"):
        steps_per_epoch(10, 4, 2, 2)


def test_steps_and_tokens_budgets():
    assert plan_budget("steps", 50, n_examples=100, micro_batch=4, accumulation=1, world_size=1,
                       warmup_fraction=0.1).total_steps == 50
    plan = plan_budget("tokens", 1000, n_examples=100, micro_batch=4, accumulation=1, world_size=1,
                       warmup_fraction=0.0, regular_tokens_of_step=lambda s: 300)
    assert plan.total_steps == 4  # 3 steps = 900 < 1000 tokens, the 4th crosses the budget
    with pytest.raises(ValueError, match="whole number"):
        plan_budget("steps", 2.5, n_examples=100, micro_batch=4, accumulation=1, world_size=1,
                    warmup_fraction=0.1)


def test_tokens_budget_gives_both_arms_the_same_regular_tokens(tmp_path):
    paths = {m: train(tiny_run(tmp_path, m, "budget.kind=tokens", "budget.amount=1500"),
                      progress=False) for m in ("ntp", "mutor")}
    ntp, mutor = (load_result(paths[m]).budget for m in ("ntp", "mutor"))
    assert ntp.regular_tokens == mutor.regular_tokens
    last_batch = log_of(paths["ntp"])[-1]["regular_tokens"]
    assert 1500 <= ntp.regular_tokens < 1500 + last_batch  # the last global batch crosses it
    assert mutor.register_tokens > 0
