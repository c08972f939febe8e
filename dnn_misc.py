"""The modules of a neural network, each with a forward and a backward pass.

A module's `forward` maps its input to its output. Its `backward(X, grad)`
takes the same input X and the gradient of the loss with respect to the
output, stores the gradients with respect to its parameters in
`self.gradient` (same keys and shapes as `self.params`) and returns the
gradient with respect to X. Shapes: N is the minibatch size; images are
(N, C, H, W). All arrays are float64.

Random draws (initialisation, dropout masks) go through NumPy's global
generator in a fixed order, so that a run seeded with `np.random.seed` is
reproducible draw for draw.

Callers keep the course's contract: `forward` then `backward` on the very
same X, with two arguments. The file needs NumPy only, so that it also runs
in the course's own folder, beside the course's `dnn_im2col.py`: its window
gathering, in layouts faster for these modules, is at the end of the file.
"""
import numpy as np


class linear_layer:
    """Affine map u = X W + b.

    input_D, output_D: sizes of the input and output features.
    params: 'W' (input_D, output_D) and 'b' (1, output_D), both drawn from
    N(0, 0.1^2), W first.
    input_is_data: set True on a first layer, whose input is data: then
    `backward` skips dL/dX, which nothing would use, and returns None. It
    also computes dL/dW only on the rows of the input's nonzero columns
    (MNIST pixels are mostly zero), and lists them in `gradient_rows`, where
    this NumPy's BLAS gives those rows the full product's very numbers
    (_row_products_match).
    gradient_rows: None, or slices of rows outside which gradient['W'] is
    exactly zero. An optimizer may update only those rows when a zero
    gradient leaves a parameter as it is.
    """
    input_is_data = False

    def __init__(self, input_D, output_D):
        self.params = {
            'W': np.random.normal(0, 0.1, (input_D, output_D)),
            'b': np.random.normal(0, 0.1, (1, output_D)),
        }
        self.gradient = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.gradient_rows = None
        self._written_rows = None  # rows of gradient['W'] the last sparse backward wrote; None: all

    def forward(self, X):
        """X: (N, input_D). Returns X W + b: (N, output_D)."""
        return X @ self.params['W'] + self.params['b']

    def backward(self, X, grad):
        """X: (N, input_D); grad = dL/du: (N, output_D).

        Stores dL/dW = X^T grad (input_D, output_D) and dL/db = the column
        sums of grad (1, output_D). Returns dL/dX = grad W^T (N, input_D), or
        None when `input_is_data`.
        """
        np.sum(grad, axis=0, keepdims=True, out=self.gradient['b'])
        sparse = self.input_is_data and _row_products_match(X.shape[0], *self.params['W'].shape)
        rows, written = _nonzero_column_runs(X) if sparse else (None, None)
        if rows is None:
            np.matmul(X.T, grad, out=self.gradient['W'])
            self.gradient_rows = self._written_rows = None
        else:
            self._store_row_gradients(X, grad, rows, written)
        return None if self.input_is_data else grad @ self.params['W'].T

    def _store_row_gradients(self, X, grad, rows, written):
        """gradient['W'] = X^T grad, with a product only on `rows` (`written`, as a mask): elsewhere
        X's column, and so the gradient's row, is zero. Each row gets the very numbers of the full product."""
        dW = self.gradient['W']
        for part in rows:
            np.matmul(X[:, part].T, grad, out=dW[part])
        stale = ~written if self._written_rows is None else self._written_rows & ~written
        dW[stale] = 0.0
        self.gradient_rows, self._written_rows = rows, written


class relu:
    """Rectified linear unit, elementwise: max(0, X). No parameters."""

    def forward(self, X):
        """X: any shape. Returns max(0, X), same shape."""
        return np.maximum(X, 0)

    def backward(self, X, grad):
        """X, grad = dL/d(output): same shape. Returns grad where X > 0, else 0."""
        # A float mask, made by the comparison itself: NumPy multiplies floats by booleans slowly.
        mask = np.greater(X, 0, out=np.empty_like(grad))
        return np.multiply(grad, mask, out=mask)


