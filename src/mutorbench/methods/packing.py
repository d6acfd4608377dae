"""Packed batches: several examples in one row, so that a micro-batch computes on fewer pad slots.

``pack`` takes any method's built batch (one example per row, right-padded) and places its
examples, in batch order, first-fit into rows of at most ``width`` slots (default: the widest
example, so a packed row is never longer than the padded batch's rows and attention costs no
more per row). Each example keeps its own slots, labels, register flags and position ids (which
therefore restart per example); the mask is the example's own mask within its segment and blocks
every other segment; ``segment_ids`` tell the losses which example a slot belongs to, so
``per_example`` stays per example. The data order and every offset are drawn before packing
(``build_batch``), so pairing across methods holds. Training only: evaluation decodes unpacked.
"""

from __future__ import annotations

import torch

from mutorbench import masks
from mutorbench.methods.layout import IGNORE_INDEX, ModelInputs


def first_fit(lengths: list[int], width: int) -> list[list[int]]:
    """Example indices per row: each example, in order, into the first row it fits."""
    rows: list[list[int]] = []
    used: list[int] = []
    for e, n in enumerate(lengths):
        if n > width:
            raise ValueError(f"an example of {n} slots does not fit batch.pack_width={width}")
        r = next((r for r, u in enumerate(used) if u + n <= width), None)
        if r is None:
            rows.append([]), used.append(0)
            r = len(rows) - 1
        rows[r].append(e)
        used[r] += n
    return rows


def pack(batch: ModelInputs, *, pad_id: int, width: int | None = None) -> ModelInputs:
    if batch.segment_ids is not None:
        raise ValueError("this batch is packed already")
    lengths = batch.lengths.tolist()
    rows = first_fit(lengths, width or max(lengths))
    wide = max(sum(lengths[e] for e in row) for row in rows)
    example = torch.full((len(rows), wide), -1, dtype=torch.long)
    offset = torch.zeros((len(rows), wide), dtype=torch.long)
    for r, row in enumerate(rows):
        start = 0
        for e in row:
            n = lengths[e]
            example[r, start:start + n] = e
            offset[r, start:start + n] = torch.arange(n)
            start += n
    device = batch.input_ids.device
    example, offset = example.to(device), offset.to(device)
    real, e = example >= 0, example.clamp(min=0)

    def gather(x: torch.Tensor, fill) -> torch.Tensor:
        return torch.where(real, x[e, offset], torch.as_tensor(fill, dtype=x.dtype, device=device))

    # each slot keeps its own rule (key_index, horizon) and the segment keeps examples apart: the
    # mask inside a segment is the example's own mask; pads see only themselves
    return ModelInputs(
        input_ids=gather(batch.input_ids, pad_id),
        position_ids=gather(batch.position_ids, 0),
        labels=gather(batch.labels, IGNORE_INDEX),
        is_register=gather(batch.is_register, False),
        lengths=real.sum(dim=1),
        key_index=gather(batch.key_index, masks.NEVER_VISIBLE),
        horizon=gather(batch.horizon, -1),
        segment_ids=example,
        mask_dtype=batch.mask_dtype,
    )


def padding_fraction(batch: ModelInputs) -> float:
    """The share of a batch's slots that hold no token."""
    return 1.0 - float(batch.lengths.sum()) / batch.input_ids.numel()
