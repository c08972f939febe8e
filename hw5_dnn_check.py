"""Check the linear_layer, relu and dropout modules of a dnn_misc.py.

    python3 hw5_dnn_check.py                       # this repository's dnn_misc.py
    python3 hw5_dnn_check.py path/to/dnn_misc.py   # your own

Each check prints PASS or FAIL with the largest error it saw; the last line
sums up. The exit status is 0 when everything passes and 1 otherwise.
Forward checks use small cases worked by hand; backward checks compare with
centred finite differences of the loss L = sum(output * R) for a fixed R.
"""
import importlib.util
import os
import sys
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 1e-6


def load_module(path):
    """Import the dnn_misc.py at `path` under its own name, its folder first on sys.path."""
    folder = os.path.dirname(os.path.abspath(path))
    sys.path[:0] = [folder, HERE]
    spec = importlib.util.spec_from_file_location('checked_dnn_misc', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def numerical_gradient(f, x, h=1e-6):
    """Centred differences of the scalar f() with respect to every entry of x, in place."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        plus = f()
        x[i] = saved - h
        minus = f()
        x[i] = saved
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b):
    """max |a - b| over max(|a| + |b|): the error relative to the size of the whole array.

    An entry-by-entry ratio would blow up for entries near zero, where the
    finite differences' rounding error is as large as the entry itself.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise AssertionError(f'shape {a.shape}, expected {b.shape}')
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else 0.0


def check_linear_forward(m):
    layer = m.linear_layer(3, 2)
    layer.params['W'] = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]])
    layer.params['b'] = np.array([[0.5, -2.0]])
    X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]])
    # Row 1: 1 + 4 + 0 + 0.5, -1 + 1 + 9 - 2; row 2: -1 + 0 + 0 + 0.5, 1 + 0 + 6 - 2.
    return relative_error(layer.forward(X), [[5.5, 7.0], [-0.5, 5.0]])


def check_linear_backward(m):
    rng = np.random.RandomState(0)
    layer = m.linear_layer(4, 3)
    X, R = rng.randn(5, 4), rng.randn(5, 3)
    layer.forward(X)
    grad_X = layer.backward(X, R)
    loss = lambda: np.sum(layer.forward(X) * R)
    return max(relative_error(grad_X, numerical_gradient(loss, X)),
               relative_error(layer.gradient['W'], numerical_gradient(loss, layer.params['W'])),
               relative_error(layer.gradient['b'], numerical_gradient(loss, layer.params['b'])))


def check_linear_init(m):
    np.random.seed(2)
    layer = m.linear_layer(3, 2)
    np.random.seed(2)
    W, b = np.random.normal(0, 0.1, (3, 2)), np.random.normal(0, 0.1, (1, 2))
    return max(relative_error(layer.params['W'], W), relative_error(layer.params['b'], b))


def check_relu_forward(m):
    X = np.array([[-2.0, 0.0, 3.0], [1.5, -0.1, 0.2]])
    return relative_error(m.relu().forward(X), [[0.0, 0.0, 3.0], [1.5, 0.0, 0.2]])


def check_relu_backward(m):
    rng = np.random.RandomState(1)
    X = rng.randn(4, 6)
    X[np.abs(X) < 0.01] = 0.5  # keep clear of the kink at 0, where the derivative jumps
    R = rng.randn(4, 6)
    layer = m.relu()
    layer.forward(X)
    hand = layer.backward(np.array([[-1.0, 2.0]]), np.array([[5.0, 7.0]]))
    return max(relative_error(hand, [[0.0, 7.0]]),
               relative_error(layer.backward(X, R), numerical_gradient(lambda: np.sum(layer.forward(X) * R), X)))


def check_dropout_forward(m):
    X = np.arange(1.0, 7.0).reshape(2, 3)
    np.random.seed(0)
    p = np.random.uniform(0.0, 1.0, X.shape)
    np.random.seed(0)
    out = m.dropout(0.5).forward(X, is_train=True)
    error = relative_error(out, np.where(p >= 0.5, X * 2.0, 0.0))
    return max(error, relative_error(m.dropout(0.5).forward(X, is_train=False), X))


def check_dropout_backward(m):
    rng = np.random.RandomState(2)
    X, R = rng.randn(4, 5), rng.randn(4, 5)
    layer = m.dropout(0.3)
    np.random.seed(3)
    out = layer.forward(X, is_train=True)
    grad = layer.backward(X, R)
    # The mask is fixed after the forward pass, so the output is linear in X: out = X * mask.
    mask = np.divide(out, X)
    return relative_error(grad, R * mask)


CHECKS = [
    ('linear_layer', 'forward', check_linear_forward),
    ('linear_layer', 'backward', check_linear_backward),
    ('linear_layer', 'initialisation', check_linear_init),
    ('relu', 'forward', check_relu_forward),
    ('relu', 'backward', check_relu_backward),
    ('dropout', 'forward', check_dropout_forward),
    ('dropout', 'backward', check_dropout_backward),
]


def run(path):
    """Run every check on the dnn_misc.py at `path`; return the number of failures."""
    try:
        module = load_module(path)
    except BaseException as error:
        print(f'FAIL  {path} does not import: {type(error).__name__}: {error}')
        print(f'0 passed, {len(CHECKS)} failed')
        return len(CHECKS)
    failed = 0
    for class_name, what, check in CHECKS:
        name = f'{class_name}.{what}'
        if not hasattr(module, class_name):
            print(f'FAIL  {name:28s} {path} has no class {class_name}')
            failed += 1
            continue
        try:
            with np.errstate(all='ignore'):
                error = check(module)
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            print(f'FAIL  {name:28s} raised {type(exc).__name__}: {exc} '
                  f'({os.path.basename(where.filename)}:{where.lineno})')
            failed += 1
            continue
        ok = error < TOLERANCE
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name:28s} max relative error {error:.2e}")
    print(f'{len(CHECKS) - failed} passed, {failed} failed')
    return failed


def main(argv):
    if len(argv) > 2:
        print(f'usage: {argv[0]} [path/to/dnn_misc.py]', file=sys.stderr)
        return 2
    path = argv[1] if len(argv) == 2 else os.path.join(HERE, 'dnn_misc.py')
    if not os.path.isfile(path):
        print(f'{argv[0]}: error: {path}: no such file', file=sys.stderr)
        return 2
    return 1 if run(path) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
