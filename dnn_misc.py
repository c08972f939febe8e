"""The modules of a neural network, each with a forward and a backward pass.

A module's `forward` maps its input to its output. Its `backward(X, grad)`
takes the same input X and grad = dL/d(output), stores the gradients of the
loss with respect to its parameters in `self.gradient` (same keys and shapes
as `self.params`) and returns dL/dX. N is the minibatch size; images are
(N, C, H, W); every array is float64.

Random draws (initialisation, dropout masks) come from NumPy's global
generator, in the course's order. The file needs NumPy only: it also runs in
the course's own folder, beside the course's dnn_im2col.py.
"""
import numpy as np


class linear_layer:
    """Affine map u = X W + b.

    input_D, output_D: sizes of the input and output features.
    params: 'W' (input_D, output_D) and 'b' (1, output_D), both drawn from
    N(0, 0.1^2), W first.
    input_is_data: set True on a network's first layer. Nothing needs the
    gradient with respect to the data, so backward skips it, returning None.
    """

    def __init__(self, input_D, output_D):
        self.params = {
            'W': np.random.normal(0, 0.1, (input_D, output_D)),
            'b': np.random.normal(0, 0.1, (1, output_D)),
        }
        self.gradient = {'W': np.zeros((input_D, output_D)), 'b': np.zeros((1, output_D))}
        self.input_is_data = False

    def forward(self, X):
        """X: (N, input_D). Returns u = X W + b: (N, output_D)."""
        return X @ self.params['W'] + self.params['b']

    def backward(self, X, grad):
        """X: (N, input_D); grad = dL/du: (N, output_D).

        Stores dL/dW = X^T grad (input_D, output_D) and dL/db = the column
        sums of grad (1, output_D). Returns dL/dX = grad W^T (N, input_D), or
        None when `input_is_data`.
        """
        np.matmul(X.T, grad, out=self.gradient['W'])
        np.sum(grad, axis=0, keepdims=True, out=self.gradient['b'])
        if self.input_is_data:
            return None
        return grad @ self.params['W'].T


class relu:
    """Rectified linear unit, elementwise: max(0, X). No parameters."""

    def forward(self, X):
        """X: any shape. Returns max(0, X), same shape."""
        return np.maximum(X, 0)

    def backward(self, X, grad):
        """X, grad = dL/d(output): same shape. Returns grad where X > 0, else 0."""
        return grad * (X > 0)


class dropout:
    """Inverted dropout with rate r in [0, 1). No parameters.

    In training, each entry is kept where a fresh uniform draw p in [0, 1)
    has p >= r, and kept entries are scaled by 1 / (1 - r); the mask is drawn
    even when r = 0. At test time the output is the input, and nothing is drawn.
    """

    def __init__(self, r):
        self.r = r
        self.mask = None

    def forward(self, X, is_train):
        """X: any shape. Returns X times a new mask (training) or X (testing)."""
        if not is_train:
            self.mask = np.ones(X.shape)  # so that a backward after it hands grad back unchanged
            return X
        self.mask = (np.random.uniform(0.0, 1.0, X.shape) >= self.r) / (1.0 - self.r)
        return X * self.mask

    def backward(self, X, grad):
        """X, grad = dL/d(output): same shape. Returns grad times the forward's mask."""
        return grad * self.mask


