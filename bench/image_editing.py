"""What a trained image flow does besides sampling, checked on Fashion-MNIST's test images against
references nobody here wrote: the images themselves, the training set's class means, and the fd
judge (flowmatch fd --classifier).

  inversion   the first --invert-n test images, and as many of the model's own samples, -> noise
              (dopri5) -> images: RMS and max error, and the noise's normality statistics
  inpainting  the right half of the first --inpaint-n test images, filled given the left half and the
              class: kept pixels bit-identical, the judge's accuracy on the filled images, and the
              squared error on the filled half against filling with the class's mean training image
  editing     --edit-n test images, each edited toward every other class in turn (sample --from
              --strength S --class K): the judge's accuracy at K, and the squared error to the
              originals against fresh samples of class K drawn from the same noise seed

    /usr/bin/python3 bench/image_editing.py build/flowmatch RUN_DIR --classifier judge.safetensors
        [--inpaint-n 1000] [--edit-n 500] [--invert-n 100] [--tolerance 1e-6] [--float64]
        [--strengths 0.6,0.7,0.8,0.9] [--cfg 1] [--json FILE]
        [--inpaint-settings "midpoint:25:4"] [--only inversion,inpainting,editing]
Prints Markdown tables.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(FASHION, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def images_and_labels(split):
    prefix = "t10k" if split == "test" else "train"
    images = read_idx(f"{prefix}-images-idx3-ubyte.gz").astype(np.float32) / np.float32(127.5) - np.float32(1)  # as flowmatch reads them
    return images[:, None], read_idx(f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)


def report(lines):
    return dict(line.split(": ", 1) for line in lines.splitlines() if ": " in line)


def run(command):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(" ".join(map(str, command)) + " failed:\n" + done.stdout + done.stderr)
    return report(done.stdout)


def judged(a, images, labels, tmp, name):
    """The judge's accuracy on images at the given labels."""
    path = os.path.join(tmp, name + ".npy")
    np.save(path, images.astype(np.float32))
    np.save(os.path.join(tmp, name + ".labels.npy"), labels.astype(np.int64))
    return float(run([a.flowmatch, "fd", path, "--classifier", a.classifier])["class_accuracy"])