class dropout:
    """Inverted dropout with rate r in [0, 1).

    In training each entry is kept when a fresh uniform draw p in [0, 1)
    has p >= r, and kept entries are scaled by 1 / (1 - r); the mask is drawn
    even when r = 0, as the course pipeline does. At test time the output is
    the input and nothing is drawn. No parameters.
    """

    def __init__(self, r):
        self.r = r
        self.mask = None
        self._ahead = None  # draw_ahead's draws, for the next training forward

    def draw_ahead(self, shape):
        """Make now the draws of the next training forward, on an input of `shape`: the numbers it
        would draw itself as long as nothing draws in between. So a caller may have them made in
        another thread while the layers before this one run."""
        self._ahead = np.random.random_sample(shape)

    def forward(self, X, is_train):
        """X: any shape. Returns X times a new mask (training) or X itself (testing)."""
        if not is_train:
            self.mask = None
            return X
        # The same draws as np.random.uniform(0.0, 1.0, X.shape), without its scaling passes;
        # the mask is made in their array: 1.0 where kept, 0.0 elsewhere, then scaled.
        self.mask, self._ahead = self._ahead, None
        if self.mask is None:
            self.mask = np.random.random_sample(X.shape)
        elif self.mask.shape != X.shape:
            raise ValueError(f'dropout drew ahead for an input of shape {self.mask.shape}, not {X.shape}')
        np.greater_equal(self.mask, self.r, out=self.mask)
        self.mask *= 1.0 / (1.0 - self.r)
        return X * self.mask

    def backward(self, X, grad):
        """X, grad = dL/d(output): same shape. Returns grad times the forward's mask."""
        return grad if self.mask is None else grad * self.mask


class conv_layer:
    """2-D convolution (cross-correlation) with zero padding (filter_len - 1) // 2.

    num_input, num_output: channels in and out; filter_len: k of the k x k
    filters; stride: step between windows. At stride 1 the output keeps the
    input's height and width.
    params: 'W' (num_output, num_input, k, k) and 'b' (num_output, 1), both
    drawn from N(0, 0.1^2), W first.
    input_is_data: as for linear_layer, skips dL/dX.
    """
    input_is_data = False

    def __init__(self, num_input, num_output, filter_len, stride):
        self.filter_len = filter_len
        self.stride = stride
        self.padding = (filter_len - 1) // 2
        self.params = {
            'W': np.random.normal(0, 0.1, (num_output, num_input, filter_len, filter_len)),
            'b': np.random.normal(0, 0.1, (num_output, 1)),
        }
        self.gradient = {key: np.zeros_like(value) for key, value in self.params.items()}
        self._input = self._blocks = None

    def _cached_windows(self, X, reuse):
        """_windows of X; with `reuse`, the forward pass's when that pass saw this same X."""
        if not (reuse and X is self._input):
            self._input = X
            self._blocks = _windows(X, self.filter_len, self.stride, self.padding)
        return self._blocks

    def _weight_matrix(self):
        """W as (num_output, k * k * num_input), columns in the (i, j, c) order of _windows's rows."""
        O = len(self.params['W'])
        return self.params['W'].transpose(0, 2, 3, 1).reshape(O, -1)

    def forward(self, X):
        """X: (N, num_input, H, W). Returns (N, num_output, Ho, Wo), where
        out[n, o] = b[o] + sum over c, i, j of W[o, c, i, j] X_pad[n, c, y s + i, x s + j]."""
        N, _, H, W = X.shape
        k, s, p = self.filter_len, self.stride, self.padding
        blocks, order = self._cached_windows(X, reuse=False)
        out = _multiply(self._weight_matrix(), blocks)
        out += self.params['b']  # in place: a second temporary of this size costs more than the product
        return _as_images(out, (N, len(out), _output_size(H + 2 * p, k, s), _output_size(W + 2 * p, k, s)), order)

    def backward(self, X, grad):
        """X: (N, num_input, H, W); grad = dL/d(output): (N, num_output, Ho, Wo).

        Stores dL/dW (num_output, num_input, k, k) and dL/db (num_output, 1).
        Returns dL/dX (N, num_input, H, W), or None when `input_is_data`.
        The two halves, parameter_gradients and input_gradient, share
        nothing they write: a caller may run them at once, in two threads.
        """
        self.parameter_gradients(X, grad)
        return self.input_gradient(X, grad)

    def parameter_gradients(self, X, grad):
        """backward's first half: stores dL/dW and dL/db."""
        O, C, k, _ = self.params['W'].shape
        blocks, order = self._cached_windows(X, reuse=True)
        grad_rows = _as_rows(grad, order)
        grad_W = np.empty((O, k * k * C))
        for columns, block in _beside(grad_W, blocks):
            np.matmul(grad_rows, block.T, out=columns)
        self.gradient['W'] = grad_W.reshape(O, k, k, C).transpose(0, 3, 1, 2).copy()
        self.gradient['b'] = grad_rows.sum(axis=1, keepdims=True)

    def input_gradient(self, X, grad):
        """backward's second half: returns dL/dX, or None when `input_is_data`."""
        if self.input_is_data:
            return None
        O, C, k, _ = self.params['W'].shape
        if self.stride == 1 and k % 2 == 1:
            # Here dL/dX is itself a 'same' convolution: of grad with the filters
            # flipped in space, input and output channels swapped. Its gather and
            # products cost less than _col2im's scatter-adds.
            flipped = self.params['W'][:, :, ::-1, ::-1].transpose(1, 2, 3, 0).reshape(C, -1)
            blocks, order = _windows(grad, k, 1, self.padding)
            # Copied into X's memory layout, which the layers below share: NumPy's elementwise
            # passes over arrays of two layouts are much slower (the first max_pool's backward in
            # Q3.10: 499 against 361 us; the copy costs about 30).
            grad_X = np.empty_like(X)
            grad_X[...] = _as_images(_multiply(flipped, blocks), X.shape, order)
            return grad_X
        return _col2im(self._weight_matrix().T @ _as_rows(grad, BY_SAMPLE), X.shape, k, self.stride, self.padding)


