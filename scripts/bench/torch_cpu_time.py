"""CPU seconds per training step of the PyTorch peer cases, for side-by-side comparison with
`replicate bench engine` on a machine that is not quiet (CPU time of this process, all threads,
is far less disturbed by other processes than wall time).

    python3 scripts/bench/torch_cpu_time.py --cases resnet_small,transmil_1000 --threads 1

Uses the model and step definitions of ../shared/bench/run_torch.py (imported, not copied).
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="resnet_small,transmil_1000,vit_tiny_manual")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    import run_torch
    for name in args.cases.split(","):
        step, items, unit, _ = run_torch.make_case(name)
        for _ in range(args.warmup):
            step()
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(args.steps):
            step()
        cpu = (time.process_time() - c0) / args.steps
        wall = (time.perf_counter() - w0) / args.steps
        print(json.dumps({"case": name, "threads": args.threads, "cpuSecondsPerStep": cpu,
                          "wallSecondsPerStep": wall, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
