"""Microseconds per sample of a question's evaluation, at several batch sizes, alternating.

    python3 bench/eval_batches.py q310 --batches 5,10,20,40 --repeat 7

`evaluation.evaluate` over the first 1000 training samples with the
model as the question builds it, once per batch size in each repeat, so that
all sizes see the same stretch of a noisy machine. Prints the median of each;
a driver's `eval_batch` is the fastest of them.
"""
import argparse
import dataclasses
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from configs import CONFIGS, setup  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('question', choices=[q for q, _, _ in CONFIGS])
    parser.add_argument('--batches', default='5,10,20,40', help='batch sizes, comma-separated (default 5,10,20,40)')
    parser.add_argument('--repeat', type=int, default=7, help='repeats (default 7)')
    args = parser.parse_args()

    network, run = setup(args.question, 1)  # first: a CNN driver chooses the BLAS threads before NumPy loads

    from harness import evaluation
    from harness import training
    from data_loader import load_mnist

    X, Y = load_mnist(as_images=network.as_images)['train']
    X, Y = X[:1000], Y[:1000]
    model, _ = training.new_training(network, run)
    sizes = [int(size) for size in args.batches.split(',')]
    micros = {size: [] for size in sizes}
    for _ in range(args.repeat):
        for size in sizes:
            start = time.perf_counter()
            evaluation.evaluate(dataclasses.replace(network, eval_batch=size), model, X, Y)
            micros[size].append((time.perf_counter() - start) / len(X) * 1e6)
    print(f'{args.question}, us per sample (eval_batch {network.eval_batch}): '
          + ', '.join(f'{size}: {statistics.median(values):.1f}' for size, values in micros.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
