"""scripts/gradescope/: the autograder zip, and run_autograder on a submission as Gradescope runs it."""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO, ROW_BIAS, course_style_source, tree_digest
from harness.grader import sandbox

pytestmark = pytest.mark.slow  # the Gradescope build-and-run

OUTPUTS = os.path.join(REPO, 'outputs')
DRIVER = open(os.path.join(REPO, 'tests', 'course_style', 'dnn_cnn_2.py')).read()


@pytest.fixture(scope='module')
def autograder(tmp_path_factory):
    """/autograder as Gradescope makes it: the built zip unpacked into source/, run_autograder beside it."""
    root = tmp_path_factory.mktemp('autograder')
    built = root / 'autograder.zip'
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'gradescope', 'build.py'),
                             '--out', str(built)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(built) as archive:
        archive.extractall(root / 'source')
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    shutil.copy(root / 'source' / 'run_autograder', root / 'run_autograder')
    os.chmod(root / 'run_autograder', 0o755)
    return root, modes


def run(root, submission, path=None):
    shutil.rmtree(root / 'submission', ignore_errors=True)
    shutil.rmtree(root / 'results', ignore_errors=True)
    (root / 'submission').mkdir()
    for name, text in submission.items():
        (root / 'submission' / name).write_text(text)
    env = dict(os.environ, AUTOGRADER_DIR=str(root), **({'PATH': path} if path else {}))
    result = subprocess.run(['/bin/bash', str(root / 'run_autograder')], capture_output=True, text=True, timeout=600,
                            env=env)
    assert result.returncode == 0, result.stderr
    return json.loads((root / 'results' / 'results.json').read_text())


def test_the_zip_holds_what_gradescope_runs(autograder):
    _, modes = autograder
    assert {'setup.sh', 'run_autograder', 'harness/grader/grading.py', 'hw5_dnn_check.py', 'dnn_misc.py',
            'data/mnist_subset.json', 'scripts/rubric.json', 'scripts/gradescope/grade_submission.py',
            'outputs/CNN2_lr0.001_m0.9_w0.0_d0.5.json'} <= set(modes)
    assert modes['run_autograder'] & stat.S_IXUSR and modes['setup.sh'] & stat.S_IXUSR
    assert not any(name.startswith(('tests/', 'bench/', '.git')) for name in modes)


def test_a_right_submission_scores_the_rubric_total(autograder):
    root, _ = autograder
    submission = {'dnn_misc.py': course_style_source(ROW_BIAS), 'dnn_cnn_2.py': DRIVER}
    for name in os.listdir(OUTPUTS):
        if name.endswith('.json'):
            submission[name] = open(os.path.join(OUTPUTS, name)).read()
    results = run(root, submission)
    assert results['score'] == 50 and len(results['tests']) == 17
    assert all(set(test) >= {'name', 'score', 'max_score', 'status', 'output'} for test in results['tests'])
    assert all(test['status'] == 'passed' and test['score'] == test['max_score'] for test in results['tests'])
    assert sum(test['max_score'] for test in results['tests']) == 50
    isolation = sandbox.choose()  # what the autograder uses, and says: bubblewrap where it runs, else the container
    assert isolation.describe() in results['output'] and results['execution_time'] > 0
    assert isolation.bwrap or "Gradescope's container isolates it" in results['output']


def test_a_wrong_submission_loses_points_with_reasons(autograder):
    root, _ = autograder
    results = run(root, {'dnn_misc.py': course_style_source(
        ROW_BIAS + [('backward_output = grad * self.mask', 'backward_output = grad')])})
    tests = {test['name']: test for test in results['tests']}
    assert tests['Q3.2 relu.backward']['score'] == 0 and tests['Q3.2 relu.backward']['status'] == 'failed'
    assert 'relu.backward' in tests['Q3.2 relu.backward']['output']
    assert tests['Q3.9 network']['output'] == 'FAIL: no dnn_cnn_2.py in the submission'
    assert results['score'] == sum(test['score'] for test in results['tests']) == 20