class conv_layer:
    """2-D convolution (a cross-correlation) with zero padding (filter_len - 1) // 2.

    num_input, num_output: channels in and out; filter_len: k of the k x k
    filters; stride: the step between windows. At stride 1 the output keeps
    the input's height and width.
    params: 'W' (num_output, num_input, k, k) and 'b' (num_output, 1), both
    drawn from N(0, 0.1^2), W first.
    input_is_data: as for linear_layer.

    Both passes are matrix products with the im2col matrix of every window
    (`_im2col`), which the forward pass keeps for the backward pass.
    """

    def __init__(self, num_input, num_output, filter_len, stride):
        self.filter_len = filter_len
        self.stride = stride
        self.padding = (filter_len - 1) // 2
        self.params = {
            'W': np.random.normal(0, 0.1, (num_output, num_input, filter_len, filter_len)),
            'b': np.random.normal(0, 0.1, (num_output, 1)),
        }
        self.gradient = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.X_col = None
        self.input_is_data = False

    def _W_col(self):
        """W as (num_output, k * k * num_input), its columns in the (i, j, c) order of _im2col's rows."""
        return self.params['W'].transpose(0, 2, 3, 1).reshape(len(self.params['W']), -1)

    def forward(self, X):
        """X: (N, num_input, H, W). Returns (N, num_output, Ho, Wo):
        out[n, o, y, x] = b[o] + sum over c, i, j of W[o, c, i, j] X_pad[n, c, y s + i, x s + j]."""
        N, _, H, W = X.shape
        k, s, p = self.filter_len, self.stride, self.padding
        self.X_col = _im2col(X, k, s, p)
        out = self._W_col() @ self.X_col
        out += self.params['b']  # in place: a second array of this size costs more than the addition
        return _as_images(out, N, _out_size(H + 2 * p, k, s), _out_size(W + 2 * p, k, s))

    def backward(self, X, grad):
        """X: (N, num_input, H, W); grad = dL/d(output): (N, num_output, Ho, Wo).

        Stores dL/dW (num_output, num_input, k, k) and dL/db (num_output, 1).
        Returns dL/dX (N, num_input, H, W), or None when `input_is_data`.
        """
        O, C, k, _ = self.params['W'].shape
        N, _, H, W = X.shape
        grad_rows = grad.transpose(1, 0, 2, 3).reshape(O, -1)  # (O, N * Ho * Wo), columns as _im2col's
        self.gradient['W'] = (grad_rows @ self.X_col.T).reshape(O, k, k, C).transpose(0, 3, 1, 2).copy()
        self.gradient['b'] = grad_rows.sum(axis=1, keepdims=True)
        if self.input_is_data:
            return None
        if self.stride != 1 or k % 2 == 0:
            return _col2im(self._W_col().T @ grad_rows, X.shape, k, self.stride, self.padding)
        # At stride 1, dL/dX is itself a 'same' convolution: of grad, with the filters flipped in
        # space and the channels in and out swapped. Its gather costs less than _col2im's additions.
        flipped = self.params['W'][:, :, ::-1, ::-1].transpose(1, 2, 3, 0).reshape(C, -1)
        return _as_images(flipped @ _im2col(grad, k, 1, self.padding), N, H, W)


def _out_size(size, k, stride):
    """The number of window positions along an axis of `size` pixels."""
    return (size - k) // stride + 1


def _as_images(rows, N, Ho, Wo):
    """A product's rows (C, N * Ho * Wo), columns in (n, y, x) order, as images (N, C, Ho, Wo): a view."""
    return rows.reshape(len(rows), N, Ho, Wo).transpose(1, 0, 2, 3)


def _im2col(X, k, stride, pad):
    """Every k x k window of X (N, C, H, W), zero-padded by `pad`, as a column:
    (k * k * C, N * Ho * Wo), rows in (i, j, c) order, columns in (n, y, x) order."""
    N, C, H, W = X.shape
    Ho, Wo = _out_size(H + 2 * pad, k, stride), _out_size(W + 2 * pad, k, stride)
    padded = np.zeros((C, N, H + 2 * pad, W + 2 * pad))
    padded[:, :, pad:pad + H, pad:pad + W] = X.transpose(1, 0, 2, 3)
    cols = np.empty((k, k, C, N, Ho, Wo))
    for i in range(k):
        for j in range(k):
            cols[i, j] = padded[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride]
    return cols.reshape(k * k * C, N * Ho * Wo)


