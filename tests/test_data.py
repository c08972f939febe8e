"""The committed data file, and the loader's refusal of malformed files."""
import hashlib
import json

import numpy as np
import pytest

from data_loader import DEFAULT_DATA, DataError, load_mnist

COURSE_SHA256 = '171d415be9466675a4c4bcff351c7716ed1e6d2c3826edb950742677c909bc86'  # data/README.md


@pytest.fixture(scope='module')
def data():
    return load_mnist()


def test_file_is_the_courses_file():
    with open(DEFAULT_DATA, 'rb') as f:
        content = f.read()
    assert len(content) == 33941362
    assert hashlib.sha256(content).hexdigest() == COURSE_SHA256


def test_sizes_and_per_digit_counts(data):
    for split, per_digit in [('train', 500), ('valid', 100), ('test', 100)]:
        X, Y = data[split]
        assert X.shape == (per_digit * 10, 784) and X.dtype == np.float64
        assert Y.shape == (per_digit * 10, 1)
        assert np.array_equal(np.bincount(Y[:, 0], minlength=10), [per_digit] * 10)
        assert 0.0 <= X.min() and X.max() <= 1.0


def test_checksums(data):
    for split, total in [('train', 513190.785), ('valid', 101750.668), ('test', 104480.707)]:
        assert round(data[split][0].sum(), 3) == total
    assert list(data['train'][1][:10, 0]) == [7, 6, 4, 6, 6, 5, 1, 5, 7, 2]
    assert np.all(data['train'][0] * 256 == np.round(data['train'][0] * 256))  # multiples of 1/256


def test_images_shape():
    X, _ = load_mnist(as_images=True)['valid']
    assert X.shape == (1000, 1, 28, 28)


def good_split(n=3):
    return [[[0.5] * 784 for _ in range(n)], list(range(n))]


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d.pop('valid'), "split 'valid' is missing"),
    (lambda d: d['train'][0][1].pop(), 'row 1 has 783 values, expected 784'),
    (lambda d: d['test'][0][0].__setitem__(5, 1.5), 'pixel values must lie in [0, 1]'),
    (lambda d: d['test'][0][0].__setitem__(5, float('nan')), 'not finite'),
    (lambda d: d['train'][1].__setitem__(2, 10), 'labels must lie in 0..9'),
    (lambda d: d['train'][1].__setitem__(2, 1.5), 'labels must be integers'),
    (lambda d: d['valid'][1].pop(), 'X has 3 rows but Y has 2 labels'),
    (lambda d: d.__setitem__('valid', [[], []]), "split 'valid': is empty"),
    (lambda d: d.__setitem__('train', {'X': 1}), 'expected a list [X, Y]'),
    (lambda d: d['train'][0][0].__setitem__(0, 'dark'), 'not numbers'),
])
def test_malformed_files_are_refused_with_one_line(tmp_path, mutate, message):
    obj = {split: good_split() for split in ('train', 'valid', 'test')}
    mutate(obj)
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(obj))
    with pytest.raises(DataError) as error:
        load_mnist(str(path))
    text = str(error.value)
    assert message in text and str(path) in text and '\n' not in text


@pytest.mark.parametrize('content, message', [
    (None, 'no such file'), ('{"train": [', 'not valid JSON'), ('[1, 2]', 'expected a JSON object'),
])
def test_unreadable_files_are_refused(tmp_path, content, message):
    path = tmp_path / 'data.json'
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_mnist(str(path))