def inversion(a, test, tmp):
    """Test images, and as many of the model's own samples, there and back; the noise's normality."""
    tight = ["--solver", "dopri5", "--atol", a.tolerance, "--rtol", a.tolerance] + (["--float64"] if a.float64 else [])
    own = os.path.join(tmp, "own.npy")
    run([a.flowmatch, "sample", a.model, "--n", a.invert_n, "--seed", "3", "--out", own, "--overwrite"] + tight)
    sets = {"test images": (test[0][:a.invert_n], test[1][:a.invert_n]),
            "the model's samples": (np.load(own), np.load(os.path.join(tmp, "own.labels.npy")))}
    print(f"\n### Inversion: {a.invert_n} images -> noise -> images, dopri5 at atol = rtol = {a.tolerance}"
          f"{' in float64' if a.float64 else ''}\n")
    print("| images | RMS error | worst image's RMS | max error | NFE there / back | noise mean | variance | skewness | excess kurtosis | KS distance (1 % critical) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    results = {}
    for name, (images, labels) in sets.items():
        np.save(os.path.join(tmp, "x.npy"), images)
        np.save(os.path.join(tmp, "x.labels.npy"), labels)
        z = run([a.flowmatch, "invert", a.model, "--data", os.path.join(tmp, "x.npy"), "--out", os.path.join(tmp, "z.npy"), "--overwrite"] + tight)
        back = run([a.flowmatch, "sample", a.model, "--noise", os.path.join(tmp, "z.npy"), "--out", os.path.join(tmp, "back.npy"),
                    "--overwrite"] + tight)
        error = np.load(os.path.join(tmp, "back.npy")) - images
        rms, worst = float(np.sqrt(np.mean(error ** 2))), float(np.abs(error).max())
        worst_image = float(np.sqrt(np.mean(error ** 2, axis=(1, 2, 3))).max())
        print(f"| {name} | {rms:.2e} | {worst_image:.2e} | {worst:.2e} | {z['nfe']} / {back['nfe']} | {float(z['noise_mean']):.4f} | "
              f"{float(z['noise_variance']):.4f} | {float(z['noise_skewness']):.4f} | {float(z['noise_excess_kurtosis']):.4f} | "
              f"{float(z['noise_ks_distance']):.4f} ({float(z['noise_ks_critical_1pct']):.4f}) |", flush=True)
        results[name] = {"rms": rms, "worst_image_rms": worst_image, "max": worst, "invert": z, "sample": back}
    return results


def inpainting(a, test, train, tmp):
    images, labels = test[0][:a.inpaint_n], test[1][:a.inpaint_n]
    np.save(os.path.join(tmp, "x.npy"), images)
    np.save(os.path.join(tmp, "x.labels.npy"), labels)
    right = (slice(None), slice(None), slice(None), slice(14, 28))
    class_means = np.stack([train[0][train[1] == k].mean(0) for k in range(10)])
    mean_fill = np.mean((images[right] - class_means[labels][right]) ** 2)
    rows = []
    print(f"\n### Inpainting the right half of {a.inpaint_n} test images, given the left half and the class\n")
    print(f"Filling with the class's mean training image: squared error {mean_fill:.4f} per pixel.\n")
    print("| solver, steps | corrections (size) | noise scale | NFE | cfg | kept pixels identical | judge's accuracy | squared error | vs class mean | time |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for setting in a.inpaint_settings.split(","):
        solver, steps, corrections, cfg, size, noise = (setting.split(":") + ["1", "1", "0"])[:6]
        out = os.path.join(tmp, "filled.npy")
        started = time.monotonic()
        r = run([a.flowmatch, "inpaint", a.model, "--images", os.path.join(tmp, "x.npy"), "--mask", "right-half", "--out", out,
                 "--solver", solver, "--steps", steps, "--corrector-steps", corrections, "--corrector-size", size, "--noise-scale", noise, "--cfg", cfg, "--overwrite", "--seed", "1"]
                + (["--png", a.png] if a.png and setting == a.inpaint_settings.split(",")[0] else []))
        seconds = time.monotonic() - started
        filled = np.load(out)
        kept = bool(np.array_equal(filled[:, :, :, :14], images[:, :, :, :14]))
        error = np.mean((filled[right] - images[right]) ** 2)
        accuracy = judged(a, filled, labels, tmp, "judged")
        rows.append({"setting": setting, "nfe": int(r["nfe"]), "kept_identical": kept, "accuracy": accuracy, "mse": float(error),
                     "mean_fill_mse": float(mean_fill), "seconds": seconds})
        print(f"| {solver}, {steps} | {corrections} ({size}) | {noise} | {r['nfe']} | {cfg} | {'yes' if kept else 'NO'} | {accuracy:.3f} | {error:.4f} | "
              f"{100 * (1 - error / mean_fill):.0f} % lower | {seconds:.0f} s |", flush=True)
    return rows


def editing(a, test, tmp):
    """Each image toward every other class: n images, n / 9 per target class, from images of other classes."""
    images, labels = test
    per_class = -(-a.edit_n // 9)
    rows = []
    print(f"\n### Editing {a.edit_n} test images toward another class ({per_class} per target class, from images of the other nine)\n")
    print("| strength | cfg | judge says the target class | squared error to the original | fresh samples of the class |")
    print("| --- | --- | --- | --- | --- |")
    chosen = {k: np.flatnonzero(labels != k)[k::10][:per_class] for k in range(10)}  # spread over the set, different per target
    fresh_error, fresh_hits, originals = [], [], []
    for k in range(10):
        np.save(os.path.join(tmp, f"from{k}.npy"), images[chosen[k]])
        fresh = os.path.join(tmp, f"fresh{k}.npy")
        run([a.flowmatch, "sample", a.model, "--n", len(chosen[k]), "--class", k, "--cfg", a.cfg, "--seed", 10 + k, "--out", fresh,
             "--overwrite"])
        originals.append(images[chosen[k]])
        fresh_error.append(np.mean((np.load(fresh) - images[chosen[k]]) ** 2, axis=(1, 2, 3)))
        fresh_hits.append(np.load(fresh))
    targets = np.concatenate([np.full(len(chosen[k]), k) for k in range(10)])[:a.edit_n]
    fresh_mse = float(np.concatenate(fresh_error)[:a.edit_n].mean())
    fresh_accuracy = judged(a, np.concatenate(fresh_hits)[:a.edit_n], targets, tmp, "fresh")
    for strength in a.strengths.split(","):
        edited = []
        for k in range(10):
            out = os.path.join(tmp, f"edit{k}.npy")
            run([a.flowmatch, "sample", a.model, "--from", os.path.join(tmp, f"from{k}.npy"), "--strength", strength, "--class", k,
                 "--cfg", a.cfg, "--seed", 10 + k, "--out", out, "--overwrite"])
            edited.append(np.load(out))
        edited = np.concatenate(edited)[:a.edit_n]
        error = float(np.mean((edited - np.concatenate(originals)[:a.edit_n]) ** 2))
        accuracy = judged(a, edited, targets, tmp, "edited")
        rows.append({"strength": float(strength), "accuracy": accuracy, "mse": error, "fresh_mse": fresh_mse, "fresh_accuracy": fresh_accuracy})
        print(f"| {strength} | {a.cfg} | {accuracy:.3f} | {error:.4f} | {fresh_mse:.4f} (judge: {fresh_accuracy:.3f}) |", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("flowmatch")
    parser.add_argument("model")
    parser.add_argument("--classifier", required=True, help="the fd judge (flowmatch fd --classifier)")
    parser.add_argument("--invert-n", type=int, default=100)
    parser.add_argument("--tolerance", default="1e-6", help="inversion: dopri5's atol and rtol")
    parser.add_argument("--float64", action="store_true", help="inversion: solve in float64")
    parser.add_argument("--inpaint-n", type=int, default=1000)
    parser.add_argument("--inpaint-settings", default="midpoint:25:4", help="solver:steps:corrections[:cfg[:corrector size[:noise scale]]], comma-separated")
    parser.add_argument("--edit-n", type=int, default=500)
    parser.add_argument("--strengths", default="0.6,0.7,0.8,0.9")
    parser.add_argument("--cfg", default="1")
    parser.add_argument("--png", default="", help="the first inpainting setting's grid")
    parser.add_argument("--only", default="inversion,inpainting,editing")
    parser.add_argument("--json", default="")
    a = parser.parse_args()
    test, train = images_and_labels("test"), images_and_labels("train")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "inversion" in a.only:
            results["inversion"] = inversion(a, test, tmp)
        if "inpainting" in a.only:
            results["inpainting"] = inpainting(a, test, train, tmp)
        if "editing" in a.only:
            results["editing"] = editing(a, test, tmp)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
