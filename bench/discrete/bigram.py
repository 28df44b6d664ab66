#!/usr/bin/env python3
"""The character bigram baseline of docs/discrete.md: p(c_i | c_{i-1}) with add-alpha smoothing,
a start symbol before each word and an end symbol after it, fitted on the training lines.

Prints JSON: for each alpha of a grid, the held-out bits per character (the word's characters and
its end, as `flowmatch likelihood` counts them for a text model), and for the best alpha (chosen on
the held-out lines themselves, which favours the baseline), at each sampling temperature T (each
p(c | c_prev) raised to 1/T and renormalised, as `flowmatch sample --temperature` divides logits
by T), the shares of N sampled words that are distinct, found among the training lines, and found
among the held-out lines (all, and those of three characters or more: many of wamerican's words
are single letters).

usage: bigram.py TRAIN.txt HELDOUT.txt [--samples N] [--seed S] [--temperatures 1,0.7]
"""
import argparse
import json
import math
import random


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\r\n") for line in f if line.rstrip("\r\n")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("heldout")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperatures", default="1,0.7")
    args = parser.parse_args()
    train, heldout = lines(args.train), lines(args.heldout)
    start, end = "\x02", "\x03"
    symbols = sorted({c for word in train for c in word}) + [end]
    counts = {}
    for word in train:
        previous = start
        for c in list(word) + [end]:
            row = counts.setdefault(previous, {})
            row[c] = row.get(c, 0) + 1
            previous = c

    def probability(previous, c, alpha):
        row = counts.get(previous, {})
        return (row.get(c, 0) + alpha) / (sum(row.values()) + alpha * len(symbols))

    def bits_per_character(alpha):
        bits, characters = 0.0, 0
        for word in heldout:
            previous = start
            for c in list(word) + [end]:
                if c not in symbols:  # a character the training lines never hold: the smoothed share of one
                    c = None
                bits -= math.log2(probability(previous, c, alpha) if c else alpha / (alpha * len(symbols) + 1))
                characters += 1
                previous = c or start
        return bits / characters

    grid = {alpha: bits_per_character(alpha) for alpha in (0.001, 0.01, 0.1, 0.3, 1.0)}
    best = min(grid, key=grid.get)
    known, held = set(train), set(heldout)

    def sampled(temperature):
        rng = random.Random(args.seed)
        samples = []
        for _ in range(args.samples):
            word, previous = "", start
            while len(word) < 64:
                weights = [probability(previous, c, best) ** (1 / temperature) for c in symbols]
                c = rng.choices(symbols, weights)[0]
                if c == end:
                    break
                word += c
                previous = c
            samples.append(word)
        return {
            "distinct_share": len(set(samples)) / len(samples),
            "in_train_share": sum(s in known for s in samples) / len(samples),
            "in_held_out_share": sum(s in held for s in samples) / len(samples),
            "in_held_out_share_3plus": sum(s in held and len(s) >= 3 for s in samples) / len(samples),
            "examples": samples[:12],
        }

    print(json.dumps({
        "bits_per_character": {str(a): round(b, 4) for a, b in grid.items()},
        "best_alpha": best,
        "best_bits_per_character": round(grid[best], 4),
        "samples": args.samples,
        "temperature": {t: sampled(float(t)) for t in args.temperatures.split(",")},
    }, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
