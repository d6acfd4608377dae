"""The prepared GPU benchmark: next-token vs MuToR (d_max 4) on the Gemma-2B architecture, bf16,
random weights, no hub, {sdpa dense mask, flex BlockMask} x {padded, packed} micro-batches; one
JSON on stdout (and ``--out``).

    python benchmarks/gpu_throughput.py              # one GPU, <= 8 minutes on an H200
    python benchmarks/gpu_throughput.py --tiny       # any machine: a tiny config, to know it runs

Per arm, attention and layout: step time, regular and register tokens/s, padding share, peak
memory, MFU (analytic FLOPs x 3 over the computed shapes / time / the device's bf16 dense peak).
Also the paper's official step re-expressed: batch 1 with eager attention over the same examples,
and flex vs sdpa logits on one micro-batch (max and mean |difference|, argmax agreement). Example
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
    """Logits of the same weights under sdpa (dense mask) and flex (BlockMask), one micro-batch."""
    logits = {}
    for attn in ("sdpa", "flex_attention"):
        model, method = build(copy.deepcopy(config), method_id, tokenizer, device, dtype, attn)
        batch = method.build_batch(examples, pad_id=0, dtype=dtype).to(device)
        logits[attn] = model.eval()(**batch.kwargs_for(model)).logits.float()
        del model
    real = torch.arange(batch.input_ids.shape[1], device=device)[None] < batch.lengths[:, None]
    a, b = logits["sdpa"][real], logits["flex_attention"][real]
    diff = (a - b).abs()
    return {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
            "mean_abs_logit": float(a.abs().mean()),
            "argmax_agreement": float((a.argmax(-1) == b.argmax(-1)).float().mean())}


def main(argv=None) -> dict:
    from mutorbench.models.tiny import tiny_config
    from mutorbench.models.tokenizer import train_bpe_tokenizer
    from mutorbench.params import load_architecture
    from mutorbench.throughput import global_batches, measure, random_examples

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
    attentions = ("sdpa", "flex_attention") if device.type == "cuda" else ("sdpa",)
    plan = [(m, attn, layout, args.micro_batch) for m in ("ntp", "mutor") for attn in attentions
            for layout in ("padded", "packed")]
    plan += [(m, "eager", "official batch 1", 1) for m in ("ntp", "mutor")]
    for method_id, attn, layout, micro in plan:
        t0 = time.perf_counter()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        model, method = build(copy.deepcopy(config), method_id, tokenizer, device, dtype, attn)
        r = measure(model, method, batches, pad_id=0, packed=layout == "packed",
                    micro_batch=micro, config=model.config)
        r["peak_memory_GB"] = (torch.cuda.max_memory_allocated(device) / 2**30
                               if device.type == "cuda" else None)
        r["mfu"] = r["flops_per_s"] / peak if peak else None
        r["wall_s"] = time.perf_counter() - t0
        out["runs"][f"{method_id}/{attn}/{layout}"] = r
        print(f"{method_id:6} {attn:14} {layout:18} step {r['step_s_median'] * 1e3:8.1f} ms  "
              f"{r['regular_tokens_per_s']:9.0f} regular tok/s  padding {r['padding']:.2f}",
              file=sys.stderr, flush=True)
        del model, method
    runs = out["runs"]
    out["ratios"] = {
        f"mutor/ntp step ({attn}, {layout})": runs[f"mutor/{attn}/{layout}"]["step_s_median"]
        / runs[f"ntp/{attn}/{layout}"]["step_s_median"]
        for attn in attentions for layout in ("padded", "packed")}
    # the FLOP ratio of the shapes computed, to set the step ratios against
    out["ratios"].update({
        f"mutor/ntp flops ({layout})": runs[f"mutor/sdpa/{layout}"]["flops_per_step"]
        / runs[f"ntp/sdpa/{layout}"]["flops_per_step"] for layout in ("padded", "packed")})
    best = max((f"mutor/{a}/{layout}" for a in attentions for layout in ("padded", "packed")),
               key=lambda k: runs[k]["regular_tokens_per_s"])
    out["mutor_best_path"] = best
    out["ratios"]["mutor best path tokens/s vs official batch-1 eager"] = (
        runs[best]["regular_tokens_per_s"]
        / runs["mutor/eager/official batch 1"]["regular_tokens_per_s"])
    # a forward, so it runs on a CPU too (the --tiny check)
    out["flex_vs_sdpa_logits"] = {
        m: flex_vs_sdpa(config, m, tokenizer, device, dtype, batches[0][:args.micro_batch])
        for m in ("ntp", "mutor")}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return out


if __name__ == "__main__":
    main()