def _col2im(cols, X_shape, k, stride, pad):
    """The adjoint of _im2col: each column added back onto the pixels it came from. Returns X_shape."""
    N, C, H, W = X_shape
    Ho, Wo = _out_size(H + 2 * pad, k, stride), _out_size(W + 2 * pad, k, stride)
    cols = cols.reshape(k, k, C, N, Ho, Wo)
    padded = np.zeros((C, N, H + 2 * pad, W + 2 * pad))
    for i in range(k):
        for j in range(k):
            padded[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += cols[i, j]
    return padded[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)


class max_pool:
    """Max pooling over max_len x max_len windows moved by `stride`, no padding. No parameters.
    Both passes work on strided views of X: at one offset of every window, or at one of its rows."""

    def __init__(self, max_len, stride):
        self.max_len = max_len
        self.stride = stride
        self.maximum = None  # the forward's output, for the backward

    def _views(self, X):
        """For each offset in a window, row by row: the view (N, C, Ho, Wo) of X at it in every window."""
        k, s = self.max_len, self.stride
        Ho, Wo = _out_size(X.shape[2], k, s), _out_size(X.shape[3], k, s)
        return [X[:, :, i:i + s * Ho:s, j:j + s * Wo:s] for i in range(k) for j in range(k)]

    def forward(self, X):
        """X: (N, C, H, W). Returns each window's maximum: (N, C, Ho, Wo), taken as the
        maximum over its columns of the maximum over its rows, so that X is read along whole rows."""
        k, s = self.max_len, self.stride
        Ho, Wo = _out_size(X.shape[2], k, s), _out_size(X.shape[3], k, s)
        rows = X[:, :, 0:s * Ho:s]  # (N, C, Ho, W): for each window, the maximum of its rows so far
        for i in range(1, k):
            rows = np.maximum(rows, X[:, :, i:i + s * Ho:s])
        out = rows[:, :, :, 0:s * Wo:s]
        for j in range(1, k):
            out = np.maximum(out, rows[:, :, :, j:j + s * Wo:s])
        self.maximum = out
        return out

    def backward(self, X, grad):
        """X: (N, C, H, W); grad = dL/d(output): (N, C, Ho, Wo).

        Returns dL/dX (N, C, H, W): each window's gradient goes to the first
        of its elements, row by row, that holds its maximum; where windows
        overlap, their gradients add up.
        """
        k, s = self.max_len, self.stride
        tiles = s == k and X.shape[2] % k == 0 and X.shape[3] % k == 0  # each pixel in one window
        grad_X = np.empty_like(X) if tiles else np.zeros_like(X)
        rest = grad  # what no earlier offset has taken: zero once the window's first maximum took it
        for values, target in zip(self._views(X), self._views(grad_X)):
            taken = rest * (values == self.maximum)
            if tiles:
                target[...] = taken
            else:
                target += taken
            rest = rest - taken
        return grad_X


class flatten_layer:
    """Reshape (N, C, H, W) to (N, C * H * W) in C order, and back. No parameters."""

    def forward(self, X):
        """X: (N, ...). Returns (N, the product of the other dimensions)."""
        return X.reshape(len(X), -1)

    def backward(self, X, grad):
        """X: (N, C, H, W); grad: (N, C * H * W). Returns grad shaped like X."""
        return grad.reshape(X.shape)


def softmax(X):
    """Row-wise softmax of X (N, K), computed stably: (N, K)."""
    exp = np.exp(X - np.max(X, axis=1, keepdims=True))
    return exp / np.sum(exp, axis=1, keepdims=True)


class softmax_cross_entropy:
    """Softmax followed by the mean cross-entropy loss. No parameters.

    X: scores (N, K); Y: integer labels (N, 1) or (N,), in 0 .. K - 1.
    """

    def forward(self, X, Y):
        """Returns the mean over the batch of -log softmax(X)[n, Y[n]], a float."""
        shifted = X - np.max(X, axis=1, keepdims=True)
        log_total = np.log(np.sum(np.exp(shifted), axis=1))
        return -np.sum(shifted[np.arange(len(X)), Y.reshape(-1).astype(np.intp)] - log_total) / len(X)

    def backward(self, X, Y):
        """Returns dL/dX = (softmax(X) - onehot(Y)) / N: (N, K)."""
        grad = softmax(X)
        grad[np.arange(len(X)), Y.reshape(-1).astype(np.intp)] -= 1.0
        return grad / len(X)


class sigmoid_cross_entropy:
    """Sigmoid followed by the mean binary cross-entropy loss. No parameters.

    X: scores (N, 1); Y: labels (N, 1) in {0, 1}. sigmoid(x) is the first
    class's probability in a two-class softmax over the scores [x, 0], which
    is how both passes compute it: stably, for any finite score.
    """

    def forward(self, X, Y):
        """Returns the mean over the batch of -log sigmoid(X) where Y = 1, -log(1 - sigmoid(X)) where Y = 0."""
        return softmax_cross_entropy().forward(np.hstack([X, np.zeros_like(X)]), 1 - Y)

    def backward(self, X, Y):
        """Returns dL/dX = (sigmoid(X) - Y) / N: (N, 1)."""
        return (softmax(np.hstack([X, np.zeros_like(X)]))[:, :1] - Y) / len(X)


def add_momentum(model):
    """Zero velocities for a model dict: {module_name + '_' + key: zeros shaped like that parameter}."""
    return {
        name + '_' + key: np.zeros_like(value)
        for name, module in model.items() if hasattr(module, 'params')
        for key, value in module.params.items()
    }
