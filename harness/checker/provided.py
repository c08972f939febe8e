"""Checks of what the course gives in the same file (`--all`): dropout's draws, conv_layer,
max_pool, flatten_layer, the two losses, add_momentum, and the dnn_im2col.py beside the file.

A student who edits these by accident learns it here. Forward passes are
compared with the given modules (key.py: this repository's, tested against
plain loops); backward passes with centred differences of the student's own forward.
"""
import os

import numpy as np

from harness.checker.assigned import gradient_check
from harness.checker.key import GIVEN as reference, IM2COL as reference_im2col
from harness.checker.probe import Check, Failed, numerical_gradient
from harness.checker.process import missing


def dropout_draws(probe):
    X = np.ones((3, 4))
    for r, is_train, draws, when in [(0.0, True, X.size, 'in training, even at rate 0'),
                                     (0.5, False, 0, 'at test time')]:
        np.random.seed(5)
        probe.call(probe.make('dropout', r), 'dropout', 'forward', X, is_train=is_train)
        after = np.random.uniform()
        np.random.seed(5)
        np.random.uniform(size=draws)
        if after != np.random.uniform():
            raise Failed(f'dropout.forward does not draw {draws} random numbers {when}, as the course\'s does: '
                         f'every later draw of a run moves')
    return "draws as the course's: X.size numbers in training, none at test time"


def _same_init(probe, class_name, args, shapes):
    np.random.seed(2)
    layer = probe.make(class_name, *args)
    np.random.seed(2)
    for key, shape in shapes:
        probe.compare(f"{class_name}.params['{key}'] (np.random.normal(0, 0.1, {shape}), W first)",
                      probe.attribute(layer, class_name, 'params', key), np.random.normal(0, 0.1, shape))
    return layer


def conv_layer(probe):
    rng = np.random.RandomState(6)
    errors = []
    for C, O, k, s, H, W in [(2, 3, 3, 1, 5, 6), (1, 2, 5, 2, 7, 6)]:
        layer = _same_init(probe, 'conv_layer', (C, O, k, s), [('W', (O, C, k, k)), ('b', (O, 1))])
        ours = reference.conv_layer(C, O, k, s)
        params = probe.attribute(layer, 'conv_layer', 'params')
        ours.params = {key: np.array(value) for key, value in params.items()}
        X = rng.randn(2, C, H, W)
        expected = ours.forward(X)
        errors.append(probe.compare(f'conv_layer.forward(X) (filter {k}, stride {s})',
                                    probe.call(layer, 'conv_layer', 'forward', X), expected))
        errors.append(gradient_check(probe, layer, 'conv_layer', X, rng.randn(*expected.shape)))
    return max(errors)


def max_pool(probe):
    rng = np.random.RandomState(7)
    errors = []
    for k, s, H, W in [(2, 2, 6, 4), (3, 2, 7, 5)]:
        X = rng.permutation(2 * 3 * H * W).reshape(2, 3, H, W) / 10.0  # distinct values: no ties
        expected = reference.max_pool(k, s).forward(X)
        layer = probe.make('max_pool', k, s)
        errors.append(probe.compare(f'max_pool.forward(X) (window {k}, stride {s})',
                                    probe.call(layer, 'max_pool', 'forward', X), expected))
        errors.append(gradient_check(probe, layer, 'max_pool', X, rng.randn(*expected.shape)))
    return max(errors)


def flatten_layer(probe):
    X = np.random.RandomState(8).randn(2, 3, 4, 5)
    layer = probe.make('flatten_layer')
    error = probe.compare('flatten_layer.forward(X)', probe.call(layer, 'flatten_layer', 'forward', X),
                          X.reshape(2, -1))
    return max(error, gradient_check(probe, layer, 'flatten_layer', X, np.random.RandomState(9).randn(2, 60)))


def _loss_check(probe, class_name, X, Y):
    loss = probe.make(class_name)
    expected = getattr(reference, class_name)().forward(X, Y)
    error = probe.compare(f'{class_name}.forward(X, Y)', probe.call(loss, class_name, 'forward', X, Y), expected)
    grad = probe.call(loss, class_name, 'backward', X, Y)
    X_perturbed = X.copy()
    numeric = numerical_gradient(lambda: getattr(reference, class_name)().forward(X_perturbed, Y), X_perturbed)
    return max(error, probe.compare(f'{class_name}.backward(X, Y) after forward(X, Y)', grad, numeric))


