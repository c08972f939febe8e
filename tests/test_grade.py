"""scripts/grade.py on a class as the learning-management system delivers it: zips and folders,
right, WARN-worthy, wrong, hostile and malformed submissions; the rubric's points in a CSV."""
import csv
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO, ROW_BIAS, course_style_source, tree_digest

OUTPUTS = os.path.join(REPO, 'outputs')
RESULTS = sorted(name for name in os.listdir(OUTPUTS) if name.endswith('.json'))
DRIVER = open(os.path.join(REPO, 'tests', 'course_style', 'dnn_cnn_2.py')).read()
ITEMS = ['Q3.2 linear_layer.forward', 'Q3.2 linear_layer.backward', 'Q3.2 relu.forward', 'Q3.2 relu.backward',
         'Q3.2 dropout.backward', 'Q3.3', 'Q3.4', 'Q3.5', 'Q3.6', 'Q3.7', 'Q3.8', 'Q3.9 network', 'Q3.9 TODO (2)',
         'Q3.9 TODO (3)', 'Q3.9 TODO (4)', 'Q3.9 TODO (5)', 'Q3.10']
MAXIMA = [5, 5, 5, 5, 5, 2, 2, 2, 2, 2, 2, 3, 2, 2, 2, 2, 2]
ACCUMULATES = ROW_BIAS[:1] + [("self.gradient['b'] = np.sum(grad, axis=0)", "self.gradient['b'] += np.sum(grad, axis=0)")]


def files(changes=ROW_BIAS, prefix='', driver_changes=(), results=RESULTS, where=''):
    """{name in the submission: bytes}: the course-style dnn_misc.py and dnn_cnn_2.py, changed, and our result files."""
    found = {'dnn_misc.py': (prefix + course_style_source(changes)).encode()}
    if driver_changes is not None:
        found['dnn_cnn_2.py'] = course_style_source(driver_changes, DRIVER).encode()
    for result in results:
        found[os.path.join(where, result)] = open(os.path.join(OUTPUTS, result), 'rb').read()
    return found


def as_zip(path, members, folder=''):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(os.path.join(folder, name), data)


def as_folder(path, members):
    for name, data in members.items():
        os.makedirs(os.path.dirname(os.path.join(path, name)), exist_ok=True)
        open(os.path.join(path, name), 'wb').write(data)


@pytest.fixture(scope='module')
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp('class')
    class_ = root / 'download'
    class_.mkdir()
    as_zip(class_ / 'HW_6_code_right.1.zip', files(), folder='hw6')
    as_zip(class_ / 'HW_6_code_warn.2.zip', files([], where='outputs', driver_changes=[
        ("model['C2'].backward(m1, grad_c2)", "model['C2'].backward(c2, grad_c2)")]))
    as_folder(class_ / 'accumulates.3', files(ACCUMULATES))
    as_folder(class_ / 'miswired.4', files(driver_changes=[
        ("grad_c2 = model['nonlinear2'].backward(c2, grad_h2)", 'grad_c2 = grad_h2')]))
    as_zip(class_ / 'HW_6_code_brokenrelu.13.zip', files(ROW_BIAS + [('backward_output = grad * self.mask',
                                                                     'backward_output = grad')]))
    commented = files()
    commented['dnn_misc.py'] = (b'# my homework, handed in\n\n' + commented['dnn_misc.py'].replace(
        b'\nclass ', b'\n\n\n# next module\nclass ') + b'\n# the end\n')
    as_folder(class_ / 'copy.5', commented)
    with zipfile.ZipFile(class_ / 'HW_6_code_climbs.6.zip', 'w') as archive:
        archive.writestr('dnn_misc.py', '')
        archive.writestr('../../escaped.py', 'x')
    with zipfile.ZipFile(class_ / 'HW_6_code_link.7.zip', 'w') as archive:
        info = zipfile.ZipInfo('dnn_misc.py')
        info.external_attr = 0o120777 << 16
        archive.writestr(info, '/etc/passwd')
    with zipfile.ZipFile(class_ / 'HW_6_code_bomb.8.zip', 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.writestr('zeros.json', bytes(201 << 20))
    as_folder(class_ / 'exits.9', files(prefix='import sys\nsys.exit(3)\n', results=[], driver_changes=None))
    as_folder(class_ / 'loops.10', files(prefix='while True:\n    pass\n', results=[], driver_changes=None))
    as_folder(class_ / 'hoards.11', files(prefix='import numpy\nhoard = numpy.ones(10 ** 11)\n', results=[],
                                          driver_changes=None))
    (class_ / 'empty.12').mkdir()
    before = tree_digest(class_)
    out = root / 'grades' / 'grades.csv'
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), str(class_), '-j', '2',
                             '--out', str(out), '--feedback', str(root / 'feedback'), '--timeout', '240'],
                            capture_output=True, text=True, timeout=1200)
    assert os.path.isfile(out), result.stderr
    with open(out) as f:
        table = list(csv.DictReader(f))
    return {'result': result, 'table': table, 'rows': {row['submission']: row for row in table[1:]},
            'root': root, 'unchanged': before == tree_digest(class_)}