class max_pool:
    """Max pooling over max_len x max_len windows moved by `stride`, no padding. No parameters.

    Both passes go in two steps: along each row of every window (the row
    maxima), then down the rows. When windows tile the image, the first step's
    strided views collapse into single long loops, which NumPy runs far faster
    than the k * k short-rowed views of a window-offset-at-a-time pass.
    """

    def __init__(self, max_len, stride):
        self.max_len = max_len
        self.stride = stride
        self._input = self._row_max = self._output = None

    def _offsets(self, size):
        """_window_slices along an axis of `size` pixels: for each offset in a window, that pixel of every window."""
        k, s = self.max_len, self.stride
        return _window_slices(k, s, _output_size(size, k, s))

    def forward(self, X):
        """X: (N, C, H, W). Returns each window's maximum: (N, C, Ho, Wo)."""
        row_max = _maximum([X[:, :, :, cols] for cols in self._offsets(X.shape[3])])  # (N, C, H, Wo)
        out = _maximum([row_max[:, :, rows] for rows in self._offsets(X.shape[2])])
        self._input, self._row_max, self._output = X, row_max, out
        return out

    def backward(self, X, grad):
        """X: (N, C, H, W); grad = dL/d(output): (N, C, Ho, Wo).

        Returns dL/dX (N, C, H, W): each window's gradient goes to its first
        maximal element in row-major order, and overlapping windows add up.
        That element lies in the window's first row holding the maximum, and
        is the first maximum of that row: so grad goes first to rows, then
        along them.
        """
        if X is not self._input:
            self.forward(X)
        k, s = self.max_len, self.stride
        H, W = X.shape[2:]
        tiling = s == k and H % k == 0 and W % k == 0  # every pixel in exactly one window
        new = np.empty_like if tiling else np.zeros_like
        add = s < k  # windows overlap: their gradients add up
        row_max = self._row_max
        grad_rows = new(row_max)
        _route(grad, self._output, [(row_max[:, :, rows], grad_rows[:, :, rows]) for rows in self._offsets(H)], add)
        grad_X = new(X)
        _route(grad_rows, row_max, [(X[:, :, :, cols], grad_X[:, :, :, cols]) for cols in self._offsets(W)], add)
        return grad_X


def _maximum(arrays):
    """Elementwise maximum of equally shaped arrays, as a new array in their memory layout."""
    if len(arrays) == 1:
        return arrays[0].copy(order='K')
    out = np.maximum(arrays[0], arrays[1])
    for array in arrays[2:]:
        np.maximum(out, array, out=out)
    return out


