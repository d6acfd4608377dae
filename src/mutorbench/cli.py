"""The `mutor-bench` command line."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields


def _demo(args) -> int:
    from mutorbench.demo import DemoConfig, run_demo

    overrides = {f.name: getattr(args, f.name) for f in fields(DemoConfig)
                 if getattr(args, f.name, None) is not None}
    run_demo(DemoConfig(**overrides))
    return 0


def _train(args) -> int:
    from mutorbench.train.config import load_config

    cfg = load_config(args.config, args.set or [])  # every config error surfaces before any work
    from mutorbench.train.loop import train

    train(cfg, progress=not args.no_progress)
    return 0


def _eval(args) -> int:
    import mutorbench.tasks  # noqa: F401 (registers the built-in tasks)
    from mutorbench.registry import TASKS
    from mutorbench.train.config import load_config

    if TASKS.get(args.task).generates_images:  # a LlamaGen checkpoint file, sampled and scored
        model = ["model.source=llamagen", f"model.checkpoint={args.model}"]
    else:
        model = ["model.source=pretrained", f"model.name_or_path={args.model}"]
    sets = [*model, f"task.name={args.task}", *(args.set or [])]
    if args.revision:
        sets.append(f"model.revision={args.revision}")
    if args.limit is not None:
        sets.append(f"eval.limit={args.limit}")
    cfg = load_config(args.config, sets)
    from mutorbench.evaluate import evaluate_model

    evaluate_model(cfg, prefix_attention=args.prefix_attention)
    return 0


def _images_tokenize(args) -> int:
    from mutorbench.image_tokenize import tokenize_folder

    tokenize_folder(args.images, args.out, vq_checkpoint=args.vq, dataset=args.dataset,
                    image_size=args.image_size, batch_size=args.batch_size, limit=args.limit,
                    progress=not args.no_progress)
    return 0


def _run(args) -> int:
    from mutorbench.bench.runner import run_table

    run_table(args.table, scale=args.scale, only=args.only, shard=args.shard, dry_run=args.dry_run,
              overrides=args.set or [], spec_root=args.specs, output_root=args.results,
              progress=not args.no_progress, reports_root=args.reports, jobs=args.jobs,
              reuse=not args.no_reuse, retrain=args.retrain)
    return 0


def _params(args) -> int:
    import json

    from mutorbench.params import count_params
    from mutorbench.train.config import load_config

    cfg = load_config(None, [f"method.id={args.method}", *(args.set or [])])
    print(json.dumps(count_params(args.model, cfg.method, cfg.lora), indent=2))
    return 0


def _report(args) -> int:
    from mutorbench.report.hparams import TABLES, write_hparams_report
    from mutorbench.report.tables import write_report

    if args.table in TABLES:  # the tuned hyper-parameters: data, not runs
        paths = write_hparams_report(args.reports, spec_root=args.specs)
    else:
        paths = write_report(args.table, args.scale, spec_root=args.specs,
                             results_root=args.results, reports_root=args.reports)
    print(paths["md"].read_text())
    print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0


def _claims(args) -> int:
    from mutorbench.report.claims import claims_markdown, summary_line, write_claims_report

    frame, paths = write_claims_report(args.scale, reports_root=args.reports,
                                       claims_path=args.claims, spec_root=args.specs,
                                       results_root=args.results)
    print(claims_markdown(frame, args.scale))
    print(summary_line(frame, args.scale))
    print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0


def _plot(args) -> int:
    from mutorbench.report.loss_curves import plot_losses

    print(f"written: {plot_losses(args.runs, args.out)}")
    return 0


def _check(args) -> int:
    from mutorbench.report import check as gate

    if args.bless:
        path = gate.bless(args.results, args.golden, name=args.bless, tolerance=args.tolerance)
        print(f"blessed: {path}")
        return 0
    ok, rows = gate.check(args.results, args.golden, subset=args.subset)
    print(gate.format_rows(rows))
    drifted = [r for r in rows if r["status"] != "ok"]
    for r in drifted:
        print(f"mutor-bench: drift: {r['cell']} {r['metric']}: {r['status']}", file=sys.stderr)
    for line in gate.environment_notes(args.results, args.golden):
        print(line)
    compared = sum(1 for r in rows if r.get("compared"))
    print(f"\n{compared} values compared: {len(rows) - len(drifted)} ok, {len(drifted)} drifted")
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    import mutorbench.methods  # noqa: F401 (registers the built-in methods)
    from mutorbench.demo import DemoConfig
    from mutorbench.params import shipped_architectures
    from mutorbench.registry import METHODS

    parser = argparse.ArgumentParser(prog="mutor-bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train next-token and MuToR on a tiny model (CPU, minutes)")
    for f in fields(DemoConfig):
        demo.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=type(f.default),
                          default=None, help=f"default: {f.default}")
    demo.set_defaults(func=_demo)

    train = sub.add_parser("train", help="train one arm from a YAML config; writes a result JSON")
    train.add_argument("--config", help="YAML run config (defaults apply to missing keys)")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a config key, e.g. --set method.d_max=6 (YAML scalar)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    ev = sub.add_parser("eval", help="score a model (HF id or local checkpoint) on a task")
    ev.add_argument("--model", required=True, help="Hugging Face id or local directory; on an "
                    "image task a LlamaGen checkpoint file (c2i_B_256.pt or a run's "
                    "checkpoint.pt)")
    ev.add_argument("--revision", help="model revision on the hub")
    ev.add_argument("--task", required=True, help="task name, e.g. gsm8k, math500, jsonl")
    ev.add_argument("--config", help="YAML config for task/eval settings")
    ev.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a config key, e.g. --set task.local_path=DIR")
    ev.add_argument("--limit", type=int, metavar="N",
                    help="score only the first N examples (a quick look; recorded in the result)")
    ev.add_argument("--prefix-attention", default="bidirectional",
                    choices=["bidirectional", "causal"], help="prompt attention in the prefill")
    ev.set_defaults(func=_eval)

    run = sub.add_parser("run", help="run every cell of a paper table (resumable)")
    run.add_argument("table", help="table spec name, e.g. table2 (bench/table2.yaml)")
    run.add_argument("--scale", default="paper", help="scale defined in the spec (default: paper)")
    run.add_argument("--only", help="glob over cell ids row/column/seedN, e.g. 'mutor/*'")
    run.add_argument("--shard", help="i/n: run every n-th cell starting at the i-th")
    run.add_argument("--dry-run", action="store_true", help="list cells and configs, run nothing")
    run.add_argument("--jobs", type=int, help="cells trained at once in separate processes "
                     "(default: the scale's `jobs`, 1 unless the spec says otherwise)")
    run.add_argument("--no-reuse", action="store_true",
                     help="train every cell even when another table already finished one with "
                     "the same training config (by default its result is copied)")
    run.add_argument("--retrain", action="store_true",
                     help="move the selected cells' earlier runs aside (to .retired/ beside "
                     "them; nothing is deleted) and train them again")
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override a key in every cell's config")
    run.add_argument("--specs", default="bench", help="folder of table specs")
    run.add_argument("--results", default="results", help="results root folder")
    run.add_argument("--reports", default="reports", help="where the table report is written")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.set_defaults(func=_run)

    rep = sub.add_parser("report", help="paper vs ours for a table: reports/TABLE.{md,csv,tex,"
                         "png}; table10/table11: the tuned hyper-parameters and released "
                         "checkpoints")
    rep.add_argument("table")
    rep.add_argument("--scale", default="paper")
    rep.add_argument("--specs", default="bench")
    rep.add_argument("--results", default="results")
    rep.add_argument("--reports", default="reports")
    rep.set_defaults(func=_report)

    cl = sub.add_parser("claims", help="every claim of the paper (baselines/paper/claims.yaml) "
                        "checked on our results: holds / contradicted / inconclusive / not run")
    cl.add_argument("--scale", default="paper")
    cl.add_argument("--claims", default="baselines/paper/claims.yaml", help="the claims file")
    cl.add_argument("--specs", default="bench")
    cl.add_argument("--results", default="results")
    cl.add_argument("--reports", default="reports")
    cl.set_defaults(func=_claims)

    par = sub.add_parser("params", help="parameters a method adds to a model (meta device, JSON)")
    par.add_argument("--model", required=True,
                     help="a shipped architecture (" + ", ".join(shipped_architectures())
                     + "), a directory with config.json, or a hub id")
    par.add_argument("--method", required=True,
                     help="a registered method: " + ", ".join(METHODS.names()))
    par.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="config override, e.g. method.d_max=4, method.registers=per_offset, "
                     "peft=lora, lora.r=32")
    par.set_defaults(func=_params)

    img = sub.add_parser("images", help="image data for the paper-scale image tables")
    img_sub = img.add_subparsers(dest="images_command", required=True)
    tok = img_sub.add_parser("tokenize", help="an ImageFolder (ImageNet train) -> VQ codes in "
                             "LlamaGen's layout: centre crop (ADM) and its flip, 2 views each")
    tok.add_argument("--images", required=True, help="ImageFolder: one subfolder per class")
    tok.add_argument("--out", required=True, help="code folder (task.local_path of "
                     "imagenet_codes); a rerun continues an interrupted one")
    tok.add_argument("--vq", required=True, help="LlamaGen's VQ weights (vq_ds16_c2i.pt)")
    tok.add_argument("--dataset", default="imagenet", help="file-name stem, as LlamaGen's")
    tok.add_argument("--image-size", type=int, default=256)
    tok.add_argument("--batch-size", type=int, default=32)
    tok.add_argument("--limit", type=int, help="the first N images only")
    tok.add_argument("--no-progress", action="store_true", help="no progress bar")
    tok.set_defaults(func=_images_tokenize)

    chk = sub.add_parser("check", help="regression gate: results vs blessed golden values")
    chk.add_argument("--results", required=True, help="folder searched for result.json files")
    chk.add_argument("--golden", required=True, help="folder of golden *.yaml files")
    chk.add_argument("--bless", metavar="NAME", help="write NAME.yaml from the results instead")
    chk.add_argument("--tolerance", type=float, default=None,
                     help="with --bless: one limit for every metric (default: each metric's own, "
                          "1 point for percentages and FID, 0.1 IS, 0.01 precision / recall)")
    chk.add_argument("--subset", action="store_true",
                     help="partial rerun: skip golden cells that have no result")
    chk.set_defaults(func=_check)

    plot = sub.add_parser("plot", help="loss parts vs step of one or several run folders (PNG)")
    plot.add_argument("runs", nargs="+", metavar="RUN", help="run folders (holding log.jsonl)")
    plot.add_argument("--out", help="the figure's path (default: beside the runs)")
    plot.set_defaults(func=_plot)
    return parser


def main(argv: list[str] | None = None) -> int:
    from mutorbench.interrupts import Terminated, stop_cleanly_on_sigterm

    args = build_parser().parse_args(argv)
    try:
        with stop_cleanly_on_sigterm():
            return args.func(args)
    except ValueError as err:  # bad input: one clear message, non-zero exit
        print(f"mutor-bench: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permissions, ...: one line naming the file
        from mutorbench.fsio import os_error_message

        where = f" {err.filename}" if err.filename else ""
        print(f"mutor-bench: error: {os_error_message(err, 'accessing' + where)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # checkpoints are atomic: the last one stays valid
        how = "terminated" if isinstance(stop, Terminated) else "interrupted"
        print(f"mutor-bench: {how}; rerun the same command to resume from the last checkpoint",
              file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    finally:
        from mutorbench.train.distributed import shutdown

        shutdown()


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split("\n")).strip() or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
