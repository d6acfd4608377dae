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


def build_parser() -> argparse.ArgumentParser:
    from mutorbench.demo import DemoConfig

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # bad input: one clear message, non-zero exit
        print(f"mutor-bench: error: {err}", file=sys.stderr)
        return 2
    finally:
        from mutorbench.train.distributed import shutdown

        shutdown()


if __name__ == "__main__":
    sys.exit(main())
