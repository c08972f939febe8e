"""The course's six dnn_im2col.py functions, written plainly from their definitions.

Written here from FACTS.md, loop by loop, with nothing else in the file. The
tests use it twice: as the obviously correct version that the repository's
vectorised dnn_im2col.py is compared with, and as a stand-in for the course's
own file, beside which our dnn_misc.py must run (it may take nothing else
from dnn_im2col).
"""
import numpy as np


def _output_shape(x_shape, fh, fw, padding, stride):
    _, _, H, W = x_shape
    return (H + 2 * padding - fh) // stride + 1, (W + 2 * padding - fw) // stride + 1


def _padded(x, padding):
    N, C, H, W = x.shape
    out = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    out[:, :, padding:padding + H, padding:padding + W] = x
    return out


def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    C = x_shape[1]
    Ho, Wo = _output_shape(x_shape, field_height, field_width, padding, stride)
    rows = C * field_height * field_width
    k = np.zeros((rows, 1), dtype=int)
    i = np.zeros((rows, Ho * Wo), dtype=int)
    j = np.zeros((rows, Ho * Wo), dtype=int)
    r = 0
    for c in range(C):
        for a in range(field_height):
            for b in range(field_width):
                k[r, 0] = c
                for y in range(Ho):
                    for x in range(Wo):
                        i[r, y * Wo + x] = y * stride + a
                        j[r, y * Wo + x] = x * stride + b
                r += 1
    return k, i, j


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    N = x.shape[0]
    k, i, j = get_im2col_indices(x.shape, field_height, field_width, padding, stride)
    padded = _padded(x, padding)
    cols = np.zeros((k.shape[0], i.shape[1] * N))
    for r in range(k.shape[0]):
        for q in range(i.shape[1]):
            for n in range(N):
                cols[r, q * N + n] = padded[n, k[r, 0], i[r, q], j[r, q]]
    return cols


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    N, C, H, W = x_shape
    k, i, j = get_im2col_indices(x_shape, field_height, field_width, padding, stride)
    padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    for r in range(k.shape[0]):
        for q in range(i.shape[1]):
            for n in range(N):
                padded[n, k[r, 0], i[r, q], j[r, q]] += cols[r, q * N + n]
    return padded[:, :, padding:padding + H, padding:padding + W]


def get_maxpool_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    Ho, Wo = _output_shape(x_shape, field_height, field_width, padding, stride)
    i = np.zeros((field_height * field_width, Ho * Wo), dtype=int)
    j = np.zeros((field_height * field_width, Ho * Wo), dtype=int)
    for a in range(field_height):
        for b in range(field_width):
            for y in range(Ho):
                for x in range(Wo):
                    i[a * field_width + b, y * Wo + x] = y * stride + a
                    j[a * field_width + b, y * Wo + x] = x * stride + b
    return i, j


def maxpool_im2col_indices(x, field_height, field_width, padding=0, stride=1):
    N, C = x.shape[:2]
    i, j = get_maxpool_im2col_indices(x.shape, field_height, field_width, padding, stride)
    padded = _padded(x, padding)
    max_cols = np.zeros((N, C, i.shape[1]))
    argmax_cols = np.zeros((N, C, i.shape[1]), dtype=int)
    for n in range(N):
        for c in range(C):
            for q in range(i.shape[1]):
                window = [padded[n, c, i[t, q], j[t, q]] for t in range(i.shape[0])]
                argmax_cols[n, c, q] = int(np.argmax(window))
                max_cols[n, c, q] = window[argmax_cols[n, c, q]]
    return max_cols, argmax_cols


def maxpool_col2im_indices(grad, argmax_cols, x_shape, field_height=3, field_width=3, padding=0, stride=1):
    N, C, H, W = x_shape
    i, j = get_maxpool_im2col_indices(x_shape, field_height, field_width, padding, stride)
    grad = np.reshape(grad, (N, C, -1))
    padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    for n in range(N):
        for c in range(C):
            for q in range(i.shape[1]):
                t = argmax_cols[n, c, q]
                padded[n, c, i[t, q], j[t, q]] += grad[n, c, q]
    return padded[:, :, padding:padding + H, padding:padding + W]
