#!/usr/bin/env python3
"""PyTorch's bf16 matmul speed on this GPU: the yardstick for `shardline gpu-check`'s prefill matmul.

Times y = x @ w.T (nn.Linear layout) with x [m, k] and w [n, k] in bfloat16 on CUDA, CUDA events around
batches of `reps` calls, median of 5 batches. Prints one JSON line: {"seconds", "tflops", "device", "torch"},
or {"error": ...} with exit code 3 when torch or a CUDA device is missing.
"""
import argparse
import json
import sys


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--m", type=int, default=512)
    p.add_argument("--n", type=int, default=27648)
    p.add_argument("--k", type=int, default=5120)
    p.add_argument("--reps", type=int, default=20)
    a = p.parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"error": "PyTorch not present (%s)" % e}))
        return 3
    if not torch.cuda.is_available():
        print(json.dumps({"error": "PyTorch present but torch.cuda.is_available() is False"}))
        return 3
    x = torch.randn(a.m, a.k, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(a.n, a.k, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        y = torch.nn.functional.linear(x, w)
    torch.cuda.synchronize()
    times = []
    for _ in range(5):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(a.reps):
            y = torch.nn.functional.linear(x, w)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000.0 / a.reps)
    del y
    t = sorted(times)[len(times) // 2]
    print(json.dumps({"seconds": t, "tflops": 2.0 * a.m * a.n * a.k / t / 1e12,
                      "device": torch.cuda.get_device_name(), "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
