"""flowmatch against its PyTorch twin (bench/reference/speed_twin.py) on this machine: training
steps/s, achieved GEMM FLOP rate as a share of the machine's fp32 GEMM ceiling (measured in the same
run), peak memory, and Euler sampling time. Each measurement runs flowmatch and the twin as fresh
processes, alternating which goes first, REPEATS times; the table shows medians, and the median of
each round's flowmatch/PyTorch ratio. PyTorch runs twice: as is, and with glibc's malloc set as
flowmatch sets its own and OpenBLAS's kernels as flowmatch picks them (PyTorch+), which separates
the allocator's and the kernels' share of the difference.
flowmatch runs on the engine --engine names (auto: native for these MLPs; torch: LibTorch).
The unet rows (--rows unet) time the image recipe of docs/images.md on Fashion-MNIST: training at
batch 64, and 1000 class-conditional samples with midpoint in 8 steps. For them PyTorch+ also gets
the thread setting flowmatch gives itself for convolutions, which was PyTorch's best here (LibTorch's
pool on every core, OpenBLAS on one; plain PyTorch runs its default, one intra-op thread per
physical core).
Needs python3-torch (scripts/install-deps.sh --bench), and dataset-fashion-mnist for the unet rows.
    /usr/bin/python3 bench/speed.py build/flowmatch [--repeats 3] [--engine auto|native|torch] [--rows mlp,unet]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# glibc's malloc settings that flowmatch applies to itself (src/core/allocator.cpp), given to PyTorch
# through the environment: freed activations stay in the process instead of being unmapped.
KEEP_FREED_MEMORY = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"
TWIN = os.path.join(HERE, "reference", "speed_twin.py")

# The flowmatch options of each recipe (docs/design.md): the seed's and the default.
SEED_RECIPE = ["--model", "seed-mlp", "--lr", "1e-4", "--warmup", "0", "--lr-schedule", "constant", "--grad-clip", "0",
               "--ema", "0", "--weight-decay", "0.01"]
DEFAULT_RECIPE = []

# (label, recipe name, batch, steps): steps sized to take ~5 s in flowmatch here.
TRAINING = [
    ("seed-mlp, batch 64 (the seed's recipe)", "seed", 64, 600),
    ("seed-mlp, batch 1024", "seed", 1024, 80),
    ("seed-mlp, batch 4096", "seed", 4096, 20),
    ("mlp, batch 512 (the default recipe)", "default", 512, 300),
]


def gemm_flops_per_step(recipe, batch):
    """Multiply-adds x 2 of the Linear layers, forward and backward: each layer costs 2·B·in·out for
    its output and 2·B·in·out for its weight gradient, plus 2·B·in·out for its input gradient unless
    its input needs none (the first layers see x, features of x and the time embedding)."""
    if recipe == "seed":  # seed-mlp: D 2, W 512, 5 blocks, time_dim 512
        first, inner = [(2, 512), (512, 512)], [(512, 512)] * 5 + [(512, 2)]
    else:  # mlp: D 2, W 256, 4 blocks of 2 layers, time_dim 128, 64 Fourier features
        first, inner = [(2 + 128, 256), (128, 256)], [(256, 256)] * 8 + [(256, 2)]
    return sum(4 * batch * i * o for i, o in first) + sum(6 * batch * i * o for i, o in inner)


def run_measured(command, environment=None):
    """Runs a process, returning (stdout, peak RSS in MB) from its own rusage."""
    pid = os.fork()
    if pid == 0:
        os.environ.update(environment or {})
        fd = os.open(os.path.join(tempfile.gettempdir(), "speed-%d.out" % os.getpid()), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        os.execvp(command[0], command)
    _, status, usage = os.wait4(pid, 0)
    path = os.path.join(tempfile.gettempdir(), "speed-%d.out" % pid)
    with open(path) as f:
        out = f.read()
    os.remove(path)
    if status != 0:
        sys.exit("failed (status %d): %s\n%s" % (status, " ".join(command), out[-2000:]))
    return out, usage.ru_maxrss / 1024.0


def report_value(out, key):
    for line in out.splitlines():
        if line.startswith(key + ": "):
            return float(line.split(": ", 1)[1])
    sys.exit("no %s in:\n%s" % (key, out))


def flowmatch_train(binary, folder, recipe, batch, steps):
    run_dir = os.path.join(folder, "run")
    options = SEED_RECIPE if recipe == "seed" else DEFAULT_RECIPE
    out, rss = run_measured([binary, "train", "--data", "checkerboard", "--out", run_dir, "--overwrite", "--batch",
                             str(batch), "--steps", str(steps), "--log-every", str(steps), "--checkpoint-every", "0",
                             "--engine", ENGINE[0]] + options)
    return steps / report_value(out, "train_seconds"), rss


# The OpenBLAS kernels flowmatch runs: where OpenBLAS does not know the CPU it falls back to SSE3
# kernels, and flowmatch restarts itself with AVX2 or AVX-512 ones (src/core/blas_kernels.cpp).
# PyTorch+ and the GEMM ceiling get the same, through OPENBLAS_CORETYPE.
BLAS_CORE = {}
ENGINE = ["auto"]  # flowmatch's --engine


def read_blas_core(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"OpenBLAS kernels: (\w+)", out)
    if match:
        BLAS_CORE["OPENBLAS_CORETYPE"] = match.group(1)


def twin_environment(tuned, threads=None):
    """PyTorch+'s settings; with `threads`, also LibTorch's pool on all cores and OpenBLAS on one (the unet's)."""
    if not tuned:
        return {}
    return {"GLIBC_TUNABLES": KEEP_FREED_MEMORY, **BLAS_CORE, **({"OPENBLAS_NUM_THREADS": "1"} if threads else {})}


def unet_twin_options(tuned):
    return ["--recipe", "unet"] + (["--torch-threads", str(os.cpu_count())] if tuned else [])


# The image recipe (docs/images.md): its training at batch 64, and UNET_SAMPLES images drawn with midpoint in
# UNET_SAMPLE_STEPS steps and --cfg 1, in batches of 50.
UNET_STEPS, UNET_SAMPLES, UNET_SAMPLE_STEPS = 100, 1000, 8


def flowmatch_unet_train(binary, folder):
    out, rss = run_measured([binary, "train", "--data", "fashion-mnist", "--out", os.path.join(folder, "unet-train"),
                             "--overwrite", "--steps", str(UNET_STEPS), "--log-every", str(UNET_STEPS), "--checkpoint-every", "0"])
    return UNET_STEPS / report_value(out, "train_seconds"), rss


def twin_unet_train(tuned=False):
    out, rss = run_measured([sys.executable, TWIN, "train", "--batch", "64", "--steps", str(UNET_STEPS)] +
                            unet_twin_options(tuned), twin_environment(tuned, threads=True))
    return json.loads(out)["steps_per_s"], rss


def flowmatch_unet_sample(binary, folder):
    out, rss = run_measured([binary, "sample", untrained_weights(binary, folder, "unet"), "--n", str(UNET_SAMPLES), "--solver",
                             "midpoint", "--steps", str(UNET_SAMPLE_STEPS), "--cfg", "1", "--out",
                             os.path.join(folder, "images.npy"), "--overwrite"])
    return UNET_SAMPLES / report_value(out, "sample_seconds"), rss


def twin_unet_sample(tuned=False):
    out, rss = run_measured([sys.executable, TWIN, "sample", "--n", str(UNET_SAMPLES), "--sample-steps",
                             str(UNET_SAMPLE_STEPS)] + unet_twin_options(tuned), twin_environment(tuned, threads=True))
    return json.loads(out)["images_per_s"], rss


def twin_train(recipe, batch, steps, tuned=False):
    out, rss = run_measured([sys.executable, TWIN, "train", "--recipe", recipe, "--batch", str(batch), "--steps",
                             str(steps)], twin_environment(tuned))
    return json.loads(out)["steps_per_s"], rss


def flowmatch_sample(binary, folder, n, steps):
    weights = untrained_weights(binary, folder, "seed")
    out, _ = run_measured([binary, "sample", weights, "--n", str(n), "--solver", "euler", "--steps", str(steps), "--out",
                           os.path.join(folder, "samples.npy"), "--overwrite", "--engine", ENGINE[0]])
    return report_value(out, "sample_seconds")


def untrained_weights(binary, folder, recipe):
    """A model of the recipe after one training step (untrained weights sample as fast as trained ones)."""
    weights = os.path.join(folder, "%s.safetensors" % recipe)
    if not os.path.exists(weights):
        run_dir = os.path.join(folder, recipe + "-run")
        data = "fashion-mnist" if recipe == "unet" else "checkerboard"
        run_measured([binary, "train", "--data", data, "--out", run_dir, "--steps", "1", "--checkpoint-every",
                      "0"] + {"seed": SEED_RECIPE, "default": DEFAULT_RECIPE, "unet": []}[recipe])
        os.rename(os.path.join(run_dir, "model.safetensors"), weights)
    return weights


def flowmatch_latency(binary, folder, recipe, calls):
    """bench/velocity_latency, built beside flowmatch: {"native": {"1": us, "16": us}, "torch": {...}}."""
    tool = os.path.join(os.path.dirname(binary), "bench", "velocity_latency")
    out, _ = run_measured([tool, untrained_weights(binary, folder, recipe), "--calls", str(calls)])
    return json.loads(out)


def twin_latency(recipe, calls, tuned=False):
    out, _ = run_measured([sys.executable, TWIN, "latency", "--recipe", recipe, "--calls", str(calls)],
                          twin_environment(tuned))
    return json.loads(out)


# The seed's quality (the seed notebook's model after its 100 000 steps of batch 64): 5000 samples
# drawn with 1000 Euler steps score these.
SEED_STEPS, SEED_ON_CELL, SEED_ENERGY_DISTANCE = 100000, 0.92, 0.0027


def flowmatch_time_to_quality(binary, folder, steps):
    """Wall time of `flowmatch train` with the default recipe for `steps` steps, and the scores of 5000
    samples drawn with 1000 Euler steps, as the seed's were."""
    run_dir = os.path.join(folder, "quality")
    start = time.perf_counter()
    run_measured([binary, "train", "--data", "checkerboard", "--out", run_dir, "--overwrite", "--steps", str(steps),
                  "--engine", ENGINE[0]])
    seconds = time.perf_counter() - start
    samples = os.path.join(folder, "quality.npy")
    run_measured([binary, "sample", run_dir, "--n", "5000", "--solver", "euler", "--steps", "1000", "--seed", "7", "--out",
                  samples, "--overwrite", "--engine", ENGINE[0]])
    out, _ = run_measured([binary, "eval", samples, "--target", "checkerboard", "--seed", "7"])
    return seconds, report_value(out, "on_cell_fraction"), report_value(out, "energy_distance")


def twin_sample(n, steps, tuned=False):
    out, _ = run_measured([sys.executable, TWIN, "sample", "--n", str(n), "--sample-steps", str(steps)],
                          twin_environment(tuned))
    return json.loads(out)["seconds"]


def paired(numerators, denominators):
    """The median of each round's ratio: the pair ran back to back, so it shares the machine's load."""
    return statistics.median(n / d for n, d in zip(numerators, denominators))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("flowmatch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", default="auto", choices=["auto", "native", "torch"])
    parser.add_argument("--calls", type=int, default=3000, help="velocity evaluations timed per latency measurement")
    parser.add_argument("--quality-steps", type=int, default=4000,
                        help="steps of the default recipe timed to the seed's quality (0 = skip)")
    parser.add_argument("--rows", default="mlp,unet", help="which tables: mlp (the MLP rows), unet, or both")
    args = parser.parse_args()
    tables = set(args.rows.split(","))
    if not tables or not tables <= {"mlp", "unet"}:
        sys.exit("--rows takes mlp, unet or mlp,unet, got %s" % args.rows)
    ENGINE[0] = args.engine
    binary = os.path.abspath(args.flowmatch)
    read_blas_core(binary)
    ceiling = []
    rows = {label: {"fm": [], "pt": [], "tuned": [], "fm_rss": [], "pt_rss": [], "tuned_rss": []} for label, *_ in TRAINING}
    sampling = {"fm": [], "pt": [], "tuned": []}
    latency = {recipe: {"fm": [], "pt": [], "tuned": []} for recipe in ("seed", "default")}
    unet = {job: {side: [] for side in ("fm", "pt", "tuned", "fm_rss", "pt_rss", "tuned_rss")} for job in ("train", "sample")}
    quality = None
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            flowmatch_first = repeat % 2 == 0
            if "unet" in tables:
                for job, label, fm, twin in (("train", "training, steps/s", flowmatch_unet_train, twin_unet_train),
                                             ("sample", "sampling, images/s", flowmatch_unet_sample, twin_unet_sample)):
                    jobs = [("fm", lambda: fm(binary, folder)), ("pt", twin), ("tuned", lambda: twin(tuned=True))]
                    for side, run in jobs if flowmatch_first else jobs[::-1]:
                        rate, rss = run()
                        unet[job][side].append(rate)
                        unet[job][side + "_rss"].append(rss)
                    print("round %d: unet %s: flowmatch %.2f, PyTorch %.2f, PyTorch+ %.2f" % (
                        repeat + 1, label, unet[job]["fm"][-1], unet[job]["pt"][-1], unet[job]["tuned"][-1]), file=sys.stderr)
            if "mlp" not in tables:
                continue
            out, _ = run_measured([sys.executable, TWIN, "gemm"], BLAS_CORE)
            ceiling.append(json.loads(out))
            for label, recipe, batch, steps in TRAINING:
                jobs = [("fm", lambda: flowmatch_train(binary, folder, recipe, batch, steps)),
                        ("pt", lambda: twin_train(recipe, batch, steps)),
                        ("tuned", lambda: twin_train(recipe, batch, steps, tuned=True))]
                for side, job in jobs if flowmatch_first else jobs[::-1]:
                    rate, rss = job()
                    rows[label][side].append(rate)
                    rows[label][side + "_rss"].append(rss)
                print("round %d: %s: flowmatch %.1f, PyTorch %.1f, PyTorch keeping freed memory %.1f steps/s" % (
                    repeat + 1, label, rows[label]["fm"][-1], rows[label]["pt"][-1], rows[label]["tuned"][-1]),
                    file=sys.stderr)
            jobs = [("fm", lambda: flowmatch_sample(binary, folder, 10000, 100)), ("pt", lambda: twin_sample(10000, 100)),
                    ("tuned", lambda: twin_sample(10000, 100, tuned=True))]
            for side, job in jobs if flowmatch_first else jobs[::-1]:
                sampling[side].append(job())
            print("round %d: sampling: flowmatch %.2f s, PyTorch %.2f s, PyTorch keeping freed memory %.2f s" % (
                repeat + 1, sampling["fm"][-1], sampling["pt"][-1], sampling["tuned"][-1]), file=sys.stderr)
            for recipe in ("seed", "default"):
                jobs = [("fm", lambda: flowmatch_latency(binary, folder, recipe, args.calls)),
                        ("pt", lambda: twin_latency(recipe, args.calls)), ("tuned", lambda: twin_latency(recipe, args.calls, True))]
                for side, job in jobs if flowmatch_first else jobs[::-1]:
                    latency[recipe][side].append(job())
                print("round %d: latency, %s: %s" % (repeat + 1, recipe, json.dumps(
                    {side: latency[recipe][side][-1] for side in ("fm", "pt", "tuned")})), file=sys.stderr)

        if "mlp" in tables and args.quality_steps > 0:
            quality = flowmatch_time_to_quality(binary, folder, args.quality_steps)

    if "unet" in tables:
        print_unet_table(unet, args.repeats)
    if "mlp" in tables:
        print_mlp_tables(args, ceiling, rows, sampling, latency, quality)


def print_unet_table(unet, repeats):
    median = statistics.median
    print("The unet (the image recipe of docs/images.md, Fashion-MNIST 28 x 28, 10 classes): medians of %d runs, "
          "flowmatch and PyTorch alternating. PyTorch+: GLIBC_TUNABLES=%s, torch.set_num_threads(%d), "
          "OPENBLAS_NUM_THREADS=1.\n" % (repeats, KEEP_FREED_MEMORY, os.cpu_count()))
    print("| unet | flowmatch | PyTorch | ratio (paired) | PyTorch+ | ratio to PyTorch+ (paired) "
          "| peak RSS MB: flowmatch / PyTorch / PyTorch+ |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for job, label in (("train", "training, batch 64 (steps/s)"),
                       ("sample", "sampling, %d images, midpoint %d steps (images/s)" % (UNET_SAMPLES, UNET_SAMPLE_STEPS))):
        r = unet[job]
        print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f / %.0f / %.0f |" % (
            label, median(r["fm"]), median(r["pt"]), paired(r["fm"], r["pt"]), median(r["tuned"]),
            paired(r["fm"], r["tuned"]), median(r["fm_rss"]), median(r["pt_rss"]), median(r["tuned_rss"])))
    print()


