"""When a run evaluates: the schedule as data, read from the evaluator and the eval section.

A cheap evaluator (greedy generations of a split) runs at every epoch end, every
``eval.every_steps`` and at ``eval.at_steps``; an expensive one (FID over sampled images) only at
``eval.at_steps``. Both run at the last step, so every run has a final evaluation.
"""

from __future__ import annotations


def evaluation_due(step: int, *, steps_per_epoch: int, total_steps: int, eval_cfg,
                   expensive: bool) -> bool:
    if step == total_steps or step in (eval_cfg.at_steps or ()):
        return True
    if expensive:
        return False
    return step % steps_per_epoch == 0 or bool(eval_cfg.every_steps
                                                and step % eval_cfg.every_steps == 0)


def check_schedule(eval_cfg, total_steps: int) -> None:
    """A listed step the run never reaches would silently not be evaluated, and a reported step
    that is not evaluated has no value: refuse both before training."""
    late = sorted(s for s in (eval_cfg.at_steps or ()) if s > total_steps)
    if late:
        raise ValueError(f"eval.at_steps {late} are past the run's last step {total_steps}")
    step = eval_cfg.report_step
    if step is not None and step != total_steps and step not in (eval_cfg.at_steps or ()):
        raise ValueError(f"eval.report_step {step} is not an evaluation point of this run: list "
                         f"it in eval.at_steps (or make it the last step, {total_steps})")
