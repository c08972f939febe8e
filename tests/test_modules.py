"""The modules of dnn_misc.py: gradients, the fast window code against loops, random draws."""
import numpy as np
import pytest

import dnn_misc as nn
from harness.checker.probe import numerical_gradient, relative_error

GRADIENT_TOLERANCE = 1e-6


def gradient_errors(module, X, R, forward=None):
    """Relative errors of the analytic gradients of L = sum(forward(X) * R): {name: error}."""
    forward = forward or module.forward
    loss = lambda: np.sum(forward(X) * R)
    forward(X)
    grad_X = module.backward(X, R)
    errors = {'X': relative_error(grad_X, numerical_gradient(loss, X))}
    for key, param in getattr(module, 'params', {}).items():
        forward(X)
        module.backward(X, R)
        analytic = module.gradient[key].copy()
        errors[key] = relative_error(analytic, numerical_gradient(loss, param))
    return errors


def assert_small(errors):
    worst = max(errors.values())
    assert worst < GRADIENT_TOLERANCE, errors


@pytest.mark.parametrize('N, D, K', [(1, 3, 2), (4, 7, 5), (6, 10, 1)])
def test_linear_gradients(N, D, K):
    rng = np.random.RandomState(N)
    layer = nn.linear_layer(D, K)
    assert_small(gradient_errors(layer, rng.randn(N, D), rng.randn(N, K)))


def test_a_first_layer_skips_the_gradient_with_respect_to_the_data():
    rng = np.random.RandomState(3)
    X, grad = rng.rand(5, 10), rng.randn(5, 6)
    layer = nn.linear_layer(10, 6)
    full = layer.backward(X, grad)
    layer.input_is_data = True
    assert layer.backward(X, grad) is None and full.shape == X.shape
    assert np.array_equal(layer.gradient['W'], X.T @ grad)
    assert np.array_equal(layer.gradient['b'], grad.sum(axis=0, keepdims=True))


@pytest.mark.parametrize('shape', [(1, 5), (3, 4), (2, 3, 5, 4)])
def test_relu_gradients(shape):
    rng = np.random.RandomState(1)
    X = rng.randn(*shape)
    X[np.abs(X) < 1e-3] = 0.5  # the derivative jumps at 0
    assert_small(gradient_errors(nn.relu(), X, rng.randn(*shape)))


@pytest.mark.parametrize('shape, r', [((1, 6), 0.5), ((4, 3), 0.0), ((2, 3, 4, 5), 0.8)])
def test_dropout_gradients(shape, r):
    rng = np.random.RandomState(2)
    layer = nn.dropout(r)
    layer.forward(np.zeros(shape), is_train=True)
    mask = layer.mask
    # With its mask fixed, dropout is linear: check the backward against that map.
    def forward(X):
        layer.mask = mask
        return X * mask
    assert_small(gradient_errors(layer, rng.randn(*shape), rng.randn(*shape), forward))


@pytest.mark.parametrize('N, C, O, H, W, k, s', [
    (1, 1, 2, 6, 6, 3, 1), (2, 3, 4, 5, 7, 3, 2), (3, 2, 3, 8, 6, 5, 1), (1, 2, 2, 9, 7, 5, 2),
    (2, 12, 11, 5, 4, 3, 1), (2, 16, 3, 6, 5, 2, 1),
])
def test_conv_gradients(N, C, O, H, W, k, s):
    rng = np.random.RandomState(3)
    layer = nn.conv_layer(C, O, k, s)
    X = rng.randn(N, C, H, W)
    R = rng.randn(*layer.forward(X).shape)
    assert_small(gradient_errors(layer, X, R))


@pytest.mark.parametrize('N, C, H, W, k, s', [(1, 1, 4, 4, 2, 2), (2, 3, 7, 5, 3, 2), (2, 2, 6, 7, 3, 1)])
def test_max_pool_gradients(N, C, H, W, k, s):
    rng = np.random.RandomState(4)
    layer = nn.max_pool(k, s)
    X = rng.randn(N, C, H, W)
    R = rng.randn(*layer.forward(X).shape)
    assert_small(gradient_errors(layer, X, R))


