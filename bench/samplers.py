"""Few-step sampling: every fixed-grid solver x time grid x noise scale at a fixed budget of network
evaluations (NFE), scored against the data. Points models (the checkerboard by default) are scored
by energy distance and on-cell fraction (flowmatch eval); image models by fd and the judge's class
accuracy (flowmatch fd). The table's best cell per NFE is marked, beside midpoint on the uniform
grid (the best setting before time grids and noise existed).
    /usr/bin/python3 bench/samplers.py build/flowmatch RUN_DIR [--target checkerboard] [--n 10000]
        [--nfe 4,6,8,12,16] [--grids uniform,shift:3,edm:2,cosine] [--noise 0,0.5] [--classifier C.safetensors]
Prints a Markdown table (and --json FILE keeps every score).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

STAGES = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4}


def report(lines):
    values = {}
    for line in lines.splitlines():
        if ": " in line:
            key, value = line.split(": ", 1)
            values[key] = value
    return values


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(" ".join(command) + " failed:\n" + done.stdout + done.stderr)
    return report(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("flowmatch")
    parser.add_argument("model")
    parser.add_argument("--target", default="checkerboard")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--nfe", default="4,6,8,12,16")
    parser.add_argument("--grids", default="uniform,shift:3,edm:2,cosine")
    parser.add_argument("--noise", default="0,0.5")
    parser.add_argument("--solvers", default="euler,midpoint,heun,rk4")
    parser.add_argument("--classifier", default="", help="image models: the fd judge (flowmatch fd --classifier)")
    parser.add_argument("--json", default="")
    a = parser.parse_args()
    images = bool(a.classifier)
    nfes = [int(k) for k in a.nfe.split(",")]
    scores = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "x.npy")
        for solver in a.solvers.split(","):
            for grid in a.grids.split(","):
                for noise in a.noise.split(","):
                    for nfe in nfes:
                        if nfe % STAGES[solver]:
                            continue
                        steps = nfe // STAGES[solver]
                        run([a.flowmatch, "sample", a.model, "--n", str(a.n), "--solver", solver, "--steps", str(steps),
                             "--time-grid", grid, "--noise-scale", noise, "--seed", "1", "--out", out, "--overwrite"])
                        if images:
                            r = run([a.flowmatch, "fd", out, "--classifier", a.classifier])
                            score = (float(r["fd"]), float(r.get("class_accuracy", "nan")))
                        else:
                            r = run([a.flowmatch, "eval", out, "--target", a.target])
                            score = (float(r["energy_distance"]), float(r.get("on_cell_fraction", "nan")))
                        scores[(solver, grid, noise, nfe)] = score
                        print(solver, grid, noise, nfe, score, file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"solver": k[0], "grid": k[1], "noise": k[2], "nfe": k[3], "score": v[0], "second": v[1]}
                       for k, v in scores.items()], f, indent=1)
    first, second = ("fd", "class accuracy") if images else ("energy distance", "on-cell")
    best = {nfe: min((v[0], k) for k, v in scores.items() if k[3] == nfe) for nfe in nfes}
    print("| solver | grid | noise | " + " | ".join(f"NFE {k}" for k in nfes) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in nfes) + " |")
    for solver in a.solvers.split(","):
        for grid in a.grids.split(","):
            for noise in a.noise.split(","):
                cells = []
                for nfe in nfes:
                    score = scores.get((solver, grid, noise, nfe))
                    if score is None:
                        cells.append("")
                        continue
                    text = f"{score[0]:.4g} / {score[1]:.3f}"
                    cells.append(f"**{text}**" if best[nfe][1] == (solver, grid, noise, nfe) else text)
                print(f"| {solver} | {grid} | {noise} | " + " | ".join(cells) + " |")
    print(f"\nEach cell: {first} / {second}; bold: the lowest {first} at that NFE.")
    for nfe in nfes:
        base = scores.get(("midpoint", "uniform", "0", nfe))
        if base:
            gain = 1 - best[nfe][0] / base[0]
            print(f"NFE {nfe}: best {best[nfe][1][:3]} {best[nfe][0]:.4g} against midpoint uniform {base[0]:.4g} ({100 * gain:.0f} % lower)")


if __name__ == "__main__":
    main()