def test_a_crashing_grader_still_writes_results(tmp_path):
    (tmp_path / 'source' / 'scripts' / 'gradescope').mkdir(parents=True)  # the grader's code missing
    shutil.copy(os.path.join(REPO, 'scripts', 'gradescope', 'grade_submission.py'),
                tmp_path / 'source' / 'scripts' / 'gradescope')
    (tmp_path / 'submission').mkdir()
    script = os.path.join(REPO, 'scripts', 'gradescope', 'run_autograder')
    env = dict(os.environ, AUTOGRADER_DIR=str(tmp_path))
    assert subprocess.run(['bash', script], env=env, capture_output=True, timeout=60).returncode == 0
    results = json.loads((tmp_path / 'results' / 'results.json').read_text())
    assert results['score'] == 0 and results['tests'][0]['status'] == 'failed'
    assert 'ModuleNotFoundError' in results['tests'][0]['output']
    os.remove(tmp_path / 'source' / 'scripts' / 'gradescope' / 'grade_submission.py')  # not even Python runs it
    assert subprocess.run(['bash', script], env=env, capture_output=True, timeout=60).returncode == 0
    results = json.loads((tmp_path / 'results' / 'results.json').read_text())
    assert results['score'] == 0 and 'failed before it could write' in results['output']


def cheat(root):
    """A dnn_misc.py with no modules of its own, which writes its own results.json, edits the
    autograder's source, and runs the answer key (the autograder's dnn_misc.py) as its own."""
    attempts = [f"open({str(root / 'results' / 'results.json')!r}, 'w').write('{{\"score\": 50}}')",
                f"open({str(root / 'source' / 'hw5_dnn_check.py')!r}, 'a').write('# pwned')",
                f"exec(open({str(root / 'source' / 'dnn_misc.py')!r}).read())"]
    return ''.join(f'try:\n    {line}\nexcept BaseException:\n    pass\n' for line in attempts)


@pytest.mark.parametrize('with_bwrap', [True, False])
def test_a_cheat_earns_no_more_than_its_own_code(autograder, tmp_path, with_bwrap):
    """Its honest worth: the 11 points of its right dnn_cnn_2.py. As in Gradescope's container, where
    bubblewrap does not run, the grader (root here) runs it as a user with no rights to its files."""
    if with_bwrap and not sandbox.choose().bwrap:
        pytest.skip('no bubblewrap here')
    if not with_bwrap and sandbox.student_uid(bwrap=False) == os.getuid():
        pytest.skip('without bubblewrap, the code runs as the grader: not root, or Python out of other users\' reach')
    root, _ = autograder
    path = None
    if not with_bwrap:
        (tmp_path / 'bin').mkdir()
        os.symlink(sys.executable, tmp_path / 'bin' / 'python3')
        path = str(tmp_path / 'bin')
    before = tree_digest(root / 'source')
    results = run(root, {'dnn_misc.py': cheat(root), 'dnn_cnn_2.py': DRIVER}, path)
    assert tree_digest(root / 'source') == before
    assert results['score'] == 11, results['output']
    assert ('sandboxed by bubblewrap' in results['output']) == with_bwrap


@pytest.mark.parametrize('case', ['main-broken', 'builtins-right', 'fds-broken', 'on-path', 'answer-equal',
                                  'exit-in-check', 'scores-from-loss-broken', 'scores-from-table-broken',
                                  'loss-value-broken', 'params-swapped-broken', 'client-wrapped-broken',
                                  'params-swapped-init'])
def test_the_battery_through_run_autograder(autograder, case):
    """Cases of tests/test_trust.py's battery, the forgeries' broken variants among them, each graded as
    Gradescope grades it: each earns no more than its honest twin, and leaves the autograder's source as it was."""
    from test_trust import battery
    if not sandbox.choose().bwrap:
        pytest.skip('no bubblewrap here')
    root, _ = autograder
    source, worth, files = battery()[case]
    before = tree_digest(root / 'source')
    results = run(root, {'dnn_misc.py': source, 'dnn_cnn_2.py': DRIVER, **files})
    assert results['score'] <= worth, results['tests']
    assert tree_digest(root / 'source') == before
