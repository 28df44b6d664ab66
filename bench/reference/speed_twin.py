"""The PyTorch side of bench/speed.py: train the twin, sample with it, or time a GEMM, and print one
JSON line. It runs what a PyTorch user would write for the same job, on the same data, path and model:

  train --recipe seed     the seed notebook's loop: seed-mlp, AdamW(lr 1e-4) with PyTorch's defaults
                          (weight decay 0.01), no clipping, no EMA, constant learning rate;
  train --recipe default  flowmatch's default recipe: mlp, AdamW 2e-3, 100 warm-up steps then cosine
                          decay, gradient clipping at 1, EMA 0.999 (decay min(0.999, (1+k)/(10+k)));
  train --recipe unet     flowmatch's image recipe (docs/images.md): the class-conditional unet on
                          Fashion-MNIST's 60 000 training images, labels dropped with probability 0.1,
                          AdamW 1e-3 with warm-up, cosine decay, clipping and EMA as the default recipe;
  sample                  Euler from N(0, I), under torch.no_grad(), as the seed samples;
  sample --recipe unet    1000 images of the same unet, 100 per class in batches of 50, with midpoint
                          in 8 steps and guidance weight 1 (the class-conditional field alone);
  latency                 one velocity evaluation for 1 and 16 points under torch.inference_mode(), the
                          median over --calls calls in a warm process, in microseconds;
  gemm                    float32 matrix products of several shapes (square, and the training's own
                          B x 512 x 512 ones); the best median rate is the machine's GEMM ceiling.

Threads: for the MLPs, LibTorch's intra-op pool on 1 thread and OpenBLAS on all cores, as flowmatch
shares them (src/core/threads.cpp); for the unet, --torch-threads (0: PyTorch's own default) and
OPENBLAS_NUM_THREADS from the environment, so bench/speed.py can give PyTorch its best setting.
torch.get_num_threads() is printed.
    /usr/bin/python3 bench/reference/speed_twin.py train --recipe seed --batch 64 --steps 500
"""
import argparse
import gzip
import json
import math
import sys
import time

import numpy as np
import torch

from twin import ResidualMLP, SeedMLP, UNet, cfm_loss, euler, midpoint

FASHION_MNIST = "/usr/share/datasets/fashion-mnist/train-%s-idx%d-ubyte.gz"


def checkerboard(n):
    """toy_distributions.cpp: uniform on the on-cells (i + j odd) of a 4 x 4 board of 2 x 2 cells."""
    cell = torch.randint(0, 8, (n,))
    j = cell.div(2, rounding_mode="floor")
    i = 2 * cell.remainder(2) + (1 - j.remainder(2))
    return torch.stack([i, j], 1).float() * 2 - 4 + 2 * torch.rand(n, 2)


def fashion_mnist():
    """image_set.cpp: Fashion-MNIST's training images [60000, 1, 28, 28] scaled to [-1, 1], and labels."""
    with gzip.open(FASHION_MNIST % ("images", 3)) as f:
        pixels = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(FASHION_MNIST % ("labels", 1)) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1), torch.from_numpy(labels.astype(np.int64))


def unet_model():
    """The unet flowmatch trains on Fashion-MNIST: the defaults of unet.h with 10 classes."""
    return UNet(image_shape=(1, 28, 28), classes=10)


