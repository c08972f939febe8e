"""scripts/grade.py on a class of crafted submissions: right, wrong, WARN-worthy and hostile ones."""
import csv
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, ROW_BIAS, course_style_source

OUTPUTS = os.path.join(REPO, 'outputs')
RESULTS = sorted(name for name in os.listdir(OUTPUTS) if name.endswith('.json'))
LINEAR_RUNS = ['MLP_lr0.01_m0.0_w0.0_d0.0.json', 'MLP_lr0.01_m0.0_w0.0_d0.5.json', 'MLP_lr0.01_m0.0_w0.0_d0.95.json',
               'LR_lr0.01_m0.0_w0.0_d0.0.json']


DRIVER = os.path.join(REPO, 'tests', 'course_style', 'dnn_cnn_2.py')


def submission(root, name, changes=(), prefix='', results=RESULTS, where='', driver_changes=None):
    """A submission folder: the course-style dnn_misc.py changed, with `prefix` at its top, copies of our
    result files `results` in `where`, and unless driver_changes is None the course-style dnn_cnn_2.py
    with those changes."""
    folder = root / name
    (folder / where).mkdir(parents=True)
    (folder / 'dnn_misc.py').write_text(prefix + course_style_source(changes))
    if driver_changes is not None:
        (folder / 'dnn_cnn_2.py').write_text(course_style_source(driver_changes, open(DRIVER).read()))
    for result in results:
        shutil.copy(os.path.join(OUTPUTS, result), folder / where / result)
    return folder


def tree_digest(root):
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(path.encode() + open(path, 'rb').read())
    return digest.hexdigest()


@pytest.fixture(scope='module')
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp('class')
    submissions = root / 'submissions'
    right = submission(submissions, 'right', ROW_BIAS,
                       results=[r for r in RESULTS if not r.startswith('CNN2')], driver_changes=[])
    (right / 'LR_lr0.01_m0.0_w0.0_d0.0.json').write_text('{"train": [0.5, ')
    submission(submissions, 'warn', where='outputs', driver_changes=[
        ("model['C2'].backward(m1, grad_c2)", "model['C2'].backward(c2, grad_c2)")])
    submission(submissions, 'miswired', ROW_BIAS, results=[r for r in RESULTS if r.startswith('CNN2')],
               driver_changes=[("grad_c2 = model['nonlinear2'].backward(c2, grad_h2)", 'grad_c2 = grad_h2')])
    submission(submissions, 'wrong', ROW_BIAS + [('backward_output = grad * self.mask', 'backward_output = grad')])
    submission(submissions, 'exits', prefix='import sys\nsys.exit(3)\n', results=[])
    submission(submissions, 'loops', prefix='while True:\n    pass\n', results=[])
    submission(submissions, 'floods', ROW_BIAS, prefix="import sys\nprint('x' * 50_000_000)\n"
                                                       "print('y' * 50_000_000, file=sys.stderr)\n", results=[])
    submission(submissions, 'hoards', prefix='import numpy\nhoard = numpy.ones(10 ** 11)\n', results=[])
    (submissions / 'empty').mkdir()
    before = tree_digest(submissions)
    out = root / 'grades.csv'
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), str(submissions), '-j', '2',
                             '--out', str(out), '--timeout', '240'],
                            capture_output=True, text=True, timeout=900)
    with open(out) as f:
        rows = {row['submission']: row for row in csv.DictReader(f)}
    return result, rows, before == tree_digest(submissions), open(out).read().splitlines()[0]


def test_the_table_has_a_row_per_submission_and_the_expected_columns(graded):
    result, rows, _, header = graded
    assert result.returncode == 0, result.stderr
    assert header.split(',') == ['submission', 'linear_layer', 'relu', 'dropout', 'pipeline', 'dnn_cnn_2'] + [
        'MLP_lr0.01_m0.0_w0.0_d0.0.json', 'MLP_lr0.01_m0.0_w0.0_d0.5.json', 'MLP_lr0.01_m0.0_w0.0_d0.95.json',
        'LR_lr0.01_m0.0_w0.0_d0.0.json', 'CNN_lr0.01_m0.0_w0.0_d0.5.json', 'CNN_lr0.01_m0.9_w0.0_d0.5.json',
        'CNN2_lr0.001_m0.9_w0.0_d0.5.json', 'notes']
    assert sorted(rows) == ['empty', 'exits', 'floods', 'hoards', 'loops', 'miswired', 'right', 'warn', 'wrong']
    assert '| submission | linear_layer |' in result.stdout and '| right | PASS | PASS | PASS | PASS | PASS |' \
        in result.stdout
    progress = [line for line in result.stderr.splitlines() if line.startswith('[')]
    assert len(progress) == 9 and progress[-1].startswith('[9/9] ') and 's left)' in progress[-1]


