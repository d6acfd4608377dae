"""The prepared GPU benchmark of the image evaluation: sample N images from a randomly initialised
LlamaGen-B with classifier-free guidance (KV cache, bf16), decode them with VQ-16 (random
weights), score them with torch-fidelity's Inception (random weights); images/s of each stage and
what a 50,000-sample evaluation of one checkpoint then costs. One JSON on stdout (and ``--out``).

    python benchmarks/gpu_image_sampling.py            # one GPU: 1,000 images, a few minutes
    python benchmarks/gpu_image_sampling.py --tiny     # any machine: small sizes (a check)

Random weights everywhere (no hub, no GitHub): the metrics are meaningless, the times are not.
The reference set is as large as the sample set and scored the same way; ADM's 10,000 reference
images cost their own share once per evaluation (``reference_images_per_s``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _timed(device, fn):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start


def main(argv=None) -> dict:
    from mutorbench.evaluation.adm_reference import write_random_inception_weights
    from mutorbench.evaluation.image_fidelity import image_metrics
    from mutorbench.evaluation.image_sampling import random_labels, sample_codes
    from mutorbench.models.llamagen import LlamaGen, LlamaGenConfig
    from mutorbench.models.vq16 import TINY_VQ, VQ16, VQModel, to_uint8

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="small sizes on the CPU (a check)")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=250, help="samples per sampling batch")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    n = min(args.samples, 12) if args.tiny else args.samples
    sizes = dict(dim=64, n_layer=2, n_head=4) if args.tiny else dict(dim=768, n_layer=12, n_head=12)
    vq_cfg = TINY_VQ if args.tiny else VQ16
    grid = 8 if args.tiny else 16
    torch.manual_seed(0)
    model = LlamaGen(LlamaGenConfig(**sizes, vocab_size=vq_cfg.codebook_size, num_classes=1000,
                                    grid=grid)).to(device=device, dtype=dtype).eval()
    with torch.no_grad():  # LlamaGen initialises its head to zero: random logits instead
        model.output.weight.normal_(0, 0.02)
    vq = VQModel(vq_cfg).to(device).eval()
    labels = random_labels(n, 1000, seed=0)
    codes, t_sample = _timed(device, lambda: sample_codes(
        model, labels, cfg_scale=2.0, seed=0, batch_size=min(args.batch, n)))

    def decode():
        parts = [to_uint8(vq.decode_codes(codes[s:s + 64].reshape(-1, grid, grid))).cpu()
                 for s in range(0, n, 64)]
        return torch.cat(parts).numpy()

    images, t_decode = _timed(device, decode)
    reference = np.random.default_rng(0).integers(0, 256, images.shape, dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        weights = write_random_inception_weights(Path(tmp) / "inception-random.pth")
        (metrics, settings), t_score = _timed(device, lambda: image_metrics(
            images, reference, extractor="inception-v3-compat", weights_path=weights))
    # scoring extracts features of both sets: the sample set's share is half
    per_image_s = (t_sample + t_decode) / n + t_score / (2 * n)
    out = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "dtype": str(dtype), "torch": torch.__version__,
           "model": "tiny llamagen + tiny VQ" if args.tiny else "llamagen-b (111M) + VQ-16",
           "samples": n, "image_size": int(images.shape[-1]), "cfg_scale": 2.0,
           "sampling_batch": min(args.batch, n),
           "sampling_images_per_s": n / t_sample, "decoding_images_per_s": n / t_decode,
           "scoring_images_per_s": 2 * n / t_score, "reference_images_per_s": 2 * n / t_score,
           "seconds": {"sampling": t_sample, "decoding": t_decode, "scoring": t_score},
           "peak_memory_GB": (torch.cuda.max_memory_allocated(device) / 2**30
                              if device.type == "cuda" else None),
           "one_evaluation_of_50000_h": 50000 * per_image_s / 3600,
           "metrics_of_random_weights": metrics, "scoring_settings": settings}
    text = json.dumps(out, indent=2)
    print(text)
    print(f"sampling {out['sampling_images_per_s']:.1f} img/s, decoding "
          f"{out['decoding_images_per_s']:.1f} img/s, scoring {out['scoring_images_per_s']:.1f} "
          f"img/s: 50,000 samples ~ {out['one_evaluation_of_50000_h']:.2f} h", file=sys.stderr)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return out


if __name__ == "__main__":
    main()
