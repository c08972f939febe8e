"""Each epoch's evaluation, in line or in the background: the same figures, errors that reach the
caller, and no worker left behind."""
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import dnn_evaluation
import dnn_training
from conftest import endless_run, generator_state
from dnn_cnn import CNN
from dnn_cnn_2 import CNN2
from test_drivers import run_args


def forked_alone(evaluation):
    """The process worker, forked once the thread workers of earlier tests have ended, as the drivers fork
    only when no other thread runs (a fork copies no half-held lock then)."""
    deadline = time.time() + 10
    while threading.active_count() > 1 and time.time() < deadline:
        time.sleep(0.01)
    return dnn_evaluation._Process(evaluation)


# The background worker: a forked process on Linux (when nothing else runs in this process), a thread elsewhere.
WORKERS = {'process': forked_alone, 'thread': lambda _: ThreadPoolExecutor(max_workers=1)}
LINUX = sys.platform.startswith('linux')
linux_only = pytest.mark.skipif(not LINUX, reason='the evaluation process is Linux only: elsewhere a thread evaluates')


@pytest.fixture(params=[pytest.param('process', marks=linux_only), 'thread'])
def worker(request, monkeypatch):
    """Each test that takes it runs with each kind of background worker."""
    monkeypatch.setattr(dnn_evaluation, '_worker', WORKERS[request.param])
    return request.param


def small_split(images, n_train=200, n_valid=50):
    return {'train': tuple(a[:n_train] for a in images['train']), 'valid': tuple(a[:n_valid] for a in images['valid'])}


def test_evaluating_in_the_background_gives_the_same_record_and_log(images, monkeypatch, worker):
    data = small_split(images)
    runs = {}
    for background in (False, True):
        monkeypatch.setattr(dnn_training, 'evaluates_in_background', lambda *_: background)
        lines = []
        record, model = dnn_training.train(CNN2, run_args(CNN2, num_epoch=3, alpha=0.9), data, log=lines.append)
        runs[background] = record, [line for line in lines if not line.startswith('(')], model['L1'].params['W']
    assert runs[True][0] == runs[False][0] and runs[True][1] == runs[False][1]
    assert np.array_equal(runs[True][2], runs[False][2])


@pytest.mark.parametrize('n_train, n_valid, batch', [(200, 50, 20), (35, 7, 5), (20, 100, 20), (5, 5, 5)])
def test_the_last_evaluation_in_two_halves_gives_the_same_figures(images, worker, n_train, n_valid, batch):
    # The first training batches here, the rest and the validation split in the worker:
    # the losses must still add up in batch order.
    network = dataclasses.replace(CNN2, eval_batch=batch)
    data = small_split(images, n_train, n_valid)
    np.random.seed(0)
    model = network.build_model(0.5)
    evaluation = dnn_evaluation.EpochEvaluation(network, data['train'], data['valid'], background=True)
    try:
        halves = evaluation._measure_in_halves(model, np.geterr())
    finally:
        evaluation.close()
    loss, accuracy = dnn_evaluation.evaluate(network, model, *data['train'])
    assert halves[:3] == (loss, accuracy, dnn_evaluation.evaluate(network, model, *data['valid'])[1])


def test_an_error_while_evaluating_in_the_background_reaches_the_caller(images, monkeypatch, worker):
    monkeypatch.setattr(dnn_training, 'evaluates_in_background', lambda *_: True)

    def failing(*_):
        raise RuntimeError('evaluation failed')

    monkeypatch.setattr(dnn_evaluation, 'evaluate', failing)
    with pytest.raises(RuntimeError, match='evaluation failed') as raised:
        dnn_training.train(CNN, run_args(CNN, num_epoch=2), small_split(images), log=lambda *_: None)
    if worker == 'process':  # the worker's own traceback comes along, as the error's cause
        assert 'in failing' in str(raised.value.__cause__)


def slow_evaluation(monkeypatch):
    """Each evaluation takes 0.3 s longer. Before the worker starts: a process forks with it."""
    evaluate = dnn_evaluation.evaluate

    def slow(*args):
        time.sleep(0.3)
        return evaluate(*args)

    monkeypatch.setattr(dnn_evaluation, 'evaluate', slow)


def test_the_evaluation_tells_while_its_worker_is_busy(images, monkeypatch, worker):
    slow_evaluation(monkeypatch)
    data = small_split(images, 20, 20)
    evaluation = dnn_evaluation.EpochEvaluation(CNN2, data['train'], data['valid'], background=True)
    try:
        assert not evaluation.busy() and not evaluation.competes()
        evaluation.after_epoch(0, CNN2.build_model(0.5))
        assert evaluation.busy()
        # A thread shares training's priority; the process runs niced, out of training's way.
        assert evaluation.competes() == (worker == 'thread')
        deadline = time.time() + 30
        while evaluation.busy() and time.time() < deadline:
            time.sleep(0.01)
        assert not evaluation.busy() and not evaluation.competes()  # done, though nobody has collected its figures yet
        assert evaluation._finish()[0][0] == 0
    finally:
        evaluation.close()


@linux_only
def test_an_evaluation_process_that_cannot_be_niced_enough_competes(images, monkeypatch):
    # Started from a run niced by 15 already, the process gets to 19 at most: too close to give way.
    slow_evaluation(monkeypatch)
    monkeypatch.setattr(dnn_evaluation, '_worker', forked_alone)
    monkeypatch.setattr(dnn_evaluation.os, 'getpriority', lambda *_: 15)
    data = small_split(images, 20, 20)
    evaluation = dnn_evaluation.EpochEvaluation(CNN, data['train'], data['valid'], background=True)
    try:
        assert not evaluation._worker.gives_way
        evaluation.after_epoch(0, CNN.build_model(0.5))
        assert evaluation.competes()
        assert evaluation._finish()[0][0] == 0 and not evaluation.competes()
    finally:
        evaluation.close()


