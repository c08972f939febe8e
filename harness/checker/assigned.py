"""Checks of what students write: linear_layer, relu and dropout.backward (dropout.forward too,
which some versions of the course's template leave to students).

Every check calls forward(X) and then backward(X, grad) on the same X, as the
drivers do; finite differences go through forward only.
"""
import numpy as np

from harness.checker import fixes, mistakes
from harness.checker.probe import TOLERANCE, Check, Failed, numerical_gradient, relative_error
from harness.checker.process import Ended, Garbled, Raised, TimedOut


def gradient_check(probe, layer, label, X, R, forward_args=(), flat_keys=(), catalogues=None):
    """forward(X) then backward(X, R), after one such step with another grad, as the drivers take one
    step after another; compare dL/dX and every gradient with centred differences of
    L = sum(forward(X) * R). Returns the largest relative error. catalogues: {'dX', or a parameter's
    key: the mistakes (mistakes.py) to name when it is wrong}."""
    params = probe.attribute(layer, label, 'params', default={})
    params = {key: np.array(value, dtype=float) for key, value in params.items()} if isinstance(params, dict) else {}
    catalogues = catalogues or {}
    inputs = {'X': X, 'R': R, 'N': len(X), 'W': params.get('W'), 'b': params.get('b')}
    named = lambda key: mistakes.naming(catalogues[key], **inputs) if key in catalogues else None
    probe.call(layer, label, 'forward', X, *forward_args)
    probe.call(layer, label, 'backward', X, 1.0 - 2.0 * R)  # the step before, with another grad
    earlier = {key: np.array(probe.attribute(layer, label, 'gradient', key), dtype=float) for key in params}
    probe.call(layer, label, 'forward', X, *forward_args)
    grad_X = probe.call(layer, label, 'backward', X, R)
    gradients = {key: np.array(probe.attribute(layer, label, 'gradient', key), dtype=float) for key in params}

    X_perturbed = X.copy()
    loss = lambda: np.sum(probe.value(layer, 'forward', X_perturbed, *forward_args) * R)
    errors = [probe.compare(f'dL/dX returned by {label}.backward', grad_X, numerical_gradient(loss, X_perturbed),
                            named=named('dX'))]
    for key, param in params.items():  # each parameter perturbed in the student's module, then put back
        def loss():
            probe.set(layer, label, 'params', key, param, in_place=True)
            return np.sum(probe.value(layer, 'forward', X, *forward_args) * R)
        expected = numerical_gradient(loss, param)
        probe.set(layer, label, 'params', key, param, in_place=True)
        if _adds_up(gradients[key], earlier[key], expected):
            fix = '; ' + fixes.FIXES['adds up'] if 'adds up' in fixes.FIXES else ''
            raise Failed(f"{label}.gradient['{key}'] adds up from one backward call to the next: after a second "
                         f"call it holds the sum of both calls' gradients{fix}")
        errors.append(probe.compare(f"{label}.gradient['{key}']", gradients[key], expected, flat_ok=key in flat_keys,
                                    named=named(key)))
    return max(errors)


def _adds_up(got, earlier, expected):
    """Whether a gradient is wrong but, less what the call before left, right: it adds up across calls."""
    if np.size(got) != np.size(expected) or np.shape(got) != np.shape(earlier):
        return False
    got, earlier = np.reshape(got, expected.shape), np.reshape(earlier, expected.shape)
    return relative_error(got, expected) >= TOLERANCE and relative_error(got - earlier, expected) < TOLERANCE


def linear_forward(probe):
    layer = probe.make('linear_layer', 3, 2)
    b = np.array([[0.5, -2.0]])
    probe.set(layer, 'linear_layer', 'params', 'W', np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]]))
    probe.set(layer, 'linear_layer', 'params', 'b', b)
    X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]])
    # Row 1: 1 + 4 + 0 + 0.5, -1 + 1 + 9 - 2; row 2: -1 + 0 + 0 + 0.5, 1 + 0 + 6 - 2.
    return probe.compare('linear_layer.forward(X)', probe.call(layer, 'linear_layer', 'forward', X),
                         [[5.5, 7.0], [-0.5, 5.0]], named=mistakes.naming(mistakes.LINEAR_FORWARD, b=b, noun='output'))


def linear_backward(probe):
    rng = np.random.RandomState(0)
    layer = probe.make('linear_layer', 4, 3)
    X = rng.randn(5, 4)
    catalogues = {'dX': mistakes.LINEAR_DX, 'W': mistakes.LINEAR_DW, 'b': mistakes.LINEAR_DB}
    try:
        return gradient_check(probe, layer, 'linear_layer', X, rng.randn(5, 3), flat_keys=('b',), catalogues=catalogues)
    except Raised as error:  # a product of mismatched shapes, most often: named where the shapes match
        named = _quietly(probe, _square_case) if error.type_name == 'ValueError' else None
        if not named:
            raise
        raise Failed(f'raised {error.type_name}: {error}{probe.where(error)}; {named}') from None