def test_a_right_submission_passes_and_its_file_problems_are_named(graded):
    row = graded[1]['right']
    assert [row[c] for c in ('linear_layer', 'relu', 'dropout', 'pipeline')] == ['PASS'] * 4
    assert row['CNN2_lr0.001_m0.9_w0.0_d0.5.json'] == 'FAIL' and row['LR_lr0.01_m0.0_w0.0_d0.0.json'] == 'FAIL'
    assert all(row[name] == 'PASS' for name in RESULTS if not name.startswith(('CNN2', 'LR')))
    assert 'CNN2_lr0.001_m0.9_w0.0_d0.5.json: missing' in row['notes']
    assert 'LR_lr0.01_m0.0_w0.0_d0.0.json: malformed: not valid JSON' in row['notes']


def test_a_warn_worthy_submission_with_files_in_outputs(graded):
    row = graded[1]['warn']
    assert row['linear_layer'] == 'WARN' and row['relu'] == row['dropout'] == row['pipeline'] == 'PASS'
    assert row['dnn_cnn_2'] == 'WARN' and 'TODO (3): C2.backward is given C2.forward' in row['notes']
    assert all(row[name] == 'PASS' for name in RESULTS)  # CNN2's epoch 1 remade by its driver and modules
    assert row['notes'].startswith("linear_layer: linear_layer.gradient['b'] has shape (3,), not (1, 3)")


def test_a_miswired_driver_loses_q39_and_its_result_file(graded):
    row = graded[1]['miswired']
    assert row['dnn_cnn_2'] == 'FAIL' and row['pipeline'] == 'PASS'
    assert 'dnn_cnn_2 training pass: TODO (3): nonlinear2.backward is never called' in row['notes']
    assert row['CNN2_lr0.001_m0.9_w0.0_d0.5.json'] == 'FAIL'
    assert ("CNN2_lr0.001_m0.9_w0.0_d0.5.json: epoch 1 reads 0.9056 / 0.913, but the submission's dnn_cnn_2.py "
            "and modules give") in row['notes'] and 'not made by the code handed in' in row['notes']


def test_files_not_made_by_the_code_handed_in_are_flagged(graded):
    row = graded[1]['wrong']
    assert row['relu'] == 'FAIL' and row['pipeline'] == 'FAIL'
    assert all(row[name] == 'FAIL' for name in LINEAR_RUNS if name.startswith('MLP'))
    assert row['LR_lr0.01_m0.0_w0.0_d0.0.json'] == 'PASS'  # no relu in it: the wrong relu.backward changes nothing
    assert all(row[name] == 'PASS' for name in RESULTS if name.startswith('CNN_'))  # nothing to rerun cheaply
    assert row['dnn_cnn_2'] == 'FAIL' and 'dnn_cnn_2: no dnn_cnn_2.py at the top of the submission' in row['notes']
    assert row['CNN2_lr0.001_m0.9_w0.0_d0.5.json'] == 'FAIL' and 'did not run Q3.10' in row['notes']
    assert 'MLP_lr0.01_m0.0_w0.0_d0.0.json: epoch 1 reads 0.919 / 0.908, but the submission\'s modules give' \
        in row['notes'] and 'not made by the code handed in' in row['notes']


@pytest.mark.parametrize('name, reason', [
    ('exits', 'does not import: SystemExit: 3'),
    ('loops', 'loading dnn_misc.py did not return within 10 s'),
    ('hoards', 'does not import: MemoryError'),
    ('empty', 'no dnn_misc.py at the top of the submission'),
])
def test_a_hostile_submission_fails_with_its_reason_and_stops_nobody(graded, name, reason):
    row = graded[1][name]
    assert all(row[c] == 'FAIL' for c in ('linear_layer', 'relu', 'dropout', 'pipeline')), row
    assert all(row[name] == 'FAIL' for name in RESULTS)
    assert reason in row['notes'] and 'missing' in row['notes']


def test_output_floods_change_no_verdict(graded):
    row = graded[1]['floods']
    assert row['linear_layer'] == row['relu'] == row['dropout'] == row['pipeline'] == 'PASS'


def test_no_submission_folder_is_changed(graded):
    assert graded[2]


def test_usage_errors(tmp_path):
    for args, error in [([str(tmp_path / 'nowhere')], 'nowhere: no such folder'),
                        ([str(tmp_path), '-j', '0'], 'argument -j: must be an integer >= 1, got 0'),
                        ([str(tmp_path)], 'no submission folders in it')]:
        result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr
        assert result.stderr.strip().splitlines()[-1].endswith(error), result.stderr
