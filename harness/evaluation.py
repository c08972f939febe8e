"""The evaluation after each epoch, as the course pipeline makes it: the training loss and accuracy,
and the validation accuracy, with dropout off.

Where a run has a second CPU, each epoch is evaluated there while the next one trains: by a process
forked when training starts, which has the data already and gets a copy of the model each epoch.
Evaluating draws no random numbers, so the figures are those of evaluating in line, bit for bit,
only reported one epoch later. The last epoch, which nothing trains beside, is evaluated in line.
"""
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time

import numpy as np

from harness import blas_runs_one_thread

# scripts/run_all.sh -j N runs N drivers at once and says so here: each then counts on
# os.cpu_count() / N CPUs.
RUNS_AT_ONCE = 'DNN_RUNS_AT_ONCE'


def evaluate(network, model, X, Y):
    """Mean loss and accuracy of the model on X (N, ...) and labels Y (N, 1), dropout off, in
    batches of network.eval_batch samples (the losses added in batch order)."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), network.eval_batch):
        x, y = X[start:start + network.eval_batch], Y[start:start + network.eval_batch]
        scores, _ = network.forward(model, x, False)
        total_loss += model['loss'].forward(scores, y) * len(x)
        correct += int(np.sum(np.argmax(scores, axis=1) == y[:, 0]))
    return total_loss / len(X), correct / len(X)


def has_second_cpu():
    """Whether this run has a CPU of its own beside training's (all the CPUs, shared among the runs
    of run_all.sh -j N), and BLAS runs one thread, which a busy process beside it does not slow down."""
    runs = os.environ.get(RUNS_AT_ONCE, '1')
    cpus = (os.cpu_count() or 1) // (int(runs) if runs.isdigit() and int(runs) > 0 else 1)
    return cpus >= 2 and blas_runs_one_thread()


def draws_nothing(network, model, x):
    """Whether a test-time forward pass on x leaves NumPy's generator as it was (it is put back).
    The course's pipeline evaluates in line: draws there would come from training's own stream."""
    state = np.random.get_state()
    network.forward(model, x, False)
    after = np.random.get_state()
    np.random.set_state(state)
    return np.array_equal(state[1], after[1]) and state[2:] == after[2:]


class EpochEvaluation:
    """What the course's drivers print after each epoch, measured at once or in the background.
    A context manager: leaving it ends the evaluation process, if any."""

    def __init__(self, network, model, data, minibatch_size, background=True):
        B = minibatch_size
        (X, Y), (X_valid, Y_valid) = data['train'], data['valid']
        self.train_split = X[:len(X) // B * B], Y[:len(X) // B * B]
        self.valid_split = X_valid[:len(X_valid) // B * B], Y_valid[:len(X_valid) // B * B]
        self.network = network
        self._pool = self._running = None
        # Fork only where nothing else runs in this process: a fork copies no other thread's held locks.
        if (background and has_second_cpu() and sys.platform.startswith('linux') and threading.active_count() == 1
                and draws_nothing(network, model, X_valid[:B])):
            try:
                self._pool = multiprocessing.get_context('fork').Pool(1, initializer=_worker_starts, initargs=(self,))
            except OSError:  # no process to be had (no memory, too many processes, a limit on files): in line
                pass

    def measure(self, model, errors=None):
        """(training loss, training accuracy, validation accuracy, seconds it took)."""
        start = time.perf_counter()
        with np.errstate(**(errors or np.geterr())):  # the caller's floating-point error handling
            train_loss, train_acc = evaluate(self.network, model, *self.train_split)
            _, val_acc = evaluate(self.network, model, *self.valid_split)
        return train_loss, train_acc, val_acc, time.perf_counter() - start

    def after_epoch(self, epoch, model, last=False):
        """Evaluate the model as `epoch` left it (`last`: nothing trains after it). Returns what
        finished, [(epoch, measure's figures)]: this epoch's at once, or in the background the
        previous epoch's, if any, and with `last` this epoch's too."""
        finished = self._finish()
        if self._pool is None or last:
            return finished + [(epoch, self.measure(model))]
        try:
            copy = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # modules that cannot be sent to the process: evaluate in line from now on
            self.close()
            return finished + [(epoch, self.measure(model))]
        self._running = epoch, self._pool.apply_async(_measure_copy, (copy, np.geterr()))
        return finished

    def _finish(self):
        """Wait for the evaluation still running, and return it as after_epoch does."""
        if self._running is None:
            return []
        (epoch, result), self._running = self._running, None
        return [(epoch, result.get())]

    def close(self):
        if self._pool is not None:
            self._pool.terminate()  # at once, even in the middle of an evaluation (after Ctrl-C)
            self._pool.join()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()


_evaluation = None  # in the evaluation process: the EpochEvaluation it was forked with


def _worker_starts(evaluation):
    global _evaluation
    _evaluation = evaluation
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _measure_copy(copy, errors):
    try:
        return _evaluation.measure(pickle.loads(copy), errors)
    except Exception as error:  # sent back as text: a student's error may not unpickle in the parent
        raise RuntimeError(f'{type(error).__name__}: {error}') from error
