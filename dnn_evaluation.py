"""The evaluation after each epoch, as the course pipeline makes it, and how it can run in the
background: on the second CPU, on a copy of the model, while the next epoch trains.
"""
import copy
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import blas_threads


def batch_results(network, model, X, Y):
    """(loss * samples, correct predictions) of each batch of network.eval_batch samples of X
    (N, ...) with labels Y (N, 1), in order, dropout off."""
    B = network.eval_batch
    results = []
    for start in range(0, len(X), B):
        x, y = X[start:start + B], Y[start:start + B]
        scores, _ = network.forward(model, x, False)
        results.append((model['loss'].forward(scores, y) * len(x), int(np.sum(np.argmax(scores, axis=1) == y[:, 0]))))
    return results


def summary(results, samples):
    """Mean loss and accuracy over `samples` from batch_results, the losses added in batch order."""
    total_loss, correct = 0.0, 0
    for loss, right in results:
        total_loss += loss
        correct += right
    return total_loss / samples, correct / samples


def evaluate(network, model, X, Y):
    """Mean loss and accuracy of the model on X (N, ...) and labels Y (N, 1), dropout off."""
    return summary(batch_results(network, model, X, Y), len(X))


# scripts/run_all.sh -j N runs N drivers at once and says so here; each then counts on
# os.cpu_count() / N CPUs.
RUNS_AT_ONCE = 'DNN_RUNS_AT_ONCE'


def cpus_of_this_run():
    """The CPUs this run may count on: all of them, shared among the runs of run_all.sh -j N."""
    runs = os.environ.get(RUNS_AT_ONCE, '1')
    return (os.cpu_count() or 1) // (int(runs) if runs.isdigit() and int(runs) > 0 else 1)


def evaluates_in_background(network, model, x):
    """Whether train() can evaluate each epoch in a second thread, on a copy of the model, while the
    next epoch trains: when a second CPU is free for it, BLAS runs one thread (blas_threads.py),
    and evaluating draws no random numbers, which would interleave with training's own draws
    (a test-time forward on x tells; the generator's state is put back)."""
    if cpus_of_this_run() < 2 or not blas_threads.is_one():
        return False
    state = np.random.get_state()
    network.forward(model, x, False)
    after = np.random.get_state()
    np.random.set_state(state)
    return np.array_equal(state[1], after[1]) and state[2:] == after[2:]


class EpochEvaluation:
    """What the course pipeline measures after each epoch: the training loss and accuracy, and the
    validation accuracy, with dropout off. Runs at once, or with `background` in a worker thread,
    on a copy of the model, while the main thread trains the next epoch; then the last epoch,
    which nothing trains beside, is evaluated in both threads at once, each on half the batches."""

    def __init__(self, network, train_split, valid_split, background):
        self.network, self.train_split, self.valid_split = network, train_split, valid_split
        self._worker = ThreadPoolExecutor(max_workers=1) if background else None
        self._running = None

    def _measure(self, model, errors):
        start = time.perf_counter()
        with np.errstate(**errors):  # the caller's floating-point error handling, in this thread too
            train_loss, train_acc = evaluate(self.network, model, *self.train_split)
            _, val_acc = evaluate(self.network, model, *self.valid_split)
        return train_loss, train_acc, val_acc, time.perf_counter() - start

    def _measure_in_halves(self, model, errors):
        """_measure's figures, bit for bit, from both threads: this one takes the first training
        batches, the worker (on a copy of the model) the other ones and the validation split."""
        start = time.perf_counter()
        (X, Y), (X_valid, Y_valid) = self.train_split, self.valid_split
        B = self.network.eval_batch
        batches = -(-len(X) // B), -(-len(X_valid) // B)
        split = min(batches[0], sum(batches) // 2) * B

        def rest(copy_of_model):
            with np.errstate(**errors):
                return (batch_results(self.network, copy_of_model, X[split:], Y[split:]),
                        batch_results(self.network, copy_of_model, X_valid, Y_valid))

        others = self._worker.submit(rest, copy.deepcopy(model))
        with np.errstate(**errors):
            first = batch_results(self.network, model, X[:split], Y[:split])
        second, valid = others.result()
        train_loss, train_acc = summary(first + second, len(X))
        return train_loss, train_acc, summary(valid, len(X_valid))[1], time.perf_counter() - start

    def after_epoch(self, epoch, model, last=False):
        """Evaluate the model as `epoch` left it (`last`: and nothing trains after it). Returns
        what finished: [(epoch, (train_loss, train_acc, val_acc, seconds))] at once, or in the
        background the previous epoch's, if any, and with `last` this epoch's too: after the last
        epoch nothing is left running."""
        if self._worker is None:
            return [(epoch, self._measure(model, np.geterr()))]
        finished = self._finish()
        if last:
            return finished + [(epoch, self._measure_in_halves(model, np.geterr()))]
        self._running = epoch, self._worker.submit(self._measure, copy.deepcopy(model), np.geterr())
        return finished

    def _finish(self):
        """Wait for the evaluation still running, and return it as after_epoch does."""
        if self._running is None:
            return []
        (epoch, future), self._running = self._running, None
        return [(epoch, future.result())]

    def close(self):
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
