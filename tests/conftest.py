import contextlib
import hashlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def pytest_sessionstart(session):
    """The test command, like the question scripts, makes the top-level ./mnist_subset.json that a
    course-style driver run there reads (harness/run_driver.py)."""
    from harness.run_driver import link_top_level_data
    link_top_level_data()


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same global random state, so failures reproduce."""
    np.random.seed(1234)


def small_data_file(path, n_train=60, n_valid=20, n_test=20):
    """Write the first rows of each split of the real data set as a small data file; return its path."""
    import json
    with open(os.path.join(REPO, 'data', 'mnist_subset.json')) as f:
        full = json.load(f)
    sizes = {'train': n_train, 'valid': n_valid, 'test': n_test}
    small = {split: [full[split][0][:n], full[split][1][:n]] for split, n in sizes.items()}
    with open(path, 'w') as f:
        json.dump(small, f)
    return str(path)


@pytest.fixture(scope='session')
def vectors():
    """The real data set, each digit a vector of 784 pixels. Tests must not change it."""
    from data_loader import load_mnist
    return load_mnist()


@pytest.fixture(scope='session')
def images():
    """The real data set, each digit a 1 x 28 x 28 image. Tests must not change it."""
    from data_loader import load_mnist
    return load_mnist(as_images=True)


@pytest.fixture(scope='session')
def small_data(tmp_path_factory):
    """A 60 / 20 / 20 data file of real digits, for quick runs of the drivers."""
    return small_data_file(tmp_path_factory.mktemp('data') / 'small.json')


def tree_digest(root):
    """One digest of every file's path and bytes under root (a link's path alone): any change shows."""
    digest = hashlib.sha256()
    for folder, subfolders, names in os.walk(root):
        subfolders.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            digest.update(path.encode() + (b'' if os.path.islink(path) else open(path, 'rb').read()))
    return digest.hexdigest()


COURSE_STYLE = os.path.join(REPO, 'tests', 'course_style', 'dnn_misc.py')
# tests/course_style/dnn_misc.py stores its bias gradient with shape (D,), as many students do; these
# changes make it (1, D), as the template's docstring asks.
ROW_BIAS = [("self.gradient['b'] = np.zeros(output_D)", "self.gradient['b'] = np.zeros((1, output_D))"),
            ("self.gradient['b'] = np.sum(grad, axis=0)", "self.gradient['b'] = np.sum(grad, axis=0, keepdims=True)")]


def course_style_source(changes=(), text=None):
    """The text of tests/course_style/dnn_misc.py (or `text`) with each (old, new) change made once."""
    source = open(COURSE_STYLE).read() if text is None else text
    for old, new in changes:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


@contextlib.contextmanager
def endless_run(driver, data, output_dir, stderr=subprocess.PIPE):
    """A 100000-epoch run of `driver` ('dnn_cnn.py', ...) on `data`, once it has logged its first epoch;
    killed on the way out, whatever failed, so that none is ever left behind."""
    process = subprocess.Popen([sys.executable, '-u', os.path.join(REPO, driver), '--num_epoch', '100000',
                                '--data', data, '--output_dir', str(output_dir)],
                               stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        deadline = time.time() + 120
        while 'At epoch 1' not in process.stdout.readline():
            assert time.time() < deadline and process.poll() is None
        yield process
    finally:
        process.kill()
        process.wait()


def generator_state():
    """NumPy's global generator state, as something == compares."""
    state = np.random.get_state()
    return state[1].tolist(), state[2:]


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """The students' handout, made by scripts/handout.py --zip from the working tree (tests/handout_kit.py)."""
    out = tmp_path_factory.mktemp('handout') / 'hw6'
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'handout.py'), '--out', str(out), '--zip'],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == '', result.stderr
    return out
