"""Window gathering for convolution and pooling.

A k x k window slid over an (N, C, H, W) batch with stride s stops at
Ho x Wo positions, Ho = (H - k) // s + 1 and likewise Wo. `im2col` copies every
window into a column, so that a convolution becomes one matrix product for
the whole batch; `col2im` is its adjoint, summing columns back into an image,
which is what the backward passes need. No Python loop runs over samples,
channels or window positions: only over the k * k offsets inside a window.

The columns are laid out channel-major, (C * k * k, N * Ho * Wo), so that the
product with the weights gives the output as (num_output, N, Ho, Wo) in one
BLAS call; the layers hand it on as an (N, C, H, W) view of that memory.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def output_size(size, k, stride):
    """Number of window positions along an axis of `size` pixels (no padding)."""
    return (size - k) // stride + 1


def window_offsets(k, stride, Ho, Wo):
    """For each offset (i, j) inside a window, row by row: (i * k + j, index of the pixels at that offset).

    X[index] is (N, C, Ho, Wo): the pixel at offset (i, j) of every window.
    """
    for i in range(k):
        for j in range(k):
            yield i * k + j, (slice(None), slice(None),
                              slice(i, i + stride * (Ho - 1) + 1, stride), slice(j, j + stride * (Wo - 1) + 1, stride))


def window_view(X, k, stride):
    """Read-only view of every k x k window of X, without copying.

    X: (N, C, H, W). Returns (N, C, Ho, Wo, k, k) with
    view[n, c, y, x, i, j] == X[n, c, y * stride + i, x * stride + j].
    """
    N, C, H, W = X.shape
    sn, sc, sh, sw = X.strides
    shape = (N, C, output_size(H, k, stride), output_size(W, k, stride), k, k)
    return as_strided(X, shape, (sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)


def zero_pad(X, pad):
    """X (N, C, H, W) with `pad` zeros on each side of H and W: (N, C, H + 2 pad, W + 2 pad)."""
    if pad == 0:
        return X
    N, C, H, W = X.shape
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    padded[:, :, pad:pad + H, pad:pad + W] = X
    return padded


def im2col(X, k, stride, pad):
    """Every k x k window of the zero-padded X as a column.

    X: (N, C, H, W). Returns (C * k * k, N * Ho * Wo): rows in (c, i, j) order,
    the order of a conv weight of shape (num_output, C, k, k) flattened;
    columns in (n, y, x) order.
    """
    windows = window_view(zero_pad(X, pad), k, stride)
    N, C, Ho, Wo = windows.shape[:4]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * k * k, N * Ho * Wo)


def col2im(cols, X_shape, k, stride, pad):
    """Adjoint of `im2col`: add every column back onto the pixels it was copied from.

    cols: (C * k * k, N * Ho * Wo); X_shape: (N, C, H, W) of the unpadded input.
    Returns (N, C, H, W), each pixel the sum over all windows that cover it
    (a view of channel-major memory).
    """
    N, C, H, W = X_shape
    Ho, Wo = output_size(H + 2 * pad, k, stride), output_size(W + 2 * pad, k, stride)
    cols = cols.reshape(C, k * k, N, Ho, Wo)
    padded = np.zeros((C, N, H + 2 * pad, W + 2 * pad))
    for offset, index in window_offsets(k, stride, Ho, Wo):
        padded[index] += cols[:, offset]
    return padded[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)
