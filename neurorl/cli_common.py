"""Helpers every module of the command line shares: argument types, ``--set`` parsing, and
the chip reports and JSON of ``neurorl energy``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["chip_reports", "parse_sets", "positive_int", "write_energy_json"]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a count of samples or steps), else argparse's error."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (VALUE in JSON, or a bare string) -> dict; used by every ``--set``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        try:
            out[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = value  # a bare string
    return out


def chip_reports(args, net, inputs, label: str, overrides: dict, dnn=(), **options) -> list:
    """Price ``net`` on ``inputs`` on every ``--profile``; print each table, return the dicts."""
    from neurorl.hardware.estimate import estimate

    reports = []
    for name in args.profile or ["nc64c"]:
        rep = estimate(net, inputs, name, quantize=not args.no_quantize, **options, **overrides)
        rep.label = label
        rep.add_dnn(list(dnn))
        print(rep.table())
        print()
        reports.append(rep.to_dict())
    return reports


def write_energy_json(args: argparse.Namespace, out: dict) -> None:
    from neurorl import checkpoint

    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1, default=checkpoint.json_default))
        print(f"wrote {args.json}")


