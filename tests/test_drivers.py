"""The four drivers: reproducing the committed results, which are the course's (tests/test_outputs.py)."""
import dataclasses
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from conftest import REPO
from dnn_cnn import CNN
from dnn_cnn_2 import CNN2
from dnn_mlp import MLP
from dnn_mlp_nononlinear import LR
from harness import evaluation, sgd, training
from harness.course import BY_QUESTION
from harness.flags import build_parser, result_name

OUTPUTS = os.path.join(REPO, 'outputs')


def committed(name):
    with open(os.path.join(OUTPUTS, name)) as f:
        return json.load(f)


def run_args(network, **flags):
    """The driver's own defaults, for one epoch, with `flags` changed."""
    args = build_parser(network).parse_args(['--num_epoch', '1'])
    vars(args).update(flags)
    return args


def test_q33_script_reproduces_the_committed_start_and_the_courses_first_epoch(tmp_path):
    """Two epochs of scripts/q33.sh give the committed file's first two entries, and the course's epoch 1.

    The script runs under $PYTHON, whatever python3 comes first on the PATH (here one that fails)."""
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'python3').write_text('#!/bin/sh\necho "not the interpreter you chose" >&2\nexit 3\n')
    (fake / 'python3').chmod(0o755)
    env = dict(os.environ, PYTHON=sys.executable, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(['bash', os.path.join(REPO, 'scripts', 'q33.sh'), '--num_epoch', '2',
                             '--output_dir', str(tmp_path)], capture_output=True, text=True, timeout=300,
                            cwd=str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    name = 'MLP_lr0.01_m0.0_w0.0_d0.0.json'
    ours = json.loads((tmp_path / name).read_text())
    assert ours == {key: values[:2] for key, values in committed(name).items()}
    train, val = BY_QUESTION['Q3.3'].epoch1
    assert (ours['train'][0], ours['val'][0]) == (train, val) == (0.919, 0.908)
    for line in ['At epoch 2', f'Training accuracy at epoch 1 is {train}',
                 f'Validation accuracy at epoch 1 is {val}', 'Finish running!']:
        assert line in result.stdout


@pytest.mark.parametrize('network, flags, name', [
    (MLP, {'dropout_rate': 0.5}, 'MLP_lr0.01_m0.0_w0.0_d0.5.json'),
    (MLP, {'dropout_rate': 0.95}, 'MLP_lr0.01_m0.0_w0.0_d0.95.json'),
    (LR, {}, 'LR_lr0.01_m0.0_w0.0_d0.0.json'),
])
@pytest.mark.slow
def test_first_epoch_of_the_linear_runs_is_reproduced(vectors, network, flags, name):
    record, _ = training.train(network, run_args(network, **flags), vectors, log=lambda *_: None)
    assert record == {key: values[:1] for key, values in committed(name).items()}


@pytest.mark.parametrize('network, flags, name', [
    (CNN, {}, 'CNN_lr0.01_m0.0_w0.0_d0.5.json'),
    (CNN, {'alpha': 0.9}, 'CNN_lr0.01_m0.9_w0.0_d0.5.json'),
    (CNN2, {'alpha': 0.9}, 'CNN2_lr0.001_m0.9_w0.0_d0.5.json'),
])
@pytest.mark.slow
def test_first_epoch_of_the_conv_runs_is_reproduced(images, network, flags, name):
    record, _ = training.train(network, run_args(network, **flags), images, log=lambda *_: None)
    assert record == {key: values[:1] for key, values in committed(name).items()}


@pytest.mark.parametrize('network, data_kind', [(MLP, 'vectors'), (CNN2, 'images')])
@pytest.mark.slow
def test_evaluation_batch_size_changes_no_accuracy(request, network, data_kind):
    data = request.getfixturevalue(data_kind)
    subset = {'train': tuple(a[:1000] for a in data['train']), 'valid': data['valid']}
    np.random.seed(2)
    model = network.build_model(0.5)
    optimizer = sgd.SGD(model, network.learning_rate, alpha=0.9)
    X, Y = subset['train']
    for i in range(0, 1000, 5):  # a little training, so that scores are not all alike
        scores, cache = network.forward(model, X[i:i + 5], True)
        network.backward(model, X[i:i + 5], cache, model['loss'].backward(scores, Y[i:i + 5]))
        optimizer.step()
    results = {}
    for batch in [5, 7, network.eval_batch, 1000]:
        batched = dataclasses.replace(network, eval_batch=batch)
        results[batch] = [evaluation.evaluate(batched, model, *subset[split])[1] for split in ('train', 'valid')]
    assert len({tuple(v) for v in results.values()}) == 1, results


@pytest.mark.parametrize('alpha, lambda_', [(0.0, 0.0), (0.9, 0.0), (0.0, 0.01)])
def test_sgd_on_the_rows_under_nonzero_pixels_is_the_dense_update(vectors, alpha, lambda_):
    # With alpha = lambda = 0 only the rows of the first W under the minibatch's nonzero pixels are
    # updated; otherwise every row. Either way the parameters must be exactly those of a dense update.
    X, Y = vectors['train']
    models = []
    for rows_only in (True, False):
        np.random.seed(2)
        model = MLP.build_model(0.0)
        model['L1'].input_is_data = True
        optimizer = sgd.SGD(model, 0.01, alpha=alpha, lambda_=lambda_)
        for i in range(0, 100, 5):
            scores, cache = MLP.forward(model, X[i:i + 5], True)
            MLP.backward(model, X[i:i + 5], cache, model['loss'].backward(scores, Y[i:i + 5]))
            optimizer.step(X[i:i + 5] if rows_only else None)
        models.append(model)
    for name in ('L1', 'L2'):
        for key in ('W', 'b'):
            assert np.array_equal(models[0][name].params[key], models[1][name].params[key]), (name, key)


def test_sgd_with_the_courses_add_momentum_and_a_flat_bias_gradient():
    """The course's add_momentum shapes each velocity as its gradient; a student's linear_layer may keep
    its bias gradient as (D,) for a (1, D) bias (a WARN): momentum then updates the bias as with (1, D)."""
    class Layer:
        def __init__(self, flat):
            self.params = {'W': np.ones((3, 2)), 'b': np.ones((1, 2))}
            self.gradient = {'W': np.full((3, 2), 0.5), 'b': np.full((2,) if flat else (1, 2), 0.5)}

    def courses(model):
        return {name + '_' + key: np.zeros(module.gradient[key].shape)
                for name, module in model.items() if hasattr(module, 'params') for key in module.params}
    layers = {flat: Layer(flat) for flat in (True, False)}
    for flat, layer in layers.items():
        optimizer = sgd.SGD({'L1': layer}, 0.1, alpha=0.9, add_momentum=courses)
        for _ in range(3):
            optimizer.step()
    assert np.array_equal(layers[True].params['b'], layers[False].params['b'])
    assert layers[True].params['b'].shape == (1, 2)


@pytest.mark.parametrize('nonzero', [[0], [5], [9], [0, 1, 2, 7], [3, 5, 7, 9], [], list(range(10)), [8, 9], [0, 9]])
def test_nonzero_column_runs_cover_exactly_the_nonzero_columns(nonzero):
    X = np.zeros((4, 10))
    X[1, nonzero] = 0.5
    covered = np.zeros(10, dtype=bool)
    for part in sgd.nonzero_column_runs(X):
        assert part.stop > part.start and not covered[part].any() and not covered[max(part.start - 1, 0)]
        covered[part] = True
    assert list(np.flatnonzero(covered)) == nonzero


def test_momentum_flushes_decaying_velocities_and_changes_no_parameter():
    # A parameter whose gradient stays zero: its velocity decays by alpha at every step, and without
    # the flush it would end stuck among the subnormal numbers, which CPUs multiply slowly.
    rng = np.random.RandomState(0)
    live = types.SimpleNamespace(params={'W': rng.randn(3, 4)}, gradient={'W': np.zeros((3, 4))})
    model = {'L': live}
    optimizer = sgd.SGD(model, 0.01, alpha=0.9)
    param, velocity = live.params['W'].copy(), np.zeros((3, 4))
    for step in range(8000):
        grad = rng.randn(3, 4) if step < 20 else np.zeros((3, 4))
        grad[0] = rng.randn(4)  # one row keeps learning
        live.gradient['W'][...] = grad
        optimizer.step()
        velocity = 0.9 * velocity - 0.01 * grad  # the plain update, never flushed
        param += velocity
        assert np.array_equal(live.params['W'], param), step
    assert np.sum((velocity != 0) & (np.abs(velocity) < np.finfo(float).tiny)) > 0  # where it would be
    flushed = optimizer._slots[0][2]
    assert not np.any((flushed != 0) & (np.abs(flushed) < np.finfo(float).tiny))
    assert np.all(flushed[1:] == 0) and np.all(flushed[0] != 0)


def test_result_file_names_follow_the_course():
    args = types.SimpleNamespace(learning_rate=0.001, alpha=0.9, lambda_=0, dropout_rate=0.5)
    assert result_name('CNN2', args) == 'CNN2_lr0.001_m0.9_w0.0_d0.5.json'


def test_committed_outputs_have_the_course_format():
    for script in ['q33', 'q34', 'q35', 'q36', 'q37', 'q38', 'q310']:
        text = open(os.path.join(REPO, 'scripts', script + '.sh')).read()
        name = text.split('outputs/')[1].split()[0]
        raw = open(os.path.join(OUTPUTS, name)).read()
        result = json.loads(raw)
        assert list(result) == ['train', 'val'] and raw.startswith('{"train": [')
        assert len(result['train']) == len(result['val']) == 30
        assert all(0 <= value <= 1 for value in result['train'] + result['val'])


def test_drivers_run_from_any_directory(tmp_path, small_data):
    for driver in ['dnn_mlp.py', 'dnn_mlp_nononlinear.py', 'dnn_cnn.py', 'dnn_cnn_2.py']:
        result = subprocess.run([sys.executable, os.path.join(REPO, driver), '--num_epoch', '2',
                                 '--data', small_data, '--output_dir', str(tmp_path / 'out')],
                                capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
        assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / 'out')) == sorted([
        'MLP_lr0.01_m0.0_w0.0_d0.0.json', 'LR_lr0.01_m0.0_w0.0_d0.0.json',
        'CNN_lr0.01_m0.0_w0.0_d0.5.json', 'CNN2_lr0.001_m0.0_w0.0_d0.5.json'])


def committed_results():
    sys.path.insert(0, os.path.join(REPO, 'scripts'))
    import report
    return report, {run.question: committed(run.name) for run in report.RUNS}


@pytest.mark.parametrize('index', range(5))
def test_observation_of_the_assignment_holds_on_the_committed_outputs(index):
    """The five observations of FACTS.md, judged by scripts/report.py on outputs/."""
    report, results = committed_results()
    claim, verdict, figures = report.observations(results)[index]
    assert verdict == 'PASS', f'{claim}: {figures}'
