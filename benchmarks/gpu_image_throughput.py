"""The prepared GPU benchmark of the image arms: LlamaGen-B (random weights), bf16, class token +
16 x 16 codes, batch 256: next-token, MuToR-1D (d_max 4), MuToR-2D with 256 registers and with 80
random registers; one JSON on stdout (and ``--out``).

    python benchmarks/gpu_image_throughput.py           # one GPU, a few minutes on an H200
    python benchmarks/gpu_image_throughput.py --tiny    # any machine: a small LlamaGen

Per arm: step time, regular and register tokens/s, peak memory, MFU (analytic FLOPs x 3 of the
computed shapes / time / the device's bf16 dense peak), and the step-time ratio to next-token
beside the FLOP ratio of the shapes (MuToR-2D with 256 registers doubles the sequence: 513 vs 257
tokens; 80 registers: 337, +31%).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

ARMS = {"ntp": ("ntp", {}), "mutor1d": ("mutor", {"d_max": 4, "a": 0.5}),
        "mutor2d_256": ("mutor_2d", {"d_max_2d": 4, "a": 0.5, "grid_width": 16}),
        "mutor2d_80": ("mutor_2d", {"d_max_2d": 4, "a": 0.5, "grid_width": 16,
                                    "register_count": 80})}


def main(argv=None) -> dict:
    from gpu_throughput import peak_flops  # beside this script (its folder is on sys.path)

    from mutorbench.examples import Example
    from mutorbench.flops import batch_flops
    from mutorbench.integrations.hf import make_method
    from mutorbench.models.code_vocabulary import CodeVocabulary
    from mutorbench.models.llamagen import LlamaGen, LlamaGenConfig
    from mutorbench.throughput import measure

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="a small LlamaGen on CPU (a check)")
    ap.add_argument("--steps", type=int, default=6, help="timed steps per arm")
    ap.add_argument("--batch", type=int, default=256, help="images per optimizer step")
    ap.add_argument("--micro-batch", type=int, default=64)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    sizes = (dict(dim=64, n_layer=2, n_head=4) if args.tiny
             else dict(dim=768, n_layer=12, n_head=12))
    config = LlamaGenConfig(**sizes, vocab_size=16384, num_classes=1000, grid=16)
    gen = torch.Generator().manual_seed(0)
    n = args.batch * (args.steps + 2)
    codes = torch.randint(0, 16384, (n, 256), generator=gen)
    labels = torch.randint(0, 1000, (n,), generator=gen)
    examples = [Example((16384 + int(c),), tuple(z.tolist()), k)
                for k, (c, z) in enumerate(zip(labels, codes))]
    batches = [examples[s * args.batch:(s + 1) * args.batch] for s in range(args.steps + 2)]
    out = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "dtype": str(dtype), "model": "tiny llamagen" if args.tiny else "llamagen-b (111M)",
           "batch": args.batch, "micro_batch": args.micro_batch, "torch": torch.__version__,
           "runs": {}}
    peak = peak_flops(device)
    for name, (method_id, options) in ARMS.items():
        t0 = time.perf_counter()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        torch.manual_seed(0)
        with torch.device(device):
            model = LlamaGen(config)
        model = model.to(dtype).train()
        method = make_method(method_id, **options)
        method.prepare(model, CodeVocabulary(16384, 1000))
        r = measure(model, method, batches, pad_id=0, layout="padded", micro_batch=args.micro_batch,
                    config=config)
        r["length"] = int(method.build_batch(batches[0][:1], pad_id=0).input_ids.shape[1])
        r["peak_memory_GB"] = (torch.cuda.max_memory_allocated(device) / 2**30
                               if device.type == "cuda" else None)
        r["mfu"] = r["flops_per_s"] / peak if peak else None
        r["wall_s"] = time.perf_counter() - t0
        out["runs"][name] = r
        print(f"{name:12} length {r['length']:4}  step {r['step_s_median'] * 1e3:8.1f} ms  "
              f"{r['regular_tokens_per_s']:9.0f} regular tok/s", file=sys.stderr, flush=True)
        del model, method
    runs = out["runs"]
    out["ratios"] = {name: {
        "step_time": runs[name]["step_s_median"] / runs["ntp"]["step_s_median"],
        "flops": batch_flops(config, 1, runs[name]["length"])
        / batch_flops(config, 1, runs["ntp"]["length"])} for name in runs}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return out


if __name__ == "__main__":
    main()