def _square_case(probe):
    """What linear_layer.backward gives where no product of mismatched shapes raises (input_D = output_D = N,
    W and X not symmetric), named by its likeliest mistakes; None when none fits."""
    rng = np.random.RandomState(5)
    X, R, W, b = rng.randn(4, 4), rng.randn(4, 4), rng.randn(4, 4), rng.randn(1, 4)
    layer = probe.make('linear_layer', 4, 4)
    probe.set(layer, 'linear_layer', 'params', 'W', W)
    probe.set(layer, 'linear_layer', 'params', 'b', b)
    probe.call(layer, 'linear_layer', 'forward', X)
    grad_X = probe.call(layer, 'linear_layer', 'backward', X, R)
    answers = [('dL/dX returned by linear_layer.backward', grad_X, mistakes.SQUARE_DX),
               ("linear_layer.gradient['W']", probe.attribute(layer, 'linear_layer', 'gradient', 'W'),
                mistakes.SQUARE_DW)]
    named = [f'{what} {words}' for what, got, catalogue in answers
             for words in [mistakes.diagnosis(got, None, catalogue, {'X': X, 'R': R, 'W': W})] if words]
    return f"on a case where no shapes mismatch (input_D = output_D = N), {'; '.join(named)}" if named else None


def _quietly(probe, diagnose):
    """What diagnose(probe) names, or None when it names nothing or fails: a diagnosis never raises. A student
    process that stopped answering meanwhile is left for a new one (out_of_step), as after a garbled answer."""
    try:
        return diagnose(probe)
    except (TimedOut, Ended):
        process = getattr(probe.code, 'process', None)
        if process is not None:
            process.out_of_step = True
        return None
    except Exception:
        return None


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
                         [[0.0, 0.0, 3.0], [1.5, 0.0, 0.2]],
                         named=mistakes.naming(mistakes.RELU_FORWARD, X=X, noun='output'))


def relu_backward(probe):
    layer = probe.make('relu')
    X, R = np.array([[-1.0, 2.0, 0.5, -3.0]]), np.array([[5.0, 7.0, -1.0, 2.0]])
    probe.call(layer, 'relu', 'forward', X)
    error = probe.compare('relu.backward(X, grad) on a case worked by hand',
                          probe.call(layer, 'relu', 'backward', X, R), [[0.0, 7.0, -1.0, 0.0]],
                          named=mistakes.naming(mistakes.RELU_BACKWARD, X=X, R=R))
    rng = np.random.RandomState(1)
    X = rng.randn(4, 6)
    X[np.abs(X) < 0.01] = 0.5  # keep clear of the kink at 0, where the derivative jumps
    return max(error, gradient_check(probe, probe.make('relu'), 'relu', X, rng.randn(4, 6),
                                     catalogues={'dX': mistakes.RELU_BACKWARD}))


def dropout_forward(probe):
    X = np.arange(1.0, 13.0).reshape(3, 4)
    np.random.seed(0)
    keep = np.random.uniform(0.0, 1.0, X.shape) >= 0.5
    np.random.seed(0)
    out = probe.call(probe.make('dropout', 0.5), 'dropout', 'forward', X, is_train=True)
    error = probe.compare("dropout.forward(X, is_train=True) (mask np.random.uniform(0.0, 1.0, X.shape) >= r, "
                          "scaled by 1 / (1 - r))", out, np.where(keep, X * 2.0, 0.0),
                          named=mistakes.naming(mistakes.DROPOUT_FORWARD, X=X, r=0.5, noun='output'))
    out = probe.call(probe.make('dropout', 0.5), 'dropout', 'forward', X, is_train=False)
    return max(error, probe.compare('dropout.forward(X, is_train=False)', out, X,
                                    named=mistakes.naming(mistakes.DROPOUT_TEST_TIME, r=0.5, noun='output')))


def dropout_backward(probe):
    rng = np.random.RandomState(2)
    X, R = rng.uniform(0.5, 2.0, (4, 5)) * rng.choice([-1, 1], (4, 5)), rng.randn(4, 5)
    layer = probe.make('dropout', 0.3)
    np.random.seed(3)
    out = np.asarray(probe.call(layer, 'dropout', 'forward', X, is_train=True), dtype=float)
    grad = probe.call(layer, 'dropout', 'backward', X, R)
    # With its mask fixed by the forward pass, dropout is linear: out = X * mask.
    return probe.compare('dropout.backward(X, grad) after a training forward', grad, R * (out / X),
                         named=mistakes.naming(mistakes.DROPOUT_BACKWARD, R=R, r=0.3))


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
        kind = getattr(error, 'type_name', type(error).__name__)  # the student's exception's, for a Raised
        if kind == 'NotImplementedError' and isinstance(error, Raised):  # the handout's TODO, its own check FAILs
            probe.warn('dropout.backward is not written yet; checked once it is')
        else:
            probe.warn(f'dropout.backward after a test-time forward raised {kind}: {error}{probe.where(error)}; '
                       f'{tolerated}')
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
