"""dnn_im2col.py: the course's six functions, vectorised, against plain loops written from their definitions."""
import importlib.util
import os

import numpy as np
import pytest

import dnn_im2col as fast

HERE = os.path.dirname(os.path.abspath(__file__))


def load_plain():
    spec = importlib.util.spec_from_file_location('plain_im2col', os.path.join(HERE, 'course_style', 'dnn_im2col.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plain = load_plain()

CONV_CASES = [  # (N, C, H, W, fh, fw, padding, stride): non-square images and windows, odd sizes
    (2, 3, 5, 7, 3, 3, 1, 1),
    (1, 2, 6, 5, 3, 2, 0, 1),
    (3, 1, 7, 6, 2, 3, 2, 2),
    (2, 2, 8, 9, 5, 5, 2, 1),
    (2, 3, 9, 7, 3, 5, 1, 2),
    (1, 1, 4, 4, 4, 4, 0, 1),
]
POOL_CASES = [  # (N, C, H, W, fh, fw, padding, stride)
    (2, 3, 6, 6, 2, 2, 0, 2),
    (1, 2, 7, 5, 3, 3, 0, 2),
    (2, 1, 5, 8, 2, 3, 1, 1),
    (1, 2, 6, 7, 3, 2, 2, 3),
]


@pytest.mark.parametrize('N, C, H, W, fh, fw, p, s', CONV_CASES)
def test_im2col_indices_matches_loops(N, C, H, W, fh, fw, p, s):
    x = np.random.RandomState(N + C + H).randn(N, C, H, W)
    for ours, theirs in zip(fast.get_im2col_indices(x.shape, fh, fw, p, s), plain.get_im2col_indices(x.shape, fh, fw, p, s)):
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs)
    cols = fast.im2col_indices(x, fh, fw, p, s)
    assert np.array_equal(cols, plain.im2col_indices(x, fh, fw, p, s))


@pytest.mark.parametrize('N, C, H, W, fh, fw, p, s', CONV_CASES)
def test_col2im_indices_matches_loops_and_is_the_adjoint(N, C, H, W, fh, fw, p, s):
    rng = np.random.RandomState(H * W)
    x = rng.randn(N, C, H, W)
    cols = rng.randn(*fast.im2col_indices(x, fh, fw, p, s).shape)
    image = fast.col2im_indices(cols, x.shape, fh, fw, p, s)
    assert image.shape == x.shape
    assert np.allclose(image, plain.col2im_indices(cols, x.shape, fh, fw, p, s), rtol=0, atol=1e-12)
    # <cols, im2col(x)> = <col2im(cols), x>
    assert np.isclose(np.sum(cols * fast.im2col_indices(x, fh, fw, p, s)), np.sum(image * x), rtol=1e-12)


def test_the_defaults_are_the_courses():
    x = np.random.RandomState(0).randn(2, 2, 5, 5)
    assert np.array_equal(fast.im2col_indices(x, 3, 3), plain.im2col_indices(x, 3, 3, 1, 1))  # padding 1, stride 1
    cols = fast.im2col_indices(x, 3, 3)
    assert np.array_equal(fast.col2im_indices(cols, x.shape), plain.col2im_indices(cols, x.shape, 3, 3, 1, 1))
    assert np.array_equal(fast.maxpool_im2col_indices(x, 2, 2)[0], plain.maxpool_im2col_indices(x, 2, 2, 0, 1)[0])
    for ours, theirs in zip(fast.get_maxpool_im2col_indices(x.shape, 2, 2), plain.get_maxpool_im2col_indices(x.shape, 2, 2, 1, 1)):
        assert np.array_equal(ours, theirs)


@pytest.mark.parametrize('N, C, H, W, fh, fw, p, s', POOL_CASES)
def test_maxpool_functions_match_loops(N, C, H, W, fh, fw, p, s):
    rng = np.random.RandomState(fh * 10 + fw + s)
    # Few distinct values: many windows hold their maximum twice, and the first one must win.
    x = rng.randint(-2, 3, (N, C, H, W)).astype(float)
    for ours, theirs in zip(fast.get_maxpool_im2col_indices(x.shape, fh, fw, p, s),
                            plain.get_maxpool_im2col_indices(x.shape, fh, fw, p, s)):
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs)
    max_cols, argmax_cols = fast.maxpool_im2col_indices(x, fh, fw, p, s)
    expected_max, expected_argmax = plain.maxpool_im2col_indices(x, fh, fw, p, s)
    assert max_cols.shape == expected_max.shape and np.array_equal(max_cols, expected_max)
    assert np.array_equal(argmax_cols, expected_argmax)
    grad = rng.randn(*max_cols.shape)
    image = fast.maxpool_col2im_indices(grad, argmax_cols, x.shape, fh, fw, p, s)
    assert image.shape == x.shape
    assert np.allclose(image, plain.maxpool_col2im_indices(grad, argmax_cols, x.shape, fh, fw, p, s), rtol=0, atol=1e-12)


def test_maxpool_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 3.0], [3.0, 3.0]]]])
    max_cols, argmax_cols = fast.maxpool_im2col_indices(x, 2, 2, 0, 2)
    assert max_cols.tolist() == [[[3.0]]] and argmax_cols.tolist() == [[[1]]]
    image = fast.maxpool_col2im_indices(np.array([[[[5.0]]]]), argmax_cols, x.shape, 2, 2, 0, 2)
    assert image.tolist() == [[[[0.0, 5.0], [0.0, 0.0]]]]
