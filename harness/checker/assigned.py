"""Checks of what students write: linear_layer, relu and dropout.backward (dropout.forward too,
which some versions of the course's template leave to students).

Every check calls forward(X) and then backward(X, grad) on the same X, as the
drivers do; finite differences go through forward only.
"""
import numpy as np

from harness.checker.probe import TOLERANCE, Check, Failed, numerical_gradient, relative_error
from harness.checker.process import Ended, Garbled, TimedOut


def gradient_check(probe, layer, label, X, R, forward_args=(), flat_keys=()):
    """forward(X) then backward(X, R), after one such step with another grad, as the drivers take one
    step after another; compare dL/dX and every gradient with centred differences of
    L = sum(forward(X) * R). Returns the largest relative error."""
    params = probe.attribute(layer, label, 'params', default={})
    params = {key: np.array(value, dtype=float) for key, value in params.items()} if isinstance(params, dict) else {}
    probe.call(layer, label, 'forward', X, *forward_args)
    probe.call(layer, label, 'backward', X, 1.0 - 2.0 * R)  # the step before, with another grad
    earlier = {key: np.array(probe.attribute(layer, label, 'gradient', key), dtype=float) for key in params}
    probe.call(layer, label, 'forward', X, *forward_args)
    grad_X = probe.call(layer, label, 'backward', X, R)
    gradients = {key: np.array(probe.attribute(layer, label, 'gradient', key), dtype=float) for key in params}

    X_perturbed = X.copy()
    loss = lambda: np.sum(probe.value(layer, 'forward', X_perturbed, *forward_args) * R)
    errors = [probe.compare(f'dL/dX returned by {label}.backward', grad_X, numerical_gradient(loss, X_perturbed))]
    for key, param in params.items():  # each parameter perturbed in the student's module, then put back
        def loss():
            probe.set(layer, label, 'params', key, param, in_place=True)
            return np.sum(probe.value(layer, 'forward', X, *forward_args) * R)
        expected = numerical_gradient(loss, param)
        probe.set(layer, label, 'params', key, param, in_place=True)
        if _adds_up(gradients[key], earlier[key], expected):
            raise Failed(f"{label}.gradient['{key}'] adds up from one backward call to the next: after a second "
                         f"call it holds the sum of both calls' gradients; set it (=), do not add to it (+=)")
        errors.append(probe.compare(f"{label}.gradient['{key}']", gradients[key], expected, flat_ok=key in flat_keys))
    return max(errors)


def _adds_up(got, earlier, expected):
    """Whether a gradient is wrong but, less what the call before left, right: it adds up across calls."""
    if np.size(got) != np.size(expected) or np.shape(got) != np.shape(earlier):
        return False
    got, earlier = np.reshape(got, expected.shape), np.reshape(earlier, expected.shape)
    return relative_error(got, expected) >= TOLERANCE and relative_error(got - earlier, expected) < TOLERANCE


def linear_forward(probe):
    layer = probe.make('linear_layer', 3, 2)
    probe.set(layer, 'linear_layer', 'params', 'W', np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]]))
    probe.set(layer, 'linear_layer', 'params', 'b', np.array([[0.5, -2.0]]))
    X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]])
    # Row 1: 1 + 4 + 0 + 0.5, -1 + 1 + 9 - 2; row 2: -1 + 0 + 0 + 0.5, 1 + 0 + 6 - 2.
    return probe.compare('linear_layer.forward(X)', probe.call(layer, 'linear_layer', 'forward', X),
                         [[5.5, 7.0], [-0.5, 5.0]])


def linear_backward(probe):
    rng = np.random.RandomState(0)
    layer = probe.make('linear_layer', 4, 3)
    return gradient_check(probe, layer, 'linear_layer', rng.randn(5, 4), rng.randn(5, 3), flat_keys=('b',))


def linear_initialisation(probe):
    np.random.seed(2)
    layer = probe.make('linear_layer', 3, 2)
    np.random.seed(2)
    W, b = np.random.normal(0, 0.1, (3, 2)), np.random.normal(0, 0.1, (1, 2))
    return max(probe.compare("linear_layer.params['W'] (np.random.normal(0, 0.1, (input_D, output_D)), drawn first)",
                             probe.attribute(layer, 'linear_layer', 'params', 'W'), W),
               probe.compare("linear_layer.params['b'] (np.random.normal(0, 0.1, (1, output_D)), drawn after W)",
                             probe.attribute(layer, 'linear_layer', 'params', 'b'), b))


