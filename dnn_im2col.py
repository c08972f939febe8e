"""The course's window gathering for convolution and pooling: its six functions, vectorised.

These keep the names, signatures, defaults, return shapes and layouts of the
course's `dnn_im2col.py` (an adaptation of CS231n's `im2col.py`), which the
course's `conv_layer` and `max_pool` in a student's `dnn_misc.py` call by name.
This repository's own modules do not use them: `dnn_misc.py` has its own
layouts, so that it also runs beside the course's file.

A field_height x field_width window slid with stride s over an image
zero-padded by p on each side stops at Ho x Wo positions,
Ho = (H + 2p - fh) // s + 1 and likewise Wo; a position q = y * Wo + x counts
them row by row. Inside each function only the fh * fw offsets of a window
are looped over, each moving one block of memory; nothing loops over
samples, channels or positions, and nothing uses np.add.at.
"""
import numpy as np


def _output_shape(x_shape, field_height, field_width, padding, stride):
    """(Ho, Wo) of windows slid over an (N, C, H, W) batch padded by `padding`."""
    _, _, H, W = x_shape
    return (H + 2 * padding - field_height) // stride + 1, (W + 2 * padding - field_width) // stride + 1


def _offsets(field_height, field_width, stride, Ho, Wo):
    """For each offset (a, b) in a window, row by row: (a, b, rows, cols), the slices that pick
    that offset's pixel in every window of a padded image."""
    for a in range(field_height):
        for b in range(field_width):
            yield a, b, slice(a, a + stride * (Ho - 1) + 1, stride), slice(b, b + stride * (Wo - 1) + 1, stride)


def _pad(x, padding, layout):
    """x (N, C, H, W) zero-padded by `padding` on each side, as a new array with axes in `layout`."""
    N, C, H, W = x.shape
    shape = np.array([N, C, H + 2 * padding, W + 2 * padding])[list(layout)]
    padded = np.zeros(shape, dtype=x.dtype)
    inside = [slice(None), slice(None), slice(padding, padding + H), slice(padding, padding + W)]
    padded[tuple(inside[axis] for axis in layout)] = x.transpose(layout)
    return padded


def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    """Where im2col_indices takes each entry from, for an (N, C, H, W) batch.

    Returns (k, i, j): k (C * fh * fw, 1), the channel of each row; i and j
    (C * fh * fw, Ho * Wo), the row and column in the padded image. Rows run
    by channel, then window row, then window column; columns by position.
    """
    C = x_shape[1]
    Ho, Wo = _output_shape(x_shape, field_height, field_width, padding, stride)
    k = np.repeat(np.arange(C), field_height * field_width).reshape(-1, 1)
    i = np.tile(np.repeat(np.arange(field_height), field_width), C)[:, None] + stride * np.repeat(np.arange(Ho), Wo)
    j = np.tile(np.arange(field_width), field_height * C)[:, None] + stride * np.tile(np.arange(Wo), Ho)
    return k, i, j


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    """Every window of x (N, C, H, W), zero-padded by `padding`, as a column.

    Returns cols (C * fh * fw, Ho * Wo * N) with
    cols[r, q * N + n] = x_padded[n, k[r], i[r, q], j[r, q]] (get_im2col_indices):
    column blocks by position q, samples innermost.
    """
    N, C, _, _ = x.shape
    Ho, Wo = _output_shape(x.shape, field_height, field_width, padding, stride)
    padded = _pad(x, padding, (1, 2, 3, 0))  # (C, Hp, Wp, N): a window row is one run of memory
    cols = np.empty((C, field_height, field_width, Ho, Wo, N), dtype=x.dtype)
    for a, b, rows, columns in _offsets(field_height, field_width, stride, Ho, Wo):
        cols[:, a, b] = padded[:, rows, columns]
    return cols.reshape(C * field_height * field_width, Ho * Wo * N)


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    """Adjoint of im2col_indices: each entry of cols added where im2col_indices took it from.

    cols: (C * fh * fw, Ho * Wo * N); x_shape: (N, C, H, W). Returns
    (N, C, H, W): the padded image's sums, the padding cropped.
    """
    N, C, H, W = x_shape
    Ho, Wo = _output_shape(x_shape, field_height, field_width, padding, stride)
    cols = cols.reshape(C, field_height, field_width, Ho, Wo, N)
    padded = np.zeros((C, H + 2 * padding, W + 2 * padding, N), dtype=cols.dtype)
    # Within one offset the windows take distinct pixels, so a plain += adds each once.
    for a, b, rows, columns in _offsets(field_height, field_width, stride, Ho, Wo):
        padded[:, rows, columns] += cols[:, a, b]
    return padded[:, padding:padding + H, padding:padding + W].transpose(3, 0, 1, 2)


def get_maxpool_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    """Like get_im2col_indices without channels: (i, j), each (fh * fw, Ho * Wo)."""
    Ho, Wo = _output_shape(x_shape, field_height, field_width, padding, stride)
    i = np.repeat(np.arange(field_height), field_width)[:, None] + stride * np.repeat(np.arange(Ho), Wo)
    j = np.tile(np.arange(field_width), field_height)[:, None] + stride * np.tile(np.arange(Wo), Ho)
    return i, j


def maxpool_im2col_indices(x, field_height, field_width, padding=0, stride=1):
    """Each window's maximum over x (N, C, H, W), zero-padded by `padding`.

    Returns (max_cols, argmax_cols), each (N, C, Ho * Wo): the maximum, and
    the index 0 .. fh * fw - 1 (row-major within the window) of its first
    occurrence.
    """
    N, C, _, _ = x.shape
    Ho, Wo = _output_shape(x.shape, field_height, field_width, padding, stride)
    padded = _pad(x, padding, (0, 1, 2, 3))
    windows = np.empty((field_height * field_width, N, C, Ho, Wo), dtype=x.dtype)
    for a, b, rows, columns in _offsets(field_height, field_width, stride, Ho, Wo):
        windows[a * field_width + b] = padded[:, :, rows, columns]
    return windows.max(axis=0).reshape(N, C, -1), windows.argmax(axis=0).reshape(N, C, -1)


def maxpool_col2im_indices(grad, argmax_cols, x_shape, field_height=3, field_width=3, padding=0, stride=1):
    """Adjoint of the pooling: each window's gradient added to the pixel its argmax names.

    grad: N * C * Ho * Wo entries in (n, c, position) order, any shape;
    argmax_cols: (N, C, Ho * Wo) from maxpool_im2col_indices. Returns (N, C, H, W).
    """
    N, C, H, W = x_shape
    Ho, Wo = _output_shape(x_shape, field_height, field_width, padding, stride)
    grad = np.reshape(grad, (N, C, Ho, Wo))
    argmax = np.reshape(argmax_cols, (N, C, Ho, Wo))
    padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=grad.dtype)
    for a, b, rows, columns in _offsets(field_height, field_width, stride, Ho, Wo):
        padded[:, :, rows, columns] += np.where(argmax == a * field_width + b, grad, 0.0)
    return padded[:, :, padding:padding + H, padding:padding + W]
