"""Training seconds per epoch beside each kind of background evaluation worker, a process or a thread.

    python3 bench/workers.py q310 --epochs 13

One run of the driver's real training (`dnn_training.train`), where the
worker that evaluates each epoch alternates from one epoch to the next: the
epoch after it trains beside that kind. So both kinds see the same stretch of
a noisy machine, epoch by epoch. Prints each kind's training seconds per epoch
and their median (the first epoch, with nothing beside it, counts for neither),
and the median ratio of each epoch beside the process to the next, beside the thread.
Linux only: elsewhere the worker is always a thread.
"""
import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from configs import CONFIGS, setup  # noqa: E402

KINDS = ('process', 'thread')


def alternating(dnn_evaluation, seconds):
    """An EpochEvaluation look-alike whose worker kind alternates, each epoch's training seconds
    added to seconds[kind] of the kind that evaluated beside it."""

    class Alternating:
        def __init__(self, network, train_split, valid_split, background):
            self._evaluations = {}
            for kind in KINDS:  # the process first: fork before any thread runs
                evaluation = dnn_evaluation.EpochEvaluation(network, train_split, valid_split, background=False)
                worker = dnn_evaluation._Process if kind == 'process' else lambda _: ThreadPoolExecutor(max_workers=1)
                evaluation._worker = worker(evaluation)
                self._evaluations[kind] = evaluation
            self._beside, self._since = None, time.perf_counter()

        def after_epoch(self, epoch, model, last=False):
            if self._beside is not None:
                seconds[self._beside].append(time.perf_counter() - self._since)
                finished = self._evaluations[self._beside]._finish()
            else:
                finished = []
            self._beside = KINDS[epoch % 2]
            finished += self._evaluations[self._beside].after_epoch(epoch, model, last)
            self._since = time.perf_counter()
            return finished

        def close(self):
            for evaluation in self._evaluations.values():
                evaluation.close()

    return Alternating


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('question', choices=[q for q, module, _ in CONFIGS if module.startswith('dnn_cnn')])
    parser.add_argument('--epochs', type=int, default=13, help='epochs of the run (default 13: 6 beside each kind)')
    args = parser.parse_args()
    if not sys.platform.startswith('linux'):
        parser.error('the process worker is Linux only')

    network, run = setup(args.question, args.epochs)  # first: a CNN driver chooses the BLAS threads before NumPy loads
    import dnn_evaluation
    import dnn_training
    from data_loader import load_mnist

    seconds = {kind: [] for kind in KINDS}
    dnn_training.EpochEvaluation = alternating(dnn_evaluation, seconds)
    dnn_training.train(network, run, load_mnist(as_images=network.as_images), log=lambda *_: None)
    for kind in KINDS:
        print(f'{args.question}, training beside an evaluating {kind}: median {statistics.median(seconds[kind]):.2f} s'
              f' per epoch ({", ".join(f"{s:.2f}" for s in seconds[kind])})')
    ratios = [a / b for a, b in zip(*(seconds[kind] for kind in KINDS))]  # each epoch and the next
    print(f'{args.question}, process / thread, epochs side by side: median {statistics.median(ratios):.2f}'
          f' ({min(ratios):.2f}-{max(ratios):.2f})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
