"""The evaluation after each epoch, as the course pipeline makes it, and how it can run in the
background: on the second CPU, on a copy of the model, while the next epoch trains. The worker is a
forked process on Linux and a thread elsewhere; both give the in-line figures bit for bit.
"""
import copy
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
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


def has_second_cpu():
    """Whether this run can put work on a second CPU: it has one, and BLAS runs one thread
    (blas_threads.py), which a busy thread beside it does not slow to a crawl."""
    return cpus_of_this_run() >= 2 and blas_threads.is_one()


def evaluates_in_background(network, model, x):
    """Whether train() can evaluate each epoch in the background, on a copy of the model, while the
    next epoch trains: when it has a second CPU, and evaluating draws no random numbers: the course
    pipeline, evaluating in line, would take them from training's own stream, and a worker cannot
    (a test-time forward on x tells; the generator's state is put back)."""
    if not has_second_cpu():
        return False
    state = np.random.get_state()
    network.forward(model, x, False)
    after = np.random.get_state()
    np.random.set_state(state)
    return np.array_equal(state[1], after[1]) and state[2:] == after[2:]


class EpochEvaluation:
    """What the course pipeline measures after each epoch: the training loss and accuracy, and the
    validation accuracy, with dropout off. Runs at once, or with `background` in a worker (see
    _worker), on a copy of the model, while this thread trains the next epoch; then the last epoch,
    which nothing trains beside, is evaluated here and in the worker at once, each on half the batches."""

    def __init__(self, network, train_split, valid_split, background):
        self.network, self.train_split, self.valid_split = network, train_split, valid_split
        self._worker = _worker(self) if background else None
        self._running = None

    def _submit(self, job, model, *args):
        """Start self.job(copy of model, *args) in the worker; returns what its `result()` waits for."""
        if isinstance(self._worker, _Process):
            try:
                return self._worker.submit(job, model, *args)
            except _Unpicklable:  # a module the process cannot be sent: a thread needs no pickling
                self._worker.close()
                self._worker = ThreadPoolExecutor(max_workers=1)
        return self._worker.submit(getattr(self, job), copy.deepcopy(model), *args)

    def _measure(self, model, errors):
        start = time.perf_counter()
        with np.errstate(**errors):  # the caller's floating-point error handling, in the worker too
            train_loss, train_acc = evaluate(self.network, model, *self.train_split)
            _, val_acc = evaluate(self.network, model, *self.valid_split)
        return train_loss, train_acc, val_acc, time.perf_counter() - start

    def _measure_in_halves(self, model, errors):
        """_measure's figures, bit for bit, from two CPUs: this thread takes the first training
        batches, the worker (on a copy of the model) the other ones and the validation split."""
        start = time.perf_counter()
        (X, Y), (X_valid, _) = self.train_split, self.valid_split
        B = self.network.eval_batch
        batches = -(-len(X) // B), -(-len(X_valid) // B)
        split = min(batches[0], sum(batches) // 2) * B

        others = self._submit('_second_half', model, split, errors)
        with np.errstate(**errors):
            first = batch_results(self.network, model, X[:split], Y[:split])
        second, valid = others.result()
        train_loss, train_acc = summary(first + second, len(X))
        return train_loss, train_acc, summary(valid, len(X_valid))[1], time.perf_counter() - start

    def _second_half(self, model, split, errors):
        """The worker's part of _measure_in_halves: the training batches from `split` on, and the validation split."""
        (X, Y), (X_valid, Y_valid) = self.train_split, self.valid_split
        with np.errstate(**errors):
            return (batch_results(self.network, model, X[split:], Y[split:]),
                    batch_results(self.network, model, X_valid, Y_valid))

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
        self._running = epoch, self._submit('_measure', model, np.geterr())
        return finished

    def busy(self):
        """Whether the worker is still evaluating an epoch in the background."""
        return self._running is not None and not self._running[1].done()

    def competes(self):
        """Whether the worker is evaluating at about training's own priority, so that one more
        thread of training would slow both down: a thread worker, while busy, or a process that
        could not be niced far enough below training (_Process.gives_way)."""
        # Asked before every side-thread job: a process that gives way is never asked about its pipe.
        return not (isinstance(self._worker, _Process) and self._worker.gives_way) and self.busy()

    def _finish(self):
        """Wait for the evaluation still running, and return it as after_epoch does."""
        if self._running is None:
            return []
        (epoch, future), self._running = self._running, None
        return [(epoch, future.result())]

    def close(self):
        if isinstance(self._worker, _Process):
            self._worker.close()
        elif self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)


def _worker(evaluation):
    """A forked process where Linux has fork and nothing else runs in this process yet (a fork then
    copies no other thread's half-held lock); a thread elsewhere. In a thread, every NumPy call of
    the evaluation and of training hands Python's global lock over: while it evaluates, training
    runs about a fifth slower, against a twentieth beside a process (README, "Performance")."""
    if sys.platform.startswith('linux') and threading.active_count() == 1:
        try:
            return _Process(evaluation)
        except (OSError, AssertionError):  # no fork to be had (no memory, too many processes; a daemonic process)
            pass
    return ThreadPoolExecutor(max_workers=1)


class _Unpicklable(Exception):
    """The model cannot be sent to the worker process."""


# How much lower than training's the evaluation process's priority is (os.nice), and how far below
# it must be at least for training's side thread (side_thread.py) to run beside an evaluation: a
# Q3.10 step took 0.914 of its time in line beside a process evaluating without pause at niceness
# 19, 0.916 at 10, against 1.020 at 5 and 1.025 at 0, where the two share the CPU (`python3
# bench/side.py q310 --evaluating N`). In line, training was as fast beside either. The evaluation
# still ends well within the next epoch; where other programs keep the CPU busy, it gets less of
# it, and training waits for it at the epoch's end, as it would evaluating in line.
NICENESS, GIVES_WAY_AT = 19, 10


class _Process:
    """A forked copy of this process that runs an EpochEvaluation's jobs, one at a time: submit()
    sends one, with the model, and returns at once; result() waits for its answer and returns it,
    or raises its error. The process has the data already, forked with it; it ends with close(),
    or when this process ends (it then reads the end of the pipe)."""

    def __init__(self, evaluation):
        context = multiprocessing.get_context('fork')
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(evaluation, theirs, self._connection), daemon=True)
        self._process.start()
        theirs.close()
        self._busy = False
        ours = os.getpriority(os.PRIO_PROCESS, 0)  # the process's, once niced: at most 19
        self.gives_way = min(19, ours + NICENESS) - ours >= GIVES_WAY_AT

    def submit(self, job, model, *args):
        try:
            message = pickle.dumps((job, model, args), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            raise _Unpicklable from error
        self._connection.send_bytes(message)
        self._busy = True
        return self

    def done(self):
        """Whether the job submitted last has answered, or none is waiting."""
        return not self._busy or self._connection.poll()

    def result(self):
        try:
            ok, value, trace = self._connection.recv()
        except EOFError:
            raise RuntimeError('the evaluation process ended unexpectedly') from None
        self._busy = False
        if ok:
            return value
        value.__cause__ = _RemoteTraceback(trace)
        raise value

    def close(self):
        """End the process: at once if it is still evaluating (after Ctrl-C), else as it reads the pipe's end."""
        if self._busy:
            self._process.terminate()
        self._connection.close()
        self._process.join()


class _RemoteTraceback(Exception):
    """Where an error in the evaluation process came from: its traceback, shown as the cause."""

    def __str__(self):
        return '\n' + self.args[0]


def _serve(evaluation, connection, parents_end):
    """The evaluation process: run each job received, send back (ok, value or error, traceback)."""
    parents_end.close()  # forked with us: while we hold it, we would never read the pipe's end
    os.nice(NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            message = connection.recv_bytes()
        except EOFError:  # the parent closed its end, or ended
            return
        try:
            job, model, args = pickle.loads(message)
            reply = True, getattr(evaluation, job)(model, *args), None
        except Exception as error:
            try:
                pickle.loads(pickle.dumps(error))
            except Exception:  # an error that would not arrive whole: send what it says
                error = RuntimeError(f'{type(error).__name__}: {error}')
            reply = False, error, traceback.format_exc()
        connection.send(reply)