def softmax_cross_entropy(probe):
    rng = np.random.RandomState(10)
    return _loss_check(probe, 'softmax_cross_entropy', rng.randn(5, 10) * 3, rng.randint(0, 10, (5, 1)))


def sigmoid_cross_entropy(probe):
    rng = np.random.RandomState(11)
    return _loss_check(probe, 'sigmoid_cross_entropy', rng.randn(6, 1) * 3, rng.randint(0, 2, (6, 1)))


def add_momentum(probe):
    model = {'L1': reference.linear_layer(4, 3), 'nonlinear1': reference.relu(), 'C1': reference.conv_layer(2, 5, 3, 1),
             'loss': reference.softmax_cross_entropy()}
    # The student process gets plain objects with what the course's code reads of a module: its params
    # and its gradient (the course's add_momentum reads module.gradient[key].shape), or neither.
    like = {name: probe.code.make_object(**{attribute: getattr(module, attribute)
                                            for attribute in ('params', 'gradient') if hasattr(module, attribute)})
            for name, module in model.items()}
    velocity = probe.code.function('dnn_misc', 'add_momentum', [like])
    if missing(velocity, 'function'):
        raise Failed(f'{os.path.basename(probe.path)} has no function add_momentum')
    expected = reference.add_momentum(model)
    if not isinstance(velocity, dict) or sorted(velocity) != sorted(expected):
        keys = sorted(velocity) if isinstance(velocity, dict) else getattr(velocity, 'type_name', type(velocity).__name__)
        raise Failed(f'add_momentum(model) gives {keys}, expected the keys {sorted(expected)}')
    return max(probe.compare(f"add_momentum(model)['{key}']", velocity[key], value) for key, value in expected.items())


def dnn_im2col(probe):
    """The dnn_im2col.py beside the student's file, or this repository's when there is none."""
    beside = os.path.join(os.path.dirname(probe.path), 'dnn_im2col.py')
    if os.path.isfile(beside):
        def theirs(name, *args):
            got = probe.code.function('dnn_im2col', name, args)
            if missing(got, 'function'):
                raise Failed(f'{beside} has no function {name}')
            return got
    else:
        theirs = lambda name, *args: getattr(reference_im2col, name)(*args)
    x = np.random.RandomState(12).randint(-2, 3, (2, 3, 7, 6)).astype(float)
    errors = []
    for name, args in [('get_im2col_indices', (x.shape, 3, 2, 1, 2)), ('im2col_indices', (x, 3, 3, 1, 1)),
                       ('get_maxpool_im2col_indices', (x.shape, 2, 2, 0, 2)),
                       ('maxpool_im2col_indices', (x, 2, 2, 0, 2))]:
        for index, (got, want) in enumerate(zip(theirs(name, *args), getattr(reference_im2col, name)(*args))):
            errors.append(probe.compare(f'dnn_im2col.{name}, part {index + 1}', got, want))
    cols = np.random.RandomState(13).randn(*reference_im2col.im2col_indices(x, 3, 3, 1, 1).shape)
    grad = np.random.RandomState(14).randn(2, 3, 3, 3)
    _, argmax = reference_im2col.maxpool_im2col_indices(x, 2, 2, 0, 2)
    for name, args in [('col2im_indices', (cols, x.shape, 3, 3, 1, 1)),
                       ('maxpool_col2im_indices', (grad, argmax, x.shape, 2, 2, 0, 2))]:
        errors.append(probe.compare(f'dnn_im2col.{name}', theirs(name, *args), getattr(reference_im2col, name)(*args)))
    return max(errors)


CHECKS = [
    Check('dropout', 'draws', dropout_draws),
    Check('conv_layer', 'forward and backward', conv_layer),
    Check('max_pool', 'forward and backward', max_pool),
    Check('flatten_layer', 'forward and backward', flatten_layer),
    Check('softmax_cross_entropy', 'forward and backward', softmax_cross_entropy),
    Check('sigmoid_cross_entropy', 'forward and backward', sigmoid_cross_entropy),
    Check('add_momentum', 'zero velocities', add_momentum),
    Check('dnn_im2col', 'the six functions', dnn_im2col),
]