def relu_forward(probe):
    X = np.array([[-2.0, 0.0, 3.0], [1.5, -0.1, 0.2]])
    return probe.compare('relu.forward(X)', probe.call(probe.make('relu'), 'relu', 'forward', X),
                         [[0.0, 0.0, 3.0], [1.5, 0.0, 0.2]])


def relu_backward(probe):
    layer = probe.make('relu')
    X = np.array([[-1.0, 2.0, 0.5, -3.0]])
    probe.call(layer, 'relu', 'forward', X)
    error = probe.compare('relu.backward(X, grad) on a case worked by hand',
                          probe.call(layer, 'relu', 'backward', X, np.array([[5.0, 7.0, -1.0, 2.0]])),
                          [[0.0, 7.0, -1.0, 0.0]])
    rng = np.random.RandomState(1)
    X = rng.randn(4, 6)
    X[np.abs(X) < 0.01] = 0.5  # keep clear of the kink at 0, where the derivative jumps
    return max(error, gradient_check(probe, probe.make('relu'), 'relu', X, rng.randn(4, 6)))


def dropout_forward(probe):
    X = np.arange(1.0, 13.0).reshape(3, 4)
    np.random.seed(0)
    keep = np.random.uniform(0.0, 1.0, X.shape) >= 0.5
    np.random.seed(0)
    out = probe.call(probe.make('dropout', 0.5), 'dropout', 'forward', X, is_train=True)
    error = probe.compare("dropout.forward(X, is_train=True) (mask np.random.uniform(0.0, 1.0, X.shape) >= r, "
                          "scaled by 1 / (1 - r))", out, np.where(keep, X * 2.0, 0.0))
    out = probe.call(probe.make('dropout', 0.5), 'dropout', 'forward', X, is_train=False)
    return max(error, probe.compare('dropout.forward(X, is_train=False)', out, X))


def dropout_backward(probe):
    rng = np.random.RandomState(2)
    X, R = rng.uniform(0.5, 2.0, (4, 5)) * rng.choice([-1, 1], (4, 5)), rng.randn(4, 5)
    layer = probe.make('dropout', 0.3)
    np.random.seed(3)
    out = np.asarray(probe.call(layer, 'dropout', 'forward', X, is_train=True), dtype=float)
    grad = probe.call(layer, 'dropout', 'backward', X, R)
    # With its mask fixed by the forward pass, dropout is linear: out = X * mask.
    return probe.compare('dropout.backward(X, grad) after a training forward', grad, R * (out / X))


def dropout_backward_at_test_time(probe):
    rng = np.random.RandomState(4)
    X, R = rng.randn(3, 4), rng.randn(3, 4)
    layer = probe.make('dropout', 0.3)
    probe.call(layer, 'dropout', 'forward', X, is_train=True)
    probe.call(layer, 'dropout', 'forward', X, is_train=False)
    tolerated = ("the drivers never call backward after a test-time forward, so the course's pipeline gives "
                 "the same numbers; the course's given forward sets the mask to ones at test time")
    try:
        grad = probe.call(layer, 'dropout', 'backward', X, R)
    except (TimedOut, Ended, Garbled):
        raise
    except Exception as error:
        probe.warn(f'dropout.backward after a test-time forward raised {type(error).__name__}: {error}'
                   f'{probe.where(error)}; {tolerated}')
        return 0.0
    if grad is None or np.shape(grad) != R.shape or not np.allclose(grad, R, rtol=1e-12, atol=0):
        probe.warn(f'dropout.backward after a test-time forward does not return grad unchanged; {tolerated}')
    return 'returns grad unchanged'


CHECKS = [
    Check('linear_layer', 'forward', linear_forward),
    Check('linear_layer', 'backward', linear_backward),
    Check('linear_layer', 'initialisation', linear_initialisation),
    Check('relu', 'forward', relu_forward),
    Check('relu', 'backward', relu_backward),
    Check('dropout', 'forward', dropout_forward),
    Check('dropout', 'backward', dropout_backward),
    Check('dropout', 'backward at test time', dropout_backward_at_test_time),
]
