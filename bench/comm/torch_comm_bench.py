#!/usr/bin/env python3
"""torch.distributed's NCCL all-gather and reduce-scatter, timed the way
comm-bench times ours (same sizes, CUDA events around each of --iters
collectives enqueued back to back after --warmup, the slowest rank's median),
printing the same table. Starts one process per GPU itself (mp.spawn).

    python3 bench/comm/torch_comm_bench.py [--nproc N] [--max-mib 256]
"""
import argparse
import os
import socket
import statistics

# Never NVLink multicast on the shared GPU machines (see NcclCommunicator.cpp);
# set before torch loads NCCL, and inherited by the spawned ranks.
os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
os.environ.setdefault("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1")
assert os.environ["NCCL_NVLS_ENABLE"] == "0", "NVLink multicast must stay off"

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

TYPES = {"bf16": torch.bfloat16, "f32": torch.float32}


def measure(op, dtype, size_bytes, args, rank, n):
    width = torch.tensor([], dtype=dtype).element_size()
    shard = size_bytes // (width * n)
    total = shard * width * n
    device = torch.device("cuda", rank)
    if op == "all-gather":
        inp = torch.zeros(shard, dtype=dtype, device=device)
        out = torch.empty(shard * n, dtype=dtype, device=device)

        def once():
            dist.all_gather_into_tensor(out, inp)
    else:
        inp = torch.zeros(shard * n, dtype=dtype, device=device)
        out = torch.empty(shard, dtype=dtype, device=device)

        def once():
            dist.reduce_scatter_tensor(out, inp, op=dist.ReduceOp.SUM)

    for _ in range(args.warmup):
        once()
    torch.cuda.synchronize(device)
    events = [torch.cuda.Event(enable_timing=True) for _ in range(args.iters + 1)]
    events[0].record()
    for i in range(args.iters):
        once()
        events[i + 1].record()
    torch.cuda.synchronize(device)
    times = [events[i].elapsed_time(events[i + 1]) for i in range(args.iters)]
    median = torch.tensor([statistics.median(times)], device=device)
    dist.all_reduce(median, op=dist.ReduceOp.MAX)
    ms = median.item()
    algbw = total / (ms * 1e-3) / 1e9
    busbw = algbw * (n - 1) / n
    if rank == 0:
        print(f"{op:<15} {args.type_names[dtype]:<5} {total / 1048576:10.1f} "
              f"{ms * 1e3:12.1f} {algbw:12.2f} {busbw:12.2f}", flush=True)


def rank_main(rank, args, port):
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=args.nproc,
                            device_id=torch.device("cuda", rank))
    if rank == 0:
        print(f"torch_comm_bench: {args.nproc} ranks, torch {torch.__version__}, "
              f"NCCL {'.'.join(map(str, torch.cuda.nccl.version()))}, median of "
              f"{args.iters} after {args.warmup} warmup", flush=True)
        print(f"{'op':<15} {'type':<5} {'size_MiB':>10} {'time_us':>12} "
              f"{'algbw_GB/s':>12} {'busbw_GB/s':>12}", flush=True)
    for op in ("all-gather", "reduce-scatter"):
        for name in args.types.split(","):
            mib = args.min_mib
            while mib <= args.max_mib:
                measure(op, TYPES[name], mib << 20, args, rank, args.nproc)
                mib *= 2
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nproc", type=int, default=torch.cuda.device_count())
    parser.add_argument("--min-mib", type=int, default=1)
    parser.add_argument("--max-mib", type=int, default=256)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--types", default="bf16,f32")
    args = parser.parse_args()
    args.type_names = {v: k for k, v in TYPES.items()}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(rank_main, args=(args, port), nprocs=args.nproc, join=True)


if __name__ == "__main__":
    main()