def _route(grad, maxima, pairs, add):
    """Send each entry of grad to the first (values, target) pair whose values equal `maxima` there.

    `pairs` lists views (values, target) of the same shape as grad; each
    target gets (or, with `add`, adds) the entries of grad routed to it. The
    last pair takes whatever is left: one of them holds the maximum.
    """
    hit = np.empty_like(grad)  # a float mask, as in relu.backward: 1.0 where these values hold the maximum
    rest = grad
    *firsts, (_, last) = pairs
    for number, (values, target) in enumerate(firsts, start=1):
        np.equal(values, maxima, out=hit)
        if add:
            part = rest * hit
            target += part
            rest = rest - part  # exactly rest, or zero where routed
        else:
            part = np.multiply(rest, hit, out=target)
            # What is left after the last comparison is the last pair's: written straight there.
            rest = np.subtract(rest, part, out=last if number == len(firsts) else None)
    if add:
        last += rest
    elif not firsts:
        last[...] = rest


class flatten_layer:
    """Reshape (N, C, H, W) to (N, C * H * W) in C order, and back. No parameters."""

    def forward(self, X):
        """X: (N, ...). Returns (N, product of the other dimensions)."""
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

    def __init__(self):
        self._scores = self._prob = None

    def forward(self, X, Y):
        """Returns the mean over the batch of -log softmax(X)[n, Y[n]], a float.

        Keeps softmax(X) for a backward on the same X, which the training loop
        makes at every step, as the course's loss does.
        """
        shifted = X - X.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        self._scores, self._prob = X, exp / total
        log_prob = shifted[np.arange(len(X)), Y.reshape(-1).astype(np.intp)] - np.log(total[:, 0])
        return -(log_prob.sum() / len(X))

    def backward(self, X, Y):
        """Returns dL/dX = (softmax(X) - onehot(Y)) / N: (N, K)."""
        grad = self._prob.copy() if X is self._scores else softmax(X)
        grad[np.arange(len(X)), Y.reshape(-1).astype(int)] -= 1.0
        return grad / len(X)


class sigmoid_cross_entropy:
    """Sigmoid followed by the mean binary cross-entropy loss. No parameters.

    X: scores (N, 1); Y: labels (N, 1) in {0, 1}. sigmoid(x) is the first
    class's probability in a two-class softmax over the scores [x, 0], which
    is how both passes compute it: stably, for any finite score.
    """

    def forward(self, X, Y):
        """Returns the mean over the batch of -log sigmoid(X) where Y = 1, -log(1 - sigmoid(X)) where Y = 0."""
        return softmax_cross_entropy().forward(_two_class_scores(X), 1 - Y)

    def backward(self, X, Y):
        """Returns dL/dX = (sigmoid(X) - Y) / N: (N, 1)."""
        return (softmax(_two_class_scores(X))[:, :1] - Y) / len(X)


def _two_class_scores(X):
    """Scores (N, 1) as the two-class scores [X, 0]: (N, 2)."""
    return np.hstack([X, np.zeros_like(X)])


def add_momentum(model):
    """Zero velocities for a model dict: {module_name + '_' + key: zeros shaped like that parameter}."""
    return {
        name + '_' + key: np.zeros_like(value)
        for name, module in model.items() if hasattr(module, 'params')
        for key, value in module.params.items()
    }


# Window gathering for conv_layer and max_pool. The course's dnn_im2col.py
# has other layouts: offset-major columns let one matrix product per minibatch
# (or per window row, _windows) do a whole convolution on channel-major images.

_ROW_PRODUCTS_MATCH = {}


def _row_products_match(N, input_D, output_D):
    """Whether this NumPy's BLAS computes each row of X^T grad (X: N x input_D, grad: N x output_D)
    the same in a product over a run of rows as in the full product. So in NumPy 2.4's OpenBLAS
    (0.3.31), from two rows up; not in NumPy 2.0's, where nearly every run rounds otherwise.
    Tried once per shape, on random numbers of a generator of its own (the global one's draws
    stay as they are): every run of 2 to 33 rows at offsets 0 to 3, and some longer ones."""
    key = N, input_D, output_D
    if key not in _ROW_PRODUCTS_MATCH:
        rng = np.random.RandomState(0)
        X, grad = rng.rand(N, input_D), rng.randn(N, output_D)
        full, rows = X.T @ grad, np.empty((input_D, output_D))
        runs = [slice(a, a + n) for n in [*range(2, 34), 64, 100, 333] for a in range(4) if a + n <= input_D]
        _ROW_PRODUCTS_MATCH[key] = all(np.array_equal(np.matmul(X[:, run].T, grad, out=rows[run]), full[run])
                                       for run in runs)
    return _ROW_PRODUCTS_MATCH[key]