def points(row):
    return [float(row[item]) for item in ITEMS]


@pytest.mark.slow
def test_the_csv_has_the_rubric_columns_and_a_row_of_maxima(graded):
    result, table = graded['result'], graded['table']
    assert result.returncode == 0, result.stderr
    assert list(table[0]) == ['submission', 'canvas_id', 'late'] + ITEMS + ['total', 'status', 'notes']
    assert table[0]['submission'] == 'points possible' and points(table[0]) == MAXIMA and table[0]['total'] == '50'
    assert sorted(graded['rows']) == ['accumulates.3', 'bomb.8', 'brokenrelu.13', 'climbs.6', 'copy.5', 'empty.12',
                                      'exits.9', 'hoards.11', 'link.7', 'loops.10', 'miswired.4', 'right.1', 'warn.2']
    progress = [line for line in result.stderr.splitlines() if line.startswith('[')]
    assert len(progress) == 13 and progress[-1].startswith('[13/13] ') and 's left)' in progress[-1]
    assert '| right.1 | 50 of 50 | graded |' in result.stdout


@pytest.mark.slow
def test_right_and_warn_worthy_submissions_earn_every_point(graded):
    for name in ('right.1', 'warn.2', 'copy.5'):
        row = graded['rows'][name]
        assert points(row) == MAXIMA and row['total'] == '50' and row['status'] == 'graded', row['notes']


@pytest.mark.slow
def test_a_bias_gradient_that_adds_up_loses_its_points_and_its_result_files(graded):
    row = graded['rows']['accumulates.3']
    assert row['Q3.2 linear_layer.backward'] == '0' and row['Q3.2 relu.forward'] == '5'
    assert "adds up from one backward call to the next" in row['notes']
    assert [row[q] for q in ('Q3.3', 'Q3.4', 'Q3.5', 'Q3.6', 'Q3.7', 'Q3.8', 'Q3.10')] == ['0'] * 7
    assert 'Q3.3: 0 of 2: epoch 1 reads 0.919 / 0.908, but the submission\'s modules give' in row['notes']
    assert row['notes'].count('not made by the code handed in') == 7 and row['total'] == '31'


@pytest.mark.slow
def test_a_broken_relu_with_copied_result_files_loses_them(graded):
    row = graded['rows']['brokenrelu.13']
    assert row['Q3.2 relu.backward'] == '0' and row['Q3.6'] == '2'  # Q3.6 has no relu: its file is made again
    assert [row[q] for q in ('Q3.3', 'Q3.4', 'Q3.5', 'Q3.7', 'Q3.8', 'Q3.10')] == ['0'] * 6
    assert row['notes'].count('not made by the code handed in') == 6 and row['total'] == '33'


