"""Window gathering for convolution and pooling.

A k x k window slid over an (N, C, H, W) batch with stride s stops at
Ho x Wo positions, Ho = (H - k) // s + 1 and likewise Wo. `im2col` copies every
window into a column, so that a convolution becomes one matrix product for
the whole batch; `col2im` is its adjoint, summing columns back into an image,
which is what the backward passes need. No Python loop runs over samples,
channels or window positions: only over the k * k offsets inside a window,
each of which moves one whole block of memory.

Columns are laid out offset-major: row (i * k + j) * C + c of the column
matrix holds pixel (i, j) of channel c in every window, so the rows of one
offset form one contiguous (C, N, Ho, Wo) block. Images inside are kept
channel-major, (C, N, H, W), and handed back as (N, C, H, W) views of it.
"""
import numpy as np


def output_size(size, k, stride):
    """Number of window positions along an axis of `size` pixels (no padding)."""
    return (size - k) // stride + 1


def window_slices(k, stride, count):
    """Along one axis, for each offset t in 0 .. k - 1: the slice picking the pixel at t in each of
    `count` windows moved by `stride`."""
    return [slice(t, t + stride * (count - 1) + 1, stride) for t in range(k)]


def window_offsets(k, stride, Ho, Wo):
    """For each offset (i, j) inside a window, row by row: (i * k + j, index of the pixels at that offset).

    For an image batch X of shape (N, C, H, W) or (C, N, H, W), X[index] has
    its first two axes and then (Ho, Wo): the pixel at offset (i, j) of every window.
    """
    rows, cols = window_slices(k, stride, Ho), window_slices(k, stride, Wo)
    for i in range(k):
        for j in range(k):
            yield i * k + j, (slice(None), slice(None), rows[i], cols[j])


def im2col(X, k, stride, pad):
    """Every k x k window of X, zero-padded by `pad` on each side, as a column.

    X: (N, C, H, W). Returns (k * k * C, N * Ho * Wo): rows in (i, j, c)
    order, columns in (n, y, x) order.
    """
    N, C, H, W = X.shape
    padded = np.zeros((C, N, H + 2 * pad, W + 2 * pad))
    padded[:, :, pad:pad + H, pad:pad + W] = X.transpose(1, 0, 2, 3)
    Ho, Wo = output_size(H + 2 * pad, k, stride), output_size(W + 2 * pad, k, stride)
    cols = np.empty((k * k, C, N, Ho, Wo))
    for offset, index in window_offsets(k, stride, Ho, Wo):
        cols[offset] = padded[index]
    return cols.reshape(k * k * C, N * Ho * Wo)


def col2im(cols, X_shape, k, stride, pad):
    """Adjoint of `im2col`: add every column back onto the pixels it was copied from.

    cols: (k * k * C, N * Ho * Wo); X_shape: (N, C, H, W) of the unpadded input.
    Returns (N, C, H, W), each pixel the sum over all windows that cover it.
    """
    N, C, H, W = X_shape
    Ho, Wo = output_size(H + 2 * pad, k, stride), output_size(W + 2 * pad, k, stride)
    cols = cols.reshape(k * k, C, N, Ho, Wo)
    padded = np.zeros((C, N, H + 2 * pad, W + 2 * pad))
    for offset, index in window_offsets(k, stride, Ho, Wo):
        padded[index] += cols[offset]
    return padded[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)