def _nonzero_column_runs(X, most=32):
    """(slices, mask): slices of consecutive columns of X (N, D) that cover every column holding a
    nonzero, each at least two wide and disjoint, and the (D,) mask of the columns they cover; or
    (None, None) when there are more than `most` of them (or D < 2).

    NumPy multiplies a one-column matrix by another routine than a wider one, which may round
    differently; from two columns up, each entry of a product is the full product's.
    """
    D = X.shape[1]
    if D < 2:
        return None, None
    padded = np.zeros(D + 2, dtype=bool)
    np.any(X, axis=0, out=padded[1:-1])
    cover = padded.copy()
    alone = padded[1:-1] & ~padded[:-2] & ~padded[2:]  # nonzero columns with zero ones on both sides
    cover[2:] |= alone  # each takes the zero column on its right along,
    cover[D - 1] |= alone[-1]  # the last column the one on its left,
    cover[D + 1] = False  # and the padding stays zero
    edges = np.flatnonzero(np.diff(cover.view(np.int8)))  # where runs start and stop
    if len(edges) > 2 * most:
        return None, None
    return [slice(a, b) for a, b in zip(edges[0::2].tolist(), edges[1::2].tolist())], cover[1:-1]


def _output_size(size, k, stride):
    """Number of window positions along an axis of `size` pixels (no padding)."""
    return (size - k) // stride + 1


def _window_slices(k, stride, count):
    """Along one axis, for each offset t in 0 .. k - 1: the slice picking the pixel at t in each of
    `count` windows moved by `stride`."""
    return [slice(t, t + stride * (count - 1) + 1, stride) for t in range(k)]


def _window_offsets(k, stride, Ho, Wo):
    """For each offset (i, j) inside a window, row by row: (i * k + j, index of the pixels at that offset).

    For an image batch X of shape (N, C, H, W) or (C, N, H, W), X[index] has
    its first two axes and then (Ho, Wo): the pixel at offset (i, j) of every window.
    """
    rows, cols = _window_slices(k, stride, Ho), _window_slices(k, stride, Wo)
    for i in range(k):
        for j in range(k):
            yield i * k + j, (slice(None), slice(None), rows[i], cols[j])


# A window row of at least this many numbers (k * C) is multiplied as a block of its own
# (_windows); with fewer, BLAS's products over such short rows cost more than the copies they save.
# The forward pass of a convolution with k = 3, minibatches of 5, took 1.20 (C = 2 and 4) and 1.41
# (C = 8) times its time with _im2col; 0.70 (C = 11), 0.84 (C = 16) and 0.74 (C = 25) of it.
ROW_BLOCK_MIN = 32


# The two column orders of _windows, as the axes of an (N, C, Ho, Wo) batch its rows run over:
# (n, y, x), as _im2col's, and (y, n, x), as its blocks per window row.
BY_SAMPLE, BY_ROW = (1, 0, 2, 3), (1, 2, 0, 3)


def _windows(X, k, stride, pad):
    """Every k x k window of X (N, C, H, W), zero-padded by `pad`, as columns for a convolution's
    products: (blocks, order). Stacked, the blocks are an im2col matrix: rows in (i, j, c) order,
    one column per window, in `order`: BY_SAMPLE or BY_ROW.

    At stride 1, when a window row holds at least ROW_BLOCK_MIN numbers, there is a block per
    window row i, each a view of one array: for each column offset j, X's pixels shifted by j, in
    (y, n, x) order, so that rows i .. i + Ho - 1 of every sample are one run of memory. The image
    is then copied k times, not k * k as by _im2col, which gives one block in (n, y, x) order.
    """
    N, C = X.shape[:2]
    if stride == 1 and k * C >= ROW_BLOCK_MIN:
        shifted = _shifted_columns(X, k, stride, pad, BY_ROW)  # (k, C, H + 2 pad, N, Wo)
        Ho, run = shifted.shape[2] - k + 1, N * shifted.shape[4]
        shifted = shifted.reshape(k * C, -1)
        return [shifted[:, i * run:(i + Ho) * run] for i in range(k)], BY_ROW
    return [_im2col(X, k, stride, pad)], BY_SAMPLE


