"""The README's "Running your own files": a student's dnn_cnn_2.py (or the course's own drivers) copied
over ours, in a copy of the project. The checker gives the verdicts it gives the same file elsewhere,
and the driver runs at the top level as the course runs it, reading ./mnist_subset.json there."""
import filecmp
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, small_data_file
from course_style.drivers import course_driver
from test_course_driver import PATTERNS, student_driver

PROJECT = ['scripts', 'harness', 'data_loader.py', 'dnn_misc.py', 'dnn_im2col.py', 'hw5_dnn_check.py',
           'dnn_mlp.py', 'dnn_mlp_nononlinear.py', 'dnn_cnn.py', 'dnn_cnn_2.py']


@pytest.fixture
def project(tmp_path):
    """A copy of the project, with a small data file in data/ and no top-level mnist_subset.json."""
    root = tmp_path / 'project'
    root.mkdir()
    for name in PROJECT:
        source = os.path.join(REPO, name)
        if os.path.isdir(source):
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy(source, root / name)
    (root / 'data').mkdir()
    small_data_file(root / 'data' / 'mnist_subset.json')
    return root


def checked(path, checker):
    """The checks of hw5_dnn_check.py --json (the copy's `checker`) on `path`, run from path's folder."""
    result = subprocess.run([sys.executable, str(checker), '--json', os.path.basename(path)], cwd=os.path.dirname(path),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)['checks']


@pytest.mark.parametrize('pattern', ['filled', 'C2.backward given its output', 'the unfilled template',
                                     'C2 with 5x5 filters'])
def test_a_students_dnn_cnn_2_in_place_of_ours_gets_the_verdicts_it_gets_elsewhere(project, tmp_path, pattern):
    elsewhere = student_driver(tmp_path, pattern)
    in_place = student_driver(project, pattern)
    got = checked(in_place, project / 'hw5_dnn_check.py')
    assert got == checked(elsewhere, project / 'hw5_dnn_check.py')
    assert [c['verdict'] for c in got] == PATTERNS[pattern][1]
    assert not any(c['message'].startswith('raised') for c in got), got


BROKEN = {  # driver: (a change a student might make, the check it fails, what its message says)
    'dnn_mlp': (("grad_a1 = model['nonlinear1'].backward(a1, grad_h1)", 'grad_a1 = grad_h1'), 'training pass',
                'nonlinear1.backward is never called in the training pass'),
    'dnn_mlp_nononlinear': (("grad_a1 = model['drop1'].backward(a1, grad_d1)", 'grad_a1 = grad_d1'), 'training pass',
                            'drop1.backward is never called in the training pass'),
    'dnn_cnn': (('num_output=25, filter_len=5', 'num_output=20, filter_len=5'), 'network',
                "C1 is conv_layer(num_input=1, num_output=20"),
}


@pytest.mark.parametrize('driver', list(BROKEN))
def test_the_courses_own_drivers_in_place_of_ours_pass_as_they_do_elsewhere(project, tmp_path, driver):
    (old, new), failing, said = BROKEN[driver]
    assert old in course_driver(driver)
    for name, text in [('right', course_driver(driver)), ('broken', course_driver(driver).replace(old, new))]:
        (tmp_path / name).mkdir()
        (tmp_path / name / f'{driver}.py').write_text(text)
        (project / f'{driver}.py').write_text(text)
        got = checked(project / f'{driver}.py', project / 'hw5_dnn_check.py')
        assert got == checked(tmp_path / name / f'{driver}.py', project / 'hw5_dnn_check.py')
        verdicts = {c['check']: c['verdict'] for c in got}
        if name == 'right':
            assert set(verdicts.values()) == {'PASS'}, got
        else:
            assert verdicts[failing] == 'FAIL' and said in next(c['message'] for c in got if c['check'] == failing)


@pytest.mark.parametrize('driver, flags, result', [
    ('dnn_cnn_2', ['--alpha', '0.9'], 'CNN2_lr0.001_m0.9_w0.0_d0.5.json'),
    ('dnn_mlp', ['--dropout_rate', '0.5'], 'MLP_lr0.01_m0.0_w0.0_d0.5.json'),
    ('dnn_cnn', [], 'CNN_lr0.01_m0.0_w0.0_d0.5.json')])