@pytest.mark.slow
def test_a_miswired_driver_loses_its_todo_and_q310(graded):
    row = graded['rows']['miswired.4']
    assert [row['Q3.9 network'], row['Q3.9 TODO (2)'], row['Q3.9 TODO (3)']] == ['3', '2', '0']
    assert row['Q3.10'] == '0' and row['total'] == '46'
    assert 'Q3.9 TODO (3): 0 of 2: TODO (3): nonlinear2.backward is never called' in row['notes']


@pytest.mark.parametrize('name, reason', [
    ('climbs.6', "refused: member '../../escaped.py' would land outside the folder"),
    ('link.7', "refused: member 'dnn_misc.py' is a symbolic link"),
    ('bomb.8', 'refused: it would expand to 201 MB, past the limit of 200 MB'),
])
@pytest.mark.slow
def test_a_malformed_zip_gets_its_reason_and_no_points(graded, name, reason):
    row = graded['rows'][name]
    assert row['status'] == reason and row['total'] == '0' and reason in row['notes']
    assert not os.path.exists(graded['root'] / 'escaped.py') and not os.path.exists(graded['root'].parent / 'escaped.py')


@pytest.mark.parametrize('name, reason', [
    ('exits.9', 'does not import: SystemExit: 3'),
    ('loops.10', 'loading dnn_misc.py did not return within 10 s'),
    ('hoards.11', 'does not import: MemoryError'),
    ('empty.12', 'no dnn_misc.py in the submission'),
])
@pytest.mark.slow
def test_a_hostile_submission_earns_nothing_and_stops_nobody(graded, name, reason):
    row = graded['rows'][name]
    assert row['total'] == '0' and row['status'] == 'graded'
    assert reason in row['notes'] and 'no dnn_cnn_2.py in the submission' in row['notes']


@pytest.mark.slow
def test_each_student_gets_a_feedback_file(graded):
    folder = graded['root'] / 'feedback'
    assert sorted(os.listdir(folder)) == sorted(f'{name}.md' for name in graded['rows'])
    text = (folder / 'miswired.4.md').read_text()
    assert text.startswith('# miswired.4: 46 of 50 points\n')
    assert '| Q3.9 TODO (3) | 0 | 2 | TODO (3): nonlinear2.backward is never called' in text
    assert '- PASS check linear_layer.forward: max relative error' in text


@pytest.mark.slow
def test_the_same_code_is_reported(graded):
    text = (graded['root'] / 'grades' / 'grades-same-code.md').read_text()
    # miswired.4 hands in right.1's modules, accumulates.3 and brokenrelu.13 its driver; copy.5 both, with
    # comments and blank lines
    assert '- `dnn_misc.py`: copy.5, miswired.4, right.1\n' in text
    assert '- `dnn_cnn_2.py`: accumulates.3, brokenrelu.13, copy.5, right.1\n' in text
    assert '`dnn_misc.py`: copy.5, miswired.4, right.1' in graded['result'].stdout


@pytest.mark.slow
def test_no_submission_is_changed(graded):
    assert graded['unchanged']


def test_usage_errors(tmp_path):
    (tmp_path / 'rubric.json').write_text('{"items": [{"name": "Q3.3", "points": -1, "earned_by": "result x.json"}]}')
    (tmp_path / 'class').mkdir()
    (tmp_path / 'class' / 'a.1').mkdir()
    for args, error in [([str(tmp_path / 'nowhere')], 'nowhere: no such folder or zip'),
                        ([str(tmp_path), '-j', '0'], 'argument -j: must be an integer >= 1, got 0'),
                        ([str(tmp_path / 'rubric.json')], 'rubric.json: no such folder or zip'),
                        ([str(tmp_path / 'class'), '--rubric', str(tmp_path / 'rubric.json')],
                         "item 'Q3.3': points must be a number >= 0, got -1"),
                        ([str(tmp_path / 'class' / 'a.1')], 'no submissions in it (zips or folders)')]:
        result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr
        assert result.stderr.strip().splitlines()[-1].endswith(error), result.stderr
