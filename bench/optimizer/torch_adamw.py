"""PyTorch's CPU AdamW on one bucket, the peer of host-adamw-bench.

A flat f32 parameter of N elements with a bf16 gradient widened to f32
(PyTorch's optimizers step parameters of their gradient's type), then the
new parameters rounded to bf16, as an offloaded step sends them back.
Prints one JSON line: the median milliseconds of --reps steps.
"""
import argparse
import json
import time

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--elements", type=int, default=2319360,
                        help="the bucket's parameters (default: "
                        "mobilenet_v2's bf16 bucket)")
    parser.add_argument("--reps", type=int, default=20,
                        help="timed steps, after 3 untimed (default 20)")
    args = parser.parse_args()
    n = args.elements
    index = torch.arange(n, dtype=torch.float32)
    param = torch.nn.Parameter(0.01 * (index % 97) - 0.5)
    grad_bf16 = (1e-3 * (index % 89) - 0.04).to(torch.bfloat16)
    results = {}
    for mode in ("fused", "foreach"):
        try:
            optimizer = torch.optim.AdamW([param], lr=1e-3, weight_decay=0.01,
                                          **{mode: True})
        except (RuntimeError, TypeError) as error:
            results[mode] = str(error)
            continue
        times = []
        for rep in range(args.reps + 3):
            start = time.perf_counter()
            param.grad = grad_bf16.float()
            optimizer.step()
            param.detach().to(torch.bfloat16)
            if rep >= 3:
                times.append((time.perf_counter() - start) * 1e3)
        times.sort()
        results[mode] = times[len(times) // 2]
    timed = {k: v for k, v in results.items() if isinstance(v, float)}
    best = min(timed, key=timed.get) if timed else None
    print(json.dumps({"side": "torch", "elements": n,
                      "threads": torch.get_num_threads(),
                      "ms": timed.get(best), "mode": best,
                      "modes": results}))


if __name__ == "__main__":
    main()
