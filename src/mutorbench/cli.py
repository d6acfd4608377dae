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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mutor-bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train next-token and MuToR on a tiny model (CPU, minutes)")
    for f in fields(__import__("mutorbench.demo", fromlist=["DemoConfig"]).DemoConfig):
        demo.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=type(f.default),
                          default=None, help=f"default: {f.default}")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # bad input: one clear message, non-zero exit
        print(f"mutor-bench: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