def test_flatten_gradients():
    rng = np.random.RandomState(5)
    X = rng.randn(2, 3, 4, 5)
    layer = nn.flatten_layer()
    assert layer.forward(X).shape == (2, 60)
    assert np.array_equal(layer.forward(X)[1], X[1].reshape(-1))
    assert_small(gradient_errors(layer, X, rng.randn(2, 60)))


@pytest.mark.parametrize('N, K', [(1, 10), (5, 10), (7, 3)])
def test_softmax_cross_entropy_gradient(N, K):
    rng = np.random.RandomState(6)
    X, Y = rng.randn(N, K), rng.randint(0, K, (N, 1))
    loss = nn.softmax_cross_entropy()
    analytic = loss.backward(X, Y)
    numeric = numerical_gradient(lambda: loss.forward(X, Y), X)
    assert relative_error(analytic, numeric) < GRADIENT_TOLERANCE


def test_softmax_cross_entropy_values():
    loss = nn.softmax_cross_entropy()
    X = np.array([[0.0, np.log(3.0)], [2.0, 2.0]])
    Y = np.array([[1], [0]])
    # -log(3/4) and -log(1/2), averaged.
    assert loss.forward(X, Y) == pytest.approx((np.log(4 / 3) + np.log(2)) / 2, rel=1e-12)
    assert np.allclose(loss.backward(X, Y), [[0.125, -0.125], [-0.25, 0.25]], atol=1e-15)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    loss = nn.softmax_cross_entropy()
    X = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4 - 1]])
    Y = np.array([[1], [1]])
    value, grad = loss.forward(X, Y), loss.backward(X, Y)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx((1e4 + np.log1p(np.exp(-1.0))) / 2)
    assert grad[0] == pytest.approx([0.5, -0.5, 0.0])


@pytest.mark.parametrize('N', [1, 6])
def test_sigmoid_cross_entropy_gradient(N):
    rng = np.random.RandomState(8)
    X, Y = rng.randn(N, 1) * 3, rng.randint(0, 2, (N, 1))
    loss = nn.sigmoid_cross_entropy()
    value = loss.forward(X, Y)
    analytic = loss.backward(X, Y)
    assert analytic.shape == (N, 1)
    p = 1 / (1 + np.exp(-X))
    assert value == pytest.approx(-np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p)), rel=1e-12)
    assert relative_error(analytic, numerical_gradient(lambda: loss.forward(X, Y), X)) < GRADIENT_TOLERANCE


def test_sigmoid_cross_entropy_is_stable_for_huge_scores():
    loss = nn.sigmoid_cross_entropy()
    X = np.array([[1e3], [-1e3], [1e3], [-1e3]])
    Y = np.array([[1], [0], [0], [1]])
    # Right with certainty costs nothing; wrong costs the score itself.
    assert loss.forward(X, Y) == pytest.approx((0 + 0 + 1e3 + 1e3) / 4)
    assert np.array_equal(loss.backward(X, Y), [[0.0], [0.0], [0.25], [-0.25]])


# Loops that follow the definitions, for the fast window code to be checked against.

def naive_conv(X, W, b, stride, pad):
    N, C, H, Wd = X.shape
    O, _, k, _ = W.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H + 2 * pad - k) // stride + 1, (Wd + 2 * pad - k) // stride + 1
    out = np.zeros((N, O, Ho, Wo))
    for n in range(N):
        for o in range(O):
            for y in range(Ho):
                for x in range(Wo):
                    window = Xp[n, :, y * stride:y * stride + k, x * stride:x * stride + k]
                    out[n, o, y, x] = np.sum(window * W[o]) + b[o, 0]
    return out


def naive_conv_backward(X, W, grad, stride, pad):
    N, C, H, Wd = X.shape
    O, _, k, _ = W.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    grad_Xp, grad_W = np.zeros_like(Xp), np.zeros_like(W)
    for n in range(N):
        for o in range(O):
            for y in range(grad.shape[2]):
                for x in range(grad.shape[3]):
                    rows, cols = slice(y * stride, y * stride + k), slice(x * stride, x * stride + k)
                    grad_W[o] += grad[n, o, y, x] * Xp[n, :, rows, cols]
                    grad_Xp[n, :, rows, cols] += grad[n, o, y, x] * W[o]
    grad_b = grad.sum(axis=(0, 2, 3)).reshape(O, 1)
    return grad_Xp[:, :, pad:pad + H, pad:pad + Wd], grad_W, grad_b


