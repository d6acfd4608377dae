"""Estimated A100 GPU-hours of every paper-scale table, for the runbook (docs/runbook.md).

    python benchmarks/paper_compute.py                       # markdown table on stdout
    python benchmarks/paper_compute.py --realdata ../shared/realdata   # lengths re-measured

No GPU step time has been measured yet (no GPU was lent to this project's sessions), so every
number is an ANALYTIC estimate, and each input says where it came from:

- training FLOPs = 3 x forward FLOPs (src/mutorbench/flops.py on the shipped architecture config)
  per example and epoch, at the mean example length; MuToR adds one register per answer token;
  Multi-Token adds d_max - 1 decoder layers and LM heads on every position, DS-Multi-Token d_max - 1
  modules (a layer, a 2h->h projection, the shared head);
- time = FLOPs / (A100 bf16 dense peak 312 TFLOP/s x MFU 0.30: an assumption for batch-1 HF
  training with gradient accumulation; `benchmarks/gpu_throughput.py` measures the real MFU);
- evaluation: one greedy generation pass over the test (or validation) split per epoch
  checkpoint, ceil(n / eval batch) x the mean answer length in decoding steps at an assumed
  30 ms per step (HF `generate`, small batch);
- example counts from paper.md (§5.1's update steps x batch 10 / 5 epochs where given); mean
  lengths in characters from ../shared/realdata where a copy exists (else GSM8K's, marked), at an
  assumed 4.0 characters per token.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

A100_PEAK, MFU, DECODE_STEP_S, CHARS_PER_TOKEN = 312e12, 0.30, 0.030, 4.0
PAPER_HARDWARE = {"gemma-2b": "1x A100", "llama-3-8b": "5x A100 (FSDP)"}

# task -> train examples, test examples, mean prompt / answer characters, where they came from
TASKS = {
    "gsm8k": (7473, 1319, 254, 288, "GSM8K train (realdata), 7,473 = 3735 steps x 10 / 5"),
    "1m-gsm": (150970, 1319, 254, 288, "75,485 steps x 10 / 5 (paper); lengths: GSM8K's"),
    "2m-gsm": (277000, 1319, 254, 288, "~277K (paper); lengths: GSM8K's"),
    "1m-math": (167050, 500, 196, 531,
                "83,525 steps x 10 / 5 (paper); lengths: MATH500 (realdata)"),
    "aqua": (97000, 254, 244, 189, "~97K (paper); lengths: AQuA dev (realdata)"),
    "samsum": (14732, 818, 0, 0, "SAMSum train 14,732; lengths: SAMSum test (realdata)"),
    "dialogsum": (12460, 500, 0, 0, "DialogSum train 12,460; lengths: DialogSum dev (realdata)"),
}
# Table 3's data: 1M-GSM plus the task's extra fraction of it (tasks/openmath.py holds the rule)
def _extra_fraction() -> float:
    from mutorbench.tasks.openmath import OneMGSMExtra

    return OneMGSMExtra.extra_fraction


TASKS["1m-gsm-extra"] = (round((1 + _extra_fraction()) * TASKS["1m-gsm"][0]),
                         *TASKS["1m-gsm"][1:4], "1M-GSM + Table 3's extra; lengths: GSM8K's")
SUMMARY_CHARS = {"samsum": (540, 110), "dialogsum": (720, 140)}  # measured below if realdata


def measure(realdata: Path) -> None:
    """Re-measure the mean characters of prompt and answer from the local real data."""
    def rows(path):
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def mean(values):
        values = list(values)
        return round(sum(values) / len(values))

    for name, path, key in (("samsum", "samsum/test.jsonl", "dialogue"),
                            ("dialogsum", "dialogsum/dialogsum.dev.jsonl", "dialogue")):
        data = rows(realdata / path)
        SUMMARY_CHARS[name] = (mean(len(f"Dialogue:\n{r[key]}\n\nSummary:") for r in data),
                               mean(len(" " + r["summary"]) for r in data))
    gsm = rows(realdata / "gsm8k/train.jsonl")
    p, a = (mean(len(f"Question: {r['question']}\n\nAnswer:") for r in gsm),
            mean(len(" " + r["answer"]) for r in gsm))
    for name in ("gsm8k", "1m-gsm", "1m-gsm-extra", "2m-gsm"):
        TASKS[name] = (*TASKS[name][:2], p, a, TASKS[name][4])


def lengths(task: str) -> tuple[float, float]:
    _, _, p, a, _ = TASKS[task]
    if task in SUMMARY_CHARS:
        p, a = SUMMARY_CHARS[task]
    return p / CHARS_PER_TOKEN, a / CHARS_PER_TOKEN


def train_flops(config, cfg, prompt: float, answer: float) -> float:
    from mutorbench.flops import forward_flops

    method = cfg.method
    length = prompt + answer
    if method.id in ("mutor", "mutor_2d"):
        return 3 * forward_flops(config, round(prompt + 2 * answer))
    base = forward_flops(config, round(length))
    if method.id in ("multi_token", "ds_multi_token"):
        one = copy.deepcopy(config)
        one.num_hidden_layers = 1
        extra = (method.d_max - 1) * forward_flops(one, round(length))  # a layer + the LM head
        if method.id == "ds_multi_token":  # the 2h->h projection
            extra += (method.d_max - 1) * 2 * round(length) * 2 * config.hidden_size ** 2
        return 3 * (base + extra)
    return 3 * base


def estimate(table: str) -> list[dict]:
    from mutorbench.bench.reuse import training_key
    from mutorbench.params import HUB_ARCHITECTURES, load_architecture
    from mutorbench.spec import expand, load_spec
    from mutorbench.train.config import config_tree

    spec = load_spec(table, ROOT / "bench")
    if "paper" not in spec.scales:
        return []
    out = []
    for cell in expand(spec, "paper", paper_root=ROOT / "baselines" / "paper"):
        cfg = cell.config
        if cfg is None or cfg.task.name not in TASKS:
            continue
        arch = HUB_ARCHITECTURES.get(cfg.model.name_or_path, cfg.model.name_or_path)
        config = load_architecture(arch)
        n_train, n_test = TASKS[cfg.task.name][:2]
        prompt, answer = lengths(cfg.task.name)
        epochs = cfg.budget.amount if cfg.budget.kind == "epochs" else None
        if epochs is None:
            continue
        flops = train_flops(config, cfg, prompt, answer) * n_train * epochs
        train_h = flops / (A100_PEAK * MFU) / 3600
        eval_h = epochs * math.ceil(n_test / cfg.eval.batch_size) * answer * DECODE_STEP_S / 3600
        out.append({"key": training_key(config_tree(cfg)), "arch": arch,
                    "train_h": train_h, "eval_h": eval_h})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, help="re-measure lengths from this folder")
    parser.add_argument("--tables", nargs="*", default=["table1", "table2", "table3", "table4",
                        "table5", "table6", "table12", "table13", "table14", "table16", "table17"])
    args = parser.parse_args()
    if args.realdata:
        measure(args.realdata)
    print(f"A100-hours, analytic: MFU {MFU}, {CHARS_PER_TOKEN} chars/token, decoding "
          f"{DECODE_STEP_S * 1000:.0f} ms/step (assumptions; see the script's docstring)\n")
    print("| Table | cells | of which shared with earlier tables | train A100-h | eval A100-h "
          "| paper's hardware |")
    print("|---|---:|---:|---:|---:|---|")
    seen: set[str] = set()  # training keys: a cell shared with an earlier table is reused
    for table in args.tables:
        rows = estimate(table)
        new = [r for r in rows if r["key"] not in seen]
        seen |= {r["key"] for r in rows}
        hw = ", ".join(sorted({PAPER_HARDWARE.get(r["arch"], r["arch"]) for r in rows}))
        print(f"| {table} | {len(rows)} | {len(rows) - len(new)} | "
              f"{sum(r['train_h'] for r in new):,.0f} | {sum(r['eval_h'] for r in new):,.0f} "
              f"| {hw} |")
    print("\nper-cell inputs:")
    for name, (n, m, p, a, src) in TASKS.items():
        p, a = SUMMARY_CHARS.get(name, (p, a))
        print(f"- {name}: {n:,} train, {m:,} scored, prompt ~{p / CHARS_PER_TOKEN:.0f} / answer "
              f"~{a / CHARS_PER_TOKEN:.0f} tokens ({src})")


if __name__ == "__main__":
    main()