@linux_only
def test_the_evaluation_process_runs_niced(images, monkeypatch):
    monkeypatch.setattr(dnn_evaluation, '_worker', forked_alone)
    data = small_split(images, 20, 20)
    evaluation = dnn_evaluation.EpochEvaluation(CNN, data['train'], data['valid'], background=True)
    try:
        evaluation.after_epoch(0, CNN.build_model(0.5))
        assert evaluation._finish()[0][0] == 0  # so the process has niced itself: before it read the job
        ours, theirs = os.getpriority(os.PRIO_PROCESS, 0), os.getpriority(os.PRIO_PROCESS, evaluation._worker._process.pid)
        assert theirs == min(19, ours + dnn_evaluation.NICENESS) and (theirs > ours or ours == 19)
    finally:
        evaluation.close()


class Unpicklable:
    """A module holding something pickle cannot send (a lambda), as a student's module might."""

    def __init__(self):
        self.activation = lambda X: X

    def forward(self, X, is_train=False):
        return self.activation(X)

    def backward(self, X, grad):
        return grad


@linux_only
def test_a_model_that_cannot_be_sent_to_the_process_is_evaluated_in_a_thread(images, monkeypatch):
    monkeypatch.setattr(dnn_evaluation, '_worker', WORKERS['process'])
    build_model, forward = CNN.build_model, CNN.forward

    def build_with_unpicklable(rate):
        return {'odd': Unpicklable(), **build_model(rate)}

    def forward_through_it(model, x, is_train, side=None):
        return forward(model, model['odd'].forward(x), is_train)

    network = dataclasses.replace(CNN, build_model=build_with_unpicklable, forward=forward_through_it)
    data = small_split(images, 50, 20)
    records = {}
    for background in (False, True):
        monkeypatch.setattr(dnn_training, 'evaluates_in_background', lambda *_: background)
        records[background], _ = dnn_training.train(network, run_args(network, num_epoch=3), data, log=lambda *_: None)
    assert records[True] == records[False]


def test_no_background_evaluation_when_a_test_time_forward_draws(images, monkeypatch):
    # A student's dropout that draws at test time: evaluation would then draw in another thread
    # while training draws too, and no two runs would agree. The probe leaves the generator as it was.
    monkeypatch.setattr(dnn_evaluation.blas_threads, 'is_one', lambda: True)
    monkeypatch.setattr(dnn_evaluation.os, 'cpu_count', lambda: 2)
    x = images['valid'][0][:5]
    model = CNN.build_model(0.5)
    assert dnn_evaluation.evaluates_in_background(CNN, model, x)
    drawing = dataclasses.replace(CNN, forward=lambda model, x, is_train: (np.random.rand(len(x), 10), ()))
    before = generator_state()
    assert not dnn_evaluation.evaluates_in_background(drawing, model, x)
    assert generator_state() == before
    monkeypatch.setattr(dnn_evaluation.os, 'cpu_count', lambda: 1)
    assert not dnn_evaluation.evaluates_in_background(CNN, model, x)


@pytest.mark.parametrize('cpus, runs, expected', [(2, None, 2), (2, '2', 1), (8, '2', 4), (8, '3', 2), (4, 'x', 4),
                                                  (4, '0', 4)])
def test_the_cpus_of_a_run_are_shared_among_the_runs_at_once(monkeypatch, cpus, runs, expected):
    monkeypatch.setattr(dnn_evaluation.os, 'cpu_count', lambda: cpus)
    if runs is None:
        monkeypatch.delenv(dnn_evaluation.RUNS_AT_ONCE, raising=False)
    else:
        monkeypatch.setenv(dnn_evaluation.RUNS_AT_ONCE, runs)
    assert dnn_evaluation.cpus_of_this_run() == expected


@linux_only
def test_a_driver_evaluates_in_a_process_that_ends_with_it(tmp_path, small_data):
    """On Linux with two CPUs a CNN driver forks one evaluation process; killed outright (no
    clean-up of its own), the driver leaves it to notice and end within seconds."""
    if os.cpu_count() < 2:
        pytest.skip('one CPU: no background evaluation')
    with endless_run('dnn_cnn.py', small_data, tmp_path, stderr=subprocess.DEVNULL) as driver:
        with open(f'/proc/{driver.pid}/task/{driver.pid}/children') as f:
            children = [int(pid) for pid in f.read().split()]
        assert len(children) == 1
        driver.send_signal(signal.SIGKILL)
    deadline = time.time() + 30
    while running(children[0]) and time.time() < deadline:
        time.sleep(0.1)
    assert not running(children[0])


def running(pid):
    """Whether process `pid` exists and has not ended (a zombie has ended; nobody may be reaping it)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


class TwoArgumentError(Exception):
    """An error that pickles but does not unpickle (its __init__ takes two arguments), as a student's might."""

    def __init__(self, what, where):
        super().__init__(f'{what} in {where}')


@linux_only
def test_an_error_that_cannot_be_sent_back_still_says_what_it_was(images, monkeypatch):
    monkeypatch.setattr(dnn_evaluation, '_worker', WORKERS['process'])
    monkeypatch.setattr(dnn_training, 'evaluates_in_background', lambda *_: True)

    def failing(*_):
        raise TwoArgumentError('a wrong shape', 'forward')

    monkeypatch.setattr(dnn_evaluation, 'evaluate', failing)
    with pytest.raises(RuntimeError, match='TwoArgumentError: a wrong shape in forward'):
        dnn_training.train(CNN, run_args(CNN, num_epoch=2), small_split(images), log=lambda *_: None)