def test_a_course_style_driver_runs_at_the_top_level_as_the_course_runs_it(project, driver, flags, result):
    text = open(student_driver(project, 'filled')).read() if driver == 'dnn_cnn_2' else course_driver(driver)
    (project / f'{driver}.py').write_text(text)
    env = dict(os.environ, PYTHON=sys.executable)
    question = {'dnn_cnn_2': 'q310', 'dnn_mlp': 'q34', 'dnn_cnn': 'q37'}[driver]
    # A question script, as the README's first command runs them, makes ./mnist_subset.json.
    scripted = subprocess.run(['bash', f'scripts/{question}.sh', '--num_epoch', '1'], cwd=project, env=env,
                              capture_output=True, text=True, timeout=300)
    assert scripted.returncode == 0, scripted.stderr
    assert filecmp.cmp(project / 'mnist_subset.json', project / 'data' / 'mnist_subset.json', shallow=False)
    by_hand = subprocess.run([sys.executable, f'{driver}.py', *flags, '--num_epoch', '1'], cwd=project,
                             capture_output=True, text=True, timeout=300)
    assert by_hand.returncode == 0, by_hand.stderr
    assert by_hand.stdout.splitlines()[-1] == 'Finish running!'
    assert json.loads((project / result).read_text()) == json.loads((project / 'outputs' / result).read_text())


def test_a_dangling_top_level_link_is_made_again(project):
    (project / 'mnist_subset.json').symlink_to(project / 'nowhere.json')
    result = subprocess.run(['bash', 'scripts/q36.sh', '--num_epoch', '1'], cwd=project, capture_output=True,
                            text=True, timeout=300, env=dict(os.environ, PYTHON=sys.executable))
    assert result.returncode == 0, result.stderr
    assert filecmp.cmp(project / 'mnist_subset.json', project / 'data' / 'mnist_subset.json', shallow=False)


@pytest.mark.parametrize('refused', [('symlink',), ('symlink', 'link')])
def test_where_links_cannot_be_made_the_data_is_hard_linked_else_copied(tmp_path, monkeypatch, refused):
    from harness import run_driver

    def refuse(*_):
        raise OSError('not permitted here')
    for name in refused:  # Windows without the right to make symbolic links; a file system with no hard links
        monkeypatch.setattr(run_driver.os, name, refuse)
    run_driver.put_data(str(tmp_path))
    placed = tmp_path / 'mnist_subset.json'
    assert not placed.is_symlink() and filecmp.cmp(placed, run_driver.DATA, shallow=False)
    same_file = os.path.samefile(placed, run_driver.DATA)
    if len(refused) == 2:
        assert not same_file  # a copy
    elif os.stat(tmp_path).st_dev == os.stat(run_driver.DATA).st_dev:
        assert same_file  # a hard link, where one can be made
    assert os.listdir(tmp_path) == ['mnist_subset.json']  # no .part left behind


def test_the_test_command_made_the_top_level_data_file():
    assert filecmp.cmp(os.path.join(REPO, 'mnist_subset.json'), os.path.join(REPO, 'data', 'mnist_subset.json'),
                       shallow=False)


@pytest.mark.slow
def test_the_pipeline_trains_the_courses_networks_whatever_drivers_sit_at_the_top_level(project):
    for driver in ('dnn_mlp', 'dnn_mlp_nononlinear', 'dnn_cnn'):
        (project / f'{driver}.py').write_text(course_driver(driver))
    (project / 'data' / 'mnist_subset.json').unlink()
    (project / 'data' / 'mnist_subset.json').symlink_to(os.path.join(REPO, 'data', 'mnist_subset.json'))
    result = subprocess.run([sys.executable, 'hw5_dnn_check.py', '--json', '--pipeline', '--questions', 'Q3.3,Q3.6',
                             'dnn_misc.py'], cwd=project, capture_output=True, text=True, timeout=300)
    epochs = [c for c in json.loads(result.stdout)['checks'] if c['module'] == 'pipeline']
    assert [(c['check'].split()[0], c['verdict'], c['figures']) for c in epochs] == [
        ('Q3.3', 'PASS', {'train': 0.919, 'val': 0.908}), ('Q3.6', 'PASS', {'train': 0.888, 'val': 0.886})], epochs