def naive_max_pool(X, k, stride):
    N, C, H, W = X.shape
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    out, grad_route = np.zeros((N, C, Ho, Wo)), {}
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for x in range(Wo):
                    window = X[n, c, y * stride:y * stride + k, x * stride:x * stride + k]
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    out[n, c, y, x] = window[i, j]
                    grad_route[n, c, y, x] = (y * stride + i, x * stride + j)
    return out, grad_route


def naive_max_pool_backward(X, grad, grad_route):
    grad_X = np.zeros_like(X)
    for (n, c, y, x), (i, j) in grad_route.items():
        grad_X[n, c, i, j] += grad[n, c, y, x]
    return grad_X


@pytest.mark.parametrize('k', [3, 5])
@pytest.mark.parametrize('stride', [1, 2])
# C == O: the input gradient's windows have X's shape, and must not be taken for X's own.
@pytest.mark.parametrize('C, O', [(1, 2), (3, 4), (3, 3), (12, 11), (12, 2), (2, 12)])
def test_conv_matches_loops(k, stride, C, O):
    rng = np.random.RandomState(k * 10 + stride + C)
    layer = nn.conv_layer(C, O, k, stride)
    X = rng.randn(2, C, 9, 8)
    out = layer.forward(X)
    expected = naive_conv(X, layer.params['W'], layer.params['b'], stride, (k - 1) // 2)
    assert out.shape == expected.shape
    assert np.allclose(out, expected, rtol=0, atol=1e-10)

    grad = rng.randn(*out.shape)
    grad_X = layer.backward(X, grad)
    expected_X, expected_W, expected_b = naive_conv_backward(X, layer.params['W'], grad, stride, (k - 1) // 2)
    assert np.allclose(grad_X, expected_X, rtol=0, atol=1e-10)
    assert np.allclose(layer.gradient['W'], expected_W, rtol=0, atol=1e-10)
    assert np.allclose(layer.gradient['b'], expected_b, rtol=0, atol=1e-10)


@pytest.mark.parametrize('C, O', [(2, 3), (3, 3), (12, 12)])
def test_conv_backward_depends_on_its_forward_only(C, O):
    # The layer keeps the forward's columns for the backward, as the course's does: a second
    # backward gives the same, and a forward on other data, then on X again, changes nothing.
    rng = np.random.RandomState(7)
    layer = nn.conv_layer(C, O, 3, 1)
    X, other = rng.randn(2, C, 6, 5), rng.randn(3, C, 6, 5)
    grad = rng.randn(2, O, 6, 5)
    layer.forward(X)
    first = layer.backward(X, grad), layer.gradient['W'].copy()
    again = layer.backward(X, grad), layer.gradient['W'].copy()
    layer.forward(other)
    layer.forward(X)
    after_other = layer.backward(X, grad), layer.gradient['W'].copy()
    for result in (again, after_other):
        assert np.array_equal(result[0], first[0]) and np.array_equal(result[1], first[1])


def test_conv_keeps_size_at_stride_one():
    layer = nn.conv_layer(1, 25, 5, 1)
    assert layer.forward(np.zeros((3, 1, 28, 28))).shape == (3, 25, 28, 28)
    layer.input_is_data = True
    assert layer.backward(np.zeros((3, 1, 28, 28)), np.ones((3, 25, 28, 28))) is None


@pytest.mark.parametrize('k', [2, 3, 5])
@pytest.mark.parametrize('stride', [1, 2, 3])
@pytest.mark.parametrize('C', [1, 3])
@pytest.mark.parametrize('H, W', [(11, 9), (12, 6)])  # windows that leave pixels out, and (some) that tile
def test_max_pool_matches_loops(k, stride, C, H, W):
    rng = np.random.RandomState(k + stride + C)
    X = rng.randn(2, C, H, W)
    layer = nn.max_pool(k, stride)
    out = layer.forward(X)
    expected, route = naive_max_pool(X, k, stride)
    assert np.array_equal(out, expected)
    grad = rng.randn(*out.shape)
    assert np.allclose(layer.backward(X, grad), naive_max_pool_backward(X, grad, route), rtol=0, atol=1e-10)


def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order():
    X = np.array([[[[1.0, 3.0, 0.0, 0.0],
                    [3.0, 3.0, 0.0, 0.0],
                    [2.0, 2.0, 5.0, 1.0],
                    [2.0, 2.0, 1.0, 5.0]]]])
    layer = nn.max_pool(2, 2)
    assert np.array_equal(layer.forward(X), [[[[3.0, 0.0], [2.0, 5.0]]]])
    grad_X = layer.backward(X, np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    assert np.array_equal(grad_X, [[[[0.0, 10.0, 20.0, 0.0],
                                      [0.0, 0.0, 0.0, 0.0],
                                      [30.0, 0.0, 40.0, 0.0],
                                      [0.0, 0.0, 0.0, 0.0]]]])


def test_dropout_keeps_about_one_minus_r_and_scales():
    np.random.seed(0)
    layer = nn.dropout(0.3)
    out = layer.forward(np.ones((200, 500)), is_train=True)
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.01
    assert np.allclose(out[kept], 1 / 0.7)
    grad = layer.backward(np.ones((200, 500)), np.full((200, 500), 2.0))
    assert np.array_equal(grad != 0, kept) and np.allclose(grad[kept], 2 / 0.7)


def test_dropout_draws_nothing_at_test_time():
    layer = nn.dropout(0.5)
    X = np.arange(6.0).reshape(2, 3)
    np.random.seed(0)
    assert np.array_equal(layer.forward(X, is_train=False), X)
    assert np.array_equal(layer.backward(X, X + 1), X + 1)
    next_draw = np.random.uniform()
    np.random.seed(0)
    assert np.random.uniform() == next_draw


def test_dropout_draws_even_at_rate_zero():
    np.random.seed(7)
    layer = nn.dropout(0.0)
    X = np.arange(12.0).reshape(3, 4)
    assert np.array_equal(layer.forward(X, is_train=True), X)
    next_draw = np.random.uniform()
    np.random.seed(7)
    np.random.uniform(0.0, 1.0, X.shape)
    assert np.random.uniform() == next_draw


def test_dropout_uses_the_course_draw():
    np.random.seed(11)
    out = nn.dropout(0.4).forward(np.ones((3, 5)), is_train=True)
    np.random.seed(11)
    expected = (np.random.uniform(0.0, 1.0, (3, 5)) >= 0.4) / 0.6
    assert np.array_equal(out, expected)


def test_add_momentum_has_a_zero_array_per_parameter():
    model = {'L1': nn.linear_layer(4, 3), 'nonlinear1': nn.relu(), 'C1': nn.conv_layer(2, 5, 3, 1),
             'loss': nn.softmax_cross_entropy()}
    velocity = nn.add_momentum(model)
    shapes = {'L1_W': (4, 3), 'L1_b': (1, 3), 'C1_W': (5, 2, 3, 3), 'C1_b': (5, 1)}
    assert {key: value.shape for key, value in velocity.items()} == shapes
    assert all(not value.any() and value.dtype == np.float64 for value in velocity.values())


@pytest.mark.parametrize('make, shapes', [
    (lambda: nn.linear_layer(6, 4), [(6, 4), (1, 4)]),
    (lambda: nn.conv_layer(3, 2, 5, 1), [(2, 3, 5, 5), (2, 1)]),
])
def test_initialisation_draws_W_then_b(make, shapes):
    np.random.seed(2)
    layer = make()
    np.random.seed(2)
    W, b = (np.random.normal(0, 0.1, shape) for shape in shapes)
    assert np.array_equal(layer.params['W'], W) and np.array_equal(layer.params['b'], b)
    assert all(value.dtype == np.float64 for value in layer.params.values())
