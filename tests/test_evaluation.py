"""Each epoch's evaluation, in line or in the background process: the same figures, errors that reach
the caller, and no process left behind."""
import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO, endless_run, generator_state
from dnn_cnn import CNN
from dnn_cnn_2 import CNN2
from dnn_mlp import MLP
from harness import evaluation, training
from test_drivers import run_args

linux_only = pytest.mark.skipif(not sys.platform.startswith('linux'),
                                reason='the evaluation process is forked, on Linux only: elsewhere it runs in line')


@pytest.fixture
def second_cpu(monkeypatch):
    """Runs may (True) or may not (False) evaluate in the background, whatever this machine has."""
    def set_to(value):
        monkeypatch.setattr(evaluation, 'has_second_cpu', lambda: value)
    return set_to


def small_split(data, n_train=200, n_valid=50):
    return {'train': tuple(a[:n_train] for a in data['train']), 'valid': tuple(a[:n_valid] for a in data['valid'])}


@linux_only
@pytest.mark.parametrize('network, kind', [(CNN2, 'images'), (MLP, 'vectors')])
@pytest.mark.slow
def test_evaluating_in_the_background_gives_the_same_record_and_log(request, second_cpu, network, kind):
    data = small_split(request.getfixturevalue(kind))
    runs = {}
    for background in (False, True):
        second_cpu(background)
        lines = []
        record, model = training.train(network, run_args(network, num_epoch=3, alpha=0.9), data, log=lines.append)
        progress = [line for line in lines if line.startswith('(')]
        assert ('alongside the next epoch' in progress[0]) == background and 'alongside' not in progress[-1]
        runs[background] = record, [line for line in lines if not line.startswith('(')], model['L1'].params['W']
    assert runs[True][0] == runs[False][0] and runs[True][1] == runs[False][1]
    assert np.array_equal(runs[True][2], runs[False][2])


class TwoArgumentError(Exception):
    """An error that pickles but does not unpickle (its __init__ takes two arguments), as a student's might."""

    def __init__(self, what, where):
        super().__init__(f'{what} in {where}')


@linux_only
def test_an_error_while_evaluating_in_the_background_reaches_the_caller_and_says_what_it_was(images, monkeypatch,
                                                                                            second_cpu):
    second_cpu(True)

    def failing(*_):
        raise TwoArgumentError('a wrong shape', 'forward')

    monkeypatch.setattr(evaluation, 'evaluate', failing)
    with pytest.raises(RuntimeError, match='TwoArgumentError: a wrong shape in forward') as error:
        training.train(CNN, run_args(CNN, num_epoch=2), small_split(images), log=lambda *_: None)
    assert 'failing' in str(error.value.__cause__)  # the process's traceback


class Unpicklable:
    """A module that cannot be sent to the evaluation process."""

    def __reduce__(self):
        raise TypeError('cannot pickle this module')

    def forward(self, X):
        return X

    def backward(self, X, grad):
        return grad


@linux_only
def test_a_model_that_cannot_be_sent_to_the_process_is_evaluated_in_line(images, second_cpu):
    build_model, forward = CNN.build_model, CNN.forward
    network = dataclasses.replace(CNN, build_model=lambda rate: {'odd': Unpicklable(), **build_model(rate)},
                                  forward=lambda model, x, is_train: forward(model, model['odd'].forward(x), is_train))
    data = small_split(images, 50, 20)
    records = {}
    for background in (False, True):
        second_cpu(background)
        records[background], _ = training.train(network, run_args(network, num_epoch=3), data, log=lambda *_: None)
    assert records[True] == records[False]


def test_no_background_evaluation_when_a_test_time_forward_draws(images):
    # A student's dropout that draws at test time: in line, its draws come from training's stream,
    # which a process of its own cannot follow. The probe leaves the generator as it was.
    x = images['valid'][0][:5]
    model = CNN.build_model(0.5)
    assert evaluation.draws_nothing(CNN, model, x)
    drawing = dataclasses.replace(CNN, forward=lambda model, x, is_train: (np.random.rand(len(x), 10), ()))
    before = generator_state()
    assert not evaluation.draws_nothing(drawing, model, x)
    assert generator_state() == before


@pytest.mark.parametrize('cpus, runs, one_thread, expected', [
    (2, None, True, True), (2, '2', True, False), (8, '2', True, True), (8, '4', True, True), (8, '5', True, False),
    (4, 'x', True, True), (4, '0', True, True), (1, None, True, False), (2, None, False, False)])
def test_a_run_evaluates_beside_training_with_a_cpu_of_its_own_and_one_blas_thread(monkeypatch, cpus, runs,
                                                                                  one_thread, expected):
    monkeypatch.setattr(evaluation.os, 'cpu_count', lambda: cpus)
    monkeypatch.setattr(evaluation, 'blas_runs_one_thread', lambda: one_thread)
    if runs is None:
        monkeypatch.delenv(evaluation.RUNS_AT_ONCE, raising=False)
    else:
        monkeypatch.setenv(evaluation.RUNS_AT_ONCE, runs)
    assert evaluation.has_second_cpu() == expected


@pytest.mark.parametrize('driver, one_thread', [('dnn_mlp.py', 'False'), ('dnn_mlp_nononlinear.py', 'False'),
                                                ('dnn_cnn.py', 'True'), ('dnn_cnn_2.py', 'True')])
def test_the_cnn_drivers_ask_for_one_blas_thread_before_numpy_loads_and_the_mlps_for_none(driver, one_thread):
    # harness/__init__.py sets it, as the drivers import the harness before dnn_misc imports NumPy.
    env = {key: value for key, value in os.environ.items() if not key.endswith('_NUM_THREADS')}
    code = f"import runpy, sys; sys.argv = ['{driver}', '--help']; runpy.run_path('{driver}', run_name='x'); " \
           "import harness; print(harness.blas_runs_one_thread(), sorted(harness.ASKED))"
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split()[0] == one_thread, result.stderr
    assert ('OPENBLAS_NUM_THREADS' in result.stdout) == (one_thread == 'True')


@pytest.mark.parametrize('chosen', [None, '3'])
def test_the_question_scripts_let_an_mlp_driver_choose_its_threads_unless_the_user_chose(chosen):
    # python3 -m harness.run_driver imports the harness, which asks for one thread, before it runs the driver.
    env = {key: value for key, value in os.environ.items() if not key.endswith('_NUM_THREADS')}
    env.update({} if chosen is None else {'OPENBLAS_NUM_THREADS': chosen})
    code = ("import os, sys; sys.argv = ['-m']; import harness.run_driver as run; "
            "os.execv = lambda *command: print(os.environ.get('OPENBLAS_NUM_THREADS')); "
            "run.subprocess.call = os.execv; run.main(['dnn_mlp.py', '--help'])")
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split()[-1] == str(chosen), result.stderr


@linux_only
def test_a_driver_evaluates_in_a_process_that_ends_with_it(tmp_path, small_data):
    """With two CPUs a driver forks one evaluation process; killed outright (no clean-up of its
    own), the driver leaves it to notice and end within seconds."""
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
