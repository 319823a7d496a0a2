#!/usr/bin/env python3
"""The smallest trainer that follows npsh's contract (docs/training.md): it reads the
architecture from --arch, "trains" it — here a deterministic score of its structure, no
machine learning — and writes {"metric": …} to --out. Copy it and put your training in
train().

    bench trainer ["python3", "examples/trainers/toy_trainer.py", "--arch", "{arch}", "--out", "{result}"]
"""
import argparse
import json
import os
import sys


def train(arch):
    """A stand-in for training: more convolutions and a deeper cell score higher."""
    ops = arch.get("ops", [])
    convs = sum(1 for op in ops if op.startswith("conv"))
    edges = sum(sum(row) for row in arch.get("matrix", []))
    metric = 0.80 + 0.02 * convs + 0.005 * edges
    return {"metric": round(min(metric, 0.99), 6), "test": round(min(metric - 0.004, 0.99), 6), "time": 60.0 * (1 + convs)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", required=True, help="the architecture's JSON file ({arch})")
    parser.add_argument("--out", required=True, help="where to write the result ({result})")
    args = parser.parse_args()
    with open(args.arch) as f:
        arch = json.load(f)
    print(f"training {arch['hash']} (trial {os.environ.get('NPSH_TRIAL')}, attempt {os.environ.get('NPSH_ATTEMPT')})")
    result = train(arch)
    # Write then rename: npsh never sees half a result.
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
