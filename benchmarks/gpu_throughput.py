"""The prepared GPU benchmark: next-token vs MuToR (d_max 4) on the Gemma-2B architecture, bf16,
random weights, no hub, {sdpa dense mask, flex BlockMask} x {padded, packed} micro-batches, and
flex with each micro-batch packed into one row; one JSON on stdout (and ``--out``).

    python benchmarks/gpu_throughput.py              # one GPU: ~2.5 minutes on an H200
    python benchmarks/gpu_throughput.py --tiny       # any machine: a tiny config, to know it runs

Per arm, attention and layout: step time, regular and register tokens/s, padding share, peak
memory, MFU (analytic FLOPs x 3 over the computed shapes / time / the device's bf16 dense peak).
Also the paper's official step re-expressed: batch 1 with eager attention over the same examples,
and flex vs sdpa logits on one micro-batch (max and mean |difference|, argmax agreement, and each
one's error to an fp32 reference of the same weights: the bf16 tolerance). Example
lengths are synthetic and GSM8K-like (prompt ~ 70, answer ~ 130 tokens, long right tails) unless
``--lengths`` gives a JSON list of [prompt, answer] token counts. On a CPU (``--tiny``) the flex
training runs are left out (FlexAttention has no backward there); the logits comparison runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time

import torch

PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12}  # dense, no sparsity


def gsm8k_like_lengths(n: int, seed: int = 0, scale: float = 1.0) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(max(8, int(scale * rng.lognormvariate(4.2, 0.35))),
             max(8, int(scale * rng.lognormvariate(4.8, 0.45)))) for _ in range(n)]


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)


def build(config, method_id: str, tokenizer, device, dtype, attn: str):
    from transformers import AutoModelForCausalLM

    from mutorbench.integrations.hf import make_method

    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attn, dtype=dtype)
    method = make_method(method_id, **({"d_max": 4, "a": 0.3} if method_id == "mutor" else {}))
    # a small local tokenizer: the registers take rows inside the (random) embedding table
    method.prepare(model, copy.deepcopy(tokenizer))
    return model.train(), method


@torch.no_grad()
def flex_vs_sdpa(config, method_id: str, tokenizer, device, dtype, examples) -> dict:
    """Logits of the same weights under sdpa (dense mask) and flex (BlockMask), one micro-batch.

    Both are also set against an fp32 sdpa reference of the same weights: flex is within
    ``dtype``'s tolerance when its mean error to the reference is at most 1.1x sdpa's own (the
    two kernels round differently, so their difference alone has no scale to be judged by)."""
    logits = {}
    for name, attn, dt in (("fp32", "sdpa", torch.float32), ("sdpa", "sdpa", dtype),
                           ("flex", "flex_attention", dtype)):
        # built in fp32 from one seed, then cast: the three share their weights exactly
        model, method = build(copy.deepcopy(config), method_id, tokenizer, device, torch.float32,
                              attn)
        batch = method.build_batch(examples, pad_id=0, dtype=dt).to(device)
        logits[name] = model.to(dt).eval()(**batch.kwargs_for(model)).logits.float()
        del model
    real = torch.arange(batch.input_ids.shape[1], device=device)[None] < batch.lengths[:, None]
    ref, a, b = (logits[k][real] for k in ("fp32", "sdpa", "flex"))
    diff, err_sdpa, err_flex = (a - b).abs(), (a - ref).abs(), (b - ref).abs()
    return {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
            "mean_abs_logit": float(a.abs().mean()),
            "argmax_agreement": float((a.argmax(-1) == b.argmax(-1)).float().mean()),
            "sdpa_vs_fp32": {"max": float(err_sdpa.max()), "mean": float(err_sdpa.mean())},
            "flex_vs_fp32": {"max": float(err_flex.max()), "mean": float(err_flex.mean())},
            "within_tolerance": bool(err_flex.mean() <= 1.1 * err_sdpa.mean() + 1e-6)}


def run_arm(config, method_id, tokenizer, device, dtype, attn, batches, layout, micro, peak,
            name):
    """One measurement: a fresh model of the method, timed steps over ``batches``."""
    from mutorbench.throughput import measure

    t0 = time.perf_counter()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    model, method = build(copy.deepcopy(config), method_id, tokenizer, device, dtype, attn)
    r = measure(model, method, batches, pad_id=0, layout=layout,
                micro_batch=micro, config=model.config)
    r["peak_memory_GB"] = (torch.cuda.max_memory_allocated(device) / 2**30
                           if device.type == "cuda" else None)
    r["mfu"] = r["flops_per_s"] / peak if peak else None
    r["wall_s"] = time.perf_counter() - t0
    print(f"{name:36} step {r['step_s_median'] * 1e3:8.1f} ms  "
          f"{r['regular_tokens_per_s']:9.0f} regular tok/s  padding {r['padding']:.2f}  "
          f"({r['wall_s']:.0f} s)", file=sys.stderr, flush=True)
    return r


def main(argv=None) -> dict:
    from mutorbench.models.tiny import tiny_config
    from mutorbench.models.tokenizer import train_bpe_tokenizer
    from mutorbench.params import load_architecture
    from mutorbench.throughput import global_batches, random_examples

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="a tiny config (CPU check)")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per measurement")
    ap.add_argument("--batch", type=int, default=16, help="examples per optimizer step")
    ap.add_argument("--micro-batch", type=int, default=8)
    ap.add_argument("--lengths", help="JSON file: [[prompt, answer], ...] token counts")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    config = (tiny_config("gemma", 512, hidden_size=64, num_layers=2, num_heads=4)
              if args.tiny else load_architecture("gemma-2b"))
    lengths = (json.load(open(args.lengths)) if args.lengths
               else gsm8k_like_lengths(4096, scale=0.25 if args.tiny else 1.0))
    tokenizer = train_bpe_tokenizer([f"{i} apples and {i + 1} pens" for i in range(200)], 300)
    examples = random_examples(lengths, config.vocab_size, eos_id=tokenizer.eos_token_id)
    batches = global_batches(examples, args.batch, args.steps + 2)
    import transformers

    out = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "dtype": str(dtype), "model": "tiny gemma" if args.tiny else "gemma-2b (shipped config)",
           "batch": args.batch, "micro_batch": args.micro_batch, "torch": torch.__version__,
           "transformers": transformers.__version__, "runs": {}}
    peak = peak_flops(device)
    # flex also packs a micro-batch into one row: its BlockMask skips the blocks between examples
    # (flex training needs a GPU: FlexAttention has no backward on a CPU)
    layouts = {"sdpa": ("padded", "packed")}
    if device.type == "cuda":
        layouts["flex_attention"] = ("padded", "packed", "one row")
    paths = [(attn, layout) for attn, names in layouts.items() for layout in names]

    def run(attentions: tuple[str, ...], official: bool = False) -> None:
        plan = [(f"{m}/{attn}/{layout}", m, attn, layout, args.micro_batch)
                for attn, layout in paths if attn in attentions for m in ("ntp", "mutor")]
        # the paper's step: one example per micro-batch (so nothing to pad), eager attention
        if official:
            plan += [(f"{m}/eager/official batch 1", m, "eager", "padded", 1)
                     for m in ("ntp", "mutor")]
        for key, method_id, attn, layout, micro in plan:
            out["runs"][key] = run_arm(config, method_id, tokenizer, device, dtype, attn, batches,
                                       layout, micro, peak, key)
            _write(out, args.out)  # a run cut short by the device's time limit keeps its numbers

    # sdpa and the official step first, flex (which compiles) last: a cut-short run still holds
    # the step ratios
    run(("sdpa",), official=True)
    # a forward, so it runs on a CPU too (the --tiny check)
    out["flex_vs_sdpa_logits"] = {
        m: flex_vs_sdpa(config, m, tokenizer, device, dtype, batches[0][:args.micro_batch])
        for m in ("ntp", "mutor")}
    _write(out, args.out)
    run(("flex_attention",))
    runs = out["runs"]
    out["ratios"] = {
        f"mutor/ntp step ({attn}, {layout})": runs[f"mutor/{attn}/{layout}"]["step_s_median"]
        / runs[f"ntp/{attn}/{layout}"]["step_s_median"] for attn, layout in paths}
    # the FLOP ratio of the shapes computed, to set the step ratios against
    out["ratios"].update({
        f"mutor/ntp flops ({layout})": runs[f"mutor/sdpa/{layout}"]["flops_per_step"]
        / runs[f"ntp/sdpa/{layout}"]["flops_per_step"] for layout in ("padded", "packed")})
    if "flex_attention" in layouts:
        out["ratios"]["mutor/ntp flops (one row)"] = (
            runs["mutor/flex_attention/one row"]["flops_per_step"]
            / runs["ntp/flex_attention/one row"]["flops_per_step"])
    best = max((f"mutor/{a}/{layout}" for a, layout in paths),
               key=lambda k: runs[k]["regular_tokens_per_s"])
    out["mutor_best_path"] = best
    out["ratios"]["mutor best path tokens/s vs official batch-1 eager"] = (
        runs[best]["regular_tokens_per_s"]
        / runs["mutor/eager/official batch 1"]["regular_tokens_per_s"])
    print(json.dumps(out, indent=2))
    _write(out, args.out)
    return out


def _write(out: dict, path: str | None) -> None:
    if path:
        with open(path, "w") as f:
            f.write(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