def print_mlp_tables(args, ceiling, rows, sampling, latency, quality):
    median = statistics.median
    peak = median(c["gflops"] for c in ceiling)
    print("fp32 GEMM ceiling: %.1f GFLOP/s, the best of torch.mm's median rates over these m x k x n products "
          "(median of %d runs):" % (peak, args.repeats))
    for shape in ceiling[0]["rates"]:
        print("  %s: %.1f GFLOP/s" % (shape, median(c["rates"][shape] for c in ceiling)))
    print("Training and sampling: medians of %d runs each, flowmatch (--engine %s) and PyTorch alternating.\n" % (
        args.repeats, args.engine))
    print("PyTorch+: the twin with GLIBC_TUNABLES=%s, the malloc settings flowmatch gives itself.\n" % KEEP_FREED_MEMORY)
    print("| training | flowmatch steps/s | PyTorch steps/s | ratio (paired) | PyTorch+ steps/s | ratio to PyTorch+ "
          "| GFLOP/s, % of ceiling: flowmatch / PyTorch / PyTorch+ | peak RSS MB: flowmatch / PyTorch / PyTorch+ |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, recipe, batch, steps in TRAINING:
        r = rows[label]
        fm, pt, tuned = median(r["fm"]), median(r["pt"]), median(r["tuned"])
        flops = gemm_flops_per_step(recipe, batch) / 1e9
        shares = " / ".join("%.0f (%.0f %%)" % (rate * flops, 100 * rate * flops / peak) for rate in (fm, pt, tuned))
        print("| %s | %.1f | %.1f | %.2f | %.1f | %.2f | %s | %.0f / %.0f / %.0f |" % (
            label, fm, pt, paired(r["fm"], r["pt"]), tuned, paired(r["fm"], r["tuned"]), shares,
            median(r["fm_rss"]), median(r["pt_rss"]), median(r["tuned_rss"])))
    fm, pt, tuned = median(sampling["fm"]), median(sampling["pt"]), median(sampling["tuned"])
    print("\n| sampling, seed-mlp, Euler 100 steps, 10 000 points | flowmatch s | PyTorch s (no_grad) | ratio (paired) "
          "| PyTorch+ s | ratio to PyTorch+ |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("| | %.2f | %.2f | %.2f | %.2f | %.2f |" % (fm, pt, paired(sampling["pt"], sampling["fm"]), tuned,
                                                   paired(sampling["tuned"], sampling["fm"])))
    print("\n| latency of one evaluation, median of %d calls (us) | flowmatch native | flowmatch LibTorch | PyTorch "
          "(inference_mode) | PyTorch+ | PyTorch / native (paired) |" % args.calls)
    print("| --- | --- | --- | --- | --- | --- |")
    for recipe, model in (("seed", "seed-mlp"), ("default", "mlp")):
        r = latency[recipe]
        for points in ("1", "16"):
            native = [run["native"][points] for run in r["fm"]]
            print("| %s, %s point%s | %.0f | %.0f | %.0f | %.0f | %.2f |" % (
                model, points, "" if points == "1" else "s", median(native), median(run["torch"][points] for run in r["fm"]),
                median(run[points] for run in r["pt"]), median(run[points] for run in r["tuned"]),
                paired([run[points] for run in r["pt"]], native)))

    if quality:
        seconds, on_cell, energy = quality
        seed = rows[TRAINING[0][0]]
        print("\nTime to the seed's quality (on-cell >= %.2f, energy distance <= %.4f; 5000 samples, Euler 1000 steps):" % (
            SEED_ON_CELL, SEED_ENERGY_DISTANCE))
        print("flowmatch, the default recipe for %d steps: %.0f s of `flowmatch train`, on-cell %.3f, energy distance "
              "%.4f (%s)." % (args.quality_steps, seconds, on_cell, energy,
                              "reached" if on_cell >= SEED_ON_CELL and energy <= SEED_ENERGY_DISTANCE else "NOT reached"))
        print("| the seed's recipe (%d steps of batch 64) at this run's rate | minutes | flowmatch sooner by |" % SEED_STEPS)
        print("| --- | --- | --- |")
        for side, label in (("pt", "PyTorch"), ("tuned", "PyTorch+")):
            minutes = SEED_STEPS / median(seed[side]) / 60
            print("| %s, %.1f steps/s | %.1f | %.1f x |" % (label, median(seed[side]), minutes, minutes * 60 / seconds))


if __name__ == "__main__":
    main()