def _beside(matrix, blocks):
    """Each block of _windows with its columns of `matrix`, whose columns match the blocks' rows
    stacked: [(view of those columns, block)]."""
    width = len(blocks[0])
    return [(matrix[:, number * width:(number + 1) * width], block) for number, block in enumerate(blocks)]


def _multiply(weights, blocks):
    """weights @ (the blocks stacked), as a sum of products of each block with its columns of weights."""
    (first_weights, first), *others = _beside(weights, blocks)
    out = first_weights @ first
    for columns, block in others:
        out += columns @ block
    return out


def _as_images(rows, shape, order):
    """rows (C, N * Ho * Wo), columns in `order` (BY_SAMPLE or BY_ROW), as an (N, C, Ho, Wo) = shape view."""
    return rows.reshape([shape[axis] for axis in order]).transpose([order.index(axis) for axis in range(4)])


def _as_rows(images, order):
    """Inverse of _as_images: an (N, C, Ho, Wo) batch as (C, N * Ho * Wo), columns in `order`."""
    return images.transpose(order).reshape(images.shape[1], -1)


def _shifted_columns(X, k, stride, pad, order=BY_SAMPLE):
    """For each column offset j of a k x k window moved by `stride` over X (N, C, H, W)
    zero-padded by `pad`: shifted[j, c, n, y, x] = the padded image's pixel (y, x * stride + j),
    taken straight from X. Axes (k, C, N, H + 2 pad, Wo) for BY_SAMPLE, (k, C, H + 2 pad, N, Wo)
    for BY_ROW: after j, X's axes in `order`."""
    N, C, H, W = X.shape
    Wo = _output_size(W + 2 * pad, k, stride)
    image = X.transpose(order)
    rows = order.index(2)
    shape, inside = [*image.shape[:3], Wo], [slice(None)] * 3
    shape[rows], inside[rows] = H + 2 * pad, slice(pad, pad + H)
    shifted = np.zeros((k, *shape))
    for j in range(k):
        # Window x takes image column x * stride + j - pad: inside the image for x in [first, stop).
        first = max(0, -(-(pad - j) // stride))
        stop = min(Wo, (W - 1 + pad - j) // stride + 1)
        if first < stop:
            source = slice(first * stride + j - pad, (stop - 1) * stride + j - pad + 1, stride)
            shifted[(j, *inside, slice(first, stop))] = image[:, :, :, source]
    return shifted


def _im2col(X, k, stride, pad):
    """Every k x k window of X, zero-padded by `pad` on each side, as a column.

    X: (N, C, H, W). Returns (k * k * C, N * Ho * Wo): rows in (i, j, c)
    order, columns in (n, y, x) order; the rows of one offset (i, j) form
    one contiguous (C, N, Ho, Wo) block.

    In two steps, so that the image's short rows are copied k times, not
    k * k: first _shifted_columns, straight from X; then for each row
    offset i, the windows' rows y * stride + i of those, at stride 1 one run
    of Ho * Wo numbers per channel and sample.
    """
    N, C, H, W = X.shape
    Ho, Wo = _output_size(H + 2 * pad, k, stride), _output_size(W + 2 * pad, k, stride)
    shifted = _shifted_columns(X, k, stride, pad)
    cols = np.empty((k, k, C, N, Ho, Wo))
    for i, rows in enumerate(_window_slices(k, stride, Ho)):
        cols[i] = shifted[:, :, :, rows]
    return cols.reshape(k * k * C, N * Ho * Wo)


def _col2im(cols, X_shape, k, stride, pad):
    """Adjoint of `_im2col`: add every column back onto the pixels it was copied from.

    cols: (k * k * C, N * Ho * Wo); X_shape: (N, C, H, W) of the unpadded input.
    Returns (N, C, H, W), each pixel the sum over all windows that cover it.
    """
    N, C, H, W = X_shape
    Ho, Wo = _output_size(H + 2 * pad, k, stride), _output_size(W + 2 * pad, k, stride)
    cols = cols.reshape(k * k, C, N, Ho, Wo)
    padded = np.zeros((C, N, H + 2 * pad, W + 2 * pad))
    for offset, index in _window_offsets(k, stride, Ho, Wo):
        padded[index] += cols[offset]
    return padded[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)
