"""--save_model and scripts/show_model.py: the trained parameters, saved and drawn."""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from harness.flags import build_parser
from harness import training
from conftest import REPO
from dnn_cnn import CNN
from data_loader import load_mnist

SHOW = os.path.join(REPO, 'scripts', 'show_model.py')
sys.path.insert(0, os.path.join(REPO, 'scripts'))


def png_size(path):
    with open(path, 'rb') as f:
        header = f.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', header[16:24])


@pytest.fixture(scope='module')
def saved(tmp_path_factory, small_data):
    folder = tmp_path_factory.mktemp('model')
    result = subprocess.run([sys.executable, os.path.join(REPO, 'dnn_cnn.py'), '--num_epoch', '2', '--alpha', '0.9',
                             '--data', small_data, '--output_dir', str(folder), '--save_model',
                             str(folder / 'm.npz')], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return folder


def test_saving_the_model_changes_no_result(saved, small_data, tmp_path):
    result = subprocess.run([sys.executable, os.path.join(REPO, 'dnn_cnn.py'), '--num_epoch', '2', '--alpha', '0.9',
                             '--data', small_data, '--output_dir', str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    name = 'CNN_lr0.01_m0.9_w0.0_d0.5.json'
    assert (tmp_path / name).read_text() == (saved / name).read_text()


def test_save_and_reload_round_trip_the_parameters_exactly(small_data, tmp_path):
    import show_model
    args = build_parser(CNN).parse_args(['--num_epoch', '1', '--data', small_data])
    _, model = training.train(CNN, args, load_mnist(small_data, as_images=True), log=lambda *_: None)
    np.savez(tmp_path / 'm.npz', **training.saved_model(CNN, args, model))
    network, flags, loaded = show_model.load_model(str(tmp_path / 'm.npz'))
    assert network is CNN and flags['num_epoch'] == 1 and flags['dropout_rate'] == 0.5
    for name in ('C1', 'L1'):
        for key, value in model[name].params.items():
            assert np.array_equal(loaded[name].params[key], value)


def test_show_model_draws_three_pictures(saved, small_data, tmp_path):
    result = subprocess.run([sys.executable, SHOW, str(saved / 'm.npz'), '--data', small_data,
                             '--output_dir', str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # Figure sizes in inches that are exact in binary, so every matplotlib gives these pixels.
    assert png_size(tmp_path / 'm_filters.png') == (750, 825)
    assert png_size(tmp_path / 'm_confusion.png') == (700, 625)
    assert png_size(tmp_path / 'm_mistakes.png') == (750, 825)


@pytest.mark.parametrize('content, message', [
    (None, 'no such file'),
    (b'not a zip at all', 'not a saved model'),
    ('npz without network', "not a model saved by the drivers' --save_model"),
])
def test_bad_model_files_get_one_line(tmp_path, content, message):
    path = tmp_path / 'bad.npz'
    if content == 'npz without network':
        np.savez(path, W=np.zeros(3))
    elif content is not None:
        path.write_bytes(content)
    result = subprocess.run([sys.executable, SHOW, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and message in result.stderr
    assert not any(name.endswith('.png') for name in os.listdir(tmp_path))


def test_saved_model_records_the_flags(saved):
    with np.load(saved / 'm.npz') as data:
        assert str(data['network']) == 'CNN'
        assert json.loads(str(data['flags']))['alpha'] == 0.9
        assert data['C1.W'].shape == (25, 1, 5, 5)