def learning_rate(step, steps, peak, warmup):
    """lr_schedule.cpp: linear warm-up over `warmup` steps, then cosine decay to 0."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup - 1))
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def unet_batches(batch):
    """Random batches of Fashion-MNIST with their labels, each dropped to "no class" (10) with p = 0.1."""
    images, labels = fashion_mnist()
    while True:
        rows = torch.randint(0, images.shape[0], (batch,))
        y = labels[rows]
        yield images[rows], {"labels": torch.where(torch.rand(batch) < 0.1, torch.full_like(y, 10), y)}


def train(args):
    seed = args.recipe == "seed"
    model = {"seed": SeedMLP, "default": ResidualMLP, "unet": unet_model}[args.recipe]()
    peak = {"seed": 1e-4, "default": 2e-3, "unet": 1e-3}[args.recipe]
    optimizer = torch.optim.AdamW(model.parameters(), lr=peak, weight_decay=0.01 if seed else 0.0)
    ema = None if seed else [p.detach().clone() for p in model.parameters()]
    data = unet_batches(args.batch) if args.recipe == "unet" else ((checkerboard(args.batch), {}) for _ in iter(int, 1))
    next(data)  # loads the images before the clock starts, as flowmatch reports its training time alone
    start = time.perf_counter()
    for step in range(args.steps):
        if not seed:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, args.steps, peak, 100)
        x1, condition = next(data)
        x0 = torch.randn_like(x1)
        t = torch.rand(args.batch)
        loss = cfm_loss(model, x0, x1, t, **condition)
        optimizer.zero_grad()
        loss.backward()
        if not seed:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if ema is not None:
            with torch.no_grad():
                decay = min(0.999, (1 + step) / (10 + step))
                for average, p in zip(ema, model.parameters()):
                    average.lerp_(p, 1 - decay)
        loss.item()
    seconds = time.perf_counter() - start
    return {"steps": args.steps, "seconds": seconds, "steps_per_s": args.steps / seconds}


def sample(args):
    if args.recipe != "unet":
        model = SeedMLP()
        noise = torch.randn(args.n, 2)
        with torch.no_grad():
            start = time.perf_counter()
            euler(model, noise, args.sample_steps)
            seconds = time.perf_counter() - start
        return {"n": args.n, "steps": args.sample_steps, "seconds": seconds}
    model, batch = unet_model(), 50
    labels = torch.arange(args.n).div(math.ceil(args.n / 10), rounding_mode="floor")  # image_sampling.cpp's order
    noise = torch.randn(args.n, 1, 28, 28)
    with torch.no_grad():
        start = time.perf_counter()
        for first in range(0, args.n, batch):
            midpoint(model, noise[first:first + batch], args.sample_steps, labels=labels[first:first + batch])
        seconds = time.perf_counter() - start
    return {"n": args.n, "steps": args.sample_steps, "seconds": seconds, "images_per_s": args.n / seconds}


def latency(args):
    model = SeedMLP() if args.recipe == "seed" else ResidualMLP()
    result = {}
    with torch.inference_mode():
        for rows in (1, 16):
            x, t = torch.randn(rows, 2), torch.full((rows,), 0.5)
            times = []
            for i in range(args.calls + args.calls // 10):  # the first tenth warms up
                start = time.perf_counter()
                model(x, t)
                if i >= args.calls // 10:
                    times.append((time.perf_counter() - start) * 1e6)
            result[str(rows)] = sorted(times)[len(times) // 2]
    return result


# (m, k, n) of the products timed for the ceiling: square ones and those of a seed-mlp training step.
GEMM_SHAPES = [(2048, 2048, 2048), (4096, 4096, 4096), (1024, 512, 512), (4096, 512, 512), (512, 4096, 512)]


def gemm(args):
    rates = {}
    for m, k, n in GEMM_SHAPES:
        a, b = torch.randn(m, k), torch.randn(k, n)
        torch.mm(a, b)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            times.append(time.perf_counter() - start)
        rates["%dx%dx%d" % (m, k, n)] = 2 * m * k * n / sorted(times)[len(times) // 2] / 1e9
    best = max(rates, key=rates.get)
    return {"gflops": rates[best], "shape": best, "rates": rates}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=["train", "sample", "latency", "gemm"])
    parser.add_argument("--recipe", choices=["seed", "default", "unet"], default="seed")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--sample-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-threads", type=int, default=0, help="the unet's intra-op threads (0: PyTorch's default)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    if args.recipe != "unet":
        torch.set_num_threads(1)
    elif args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    result = {"train": train, "sample": sample, "latency": latency, "gemm": gemm}[args.job](args)
    result["torch_threads"] = torch.get_num_threads()
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
