"""`mutor-bench plot RUN...`: the loss parts of one or several runs against the optimizer step.

Reads each run folder's ``log.jsonl`` only (a run still training plots too). One panel per loss
part (``loss`` and every ``loss_<part>`` any run logged), one line per run, labelled by its folder
name: the paired arms of a cell side by side. Written beside the runs unless ``out`` is given.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from mutorbench.fsio import atomic_write_bytes, read_text


def read_log(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "log.jsonl"
    if not path.is_file():
        raise ValueError(f"{run_dir}: not a run folder (no log.jsonl)")
    rows = []
    for n, line in enumerate(read_text(path, "run log").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise ValueError(f"{path}:{n}: not valid JSON") from None
    if not rows:
        raise ValueError(f"{path}: no step logged yet")
    return rows


def default_out(runs: list[Path]) -> Path:
    if len(runs) == 1:
        return runs[0] / "loss.png"
    return runs[0].parent / ("loss--" + "--".join(r.name for r in runs) + ".png")


def plot_losses(runs: list[str | Path], out: str | Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [Path(r) for r in runs]
    logs = {r: read_log(r) for r in runs}  # every input checked before anything is drawn
    parts = ["loss"] + sorted({k for rows in logs.values() for k in rows[0]
                               if k.startswith("loss_")})
    fig, axes = plt.subplots(1, len(parts), figsize=(4.2 * len(parts), 3.4), squeeze=False)
    for ax, part in zip(axes[0], parts):
        for run, rows in logs.items():
            points = [(r["step"], r[part]) for r in rows if part in r]
            if points:
                ax.plot(*zip(*points), label=run.name, linewidth=1.2)
        ax.set_title(part)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("cross-entropy (nats)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    path = Path(out) if out is not None else default_out(runs)
    atomic_write_bytes(path, buffer.getvalue())
    return path
