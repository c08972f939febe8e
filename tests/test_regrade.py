"""A class graded more than once, as staff do: their own changes (--overrides) kept on every run, and
only what changed graded again (the gradings kept in NAME-graded/, --only, --fresh, Ctrl-C).

The class is test_canvas's Carmen download (no result files: each student is graded in seconds).
"""
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest

from conftest import REPO
from harness.grader import overrides, rubric
from test_canvas import BROKEN, DOWNLOAD, GRADEBOOK, RIGHT, grade, rows, zipped

OVERRIDES = ('submission,item,points,reason\n'
             '105,Q3.2 relu.backward,5,"regrade request: the mask is right, the case was not"\n'  # ngkim's Canvas ID
             'smith.1,Q3.9 network,1.5,handed in a day late by arrangement\n')
UNKNOWN = {'aaronal_100_5000_HW_6_code_aaron.1.zip': zipped(BROKEN)}  # first of all, and in no row of the export
STUDENTS = {101: 'smith.1', 102: 'park.7', 103: 'lee.3', 104: 'mueller.4', 105: 'ngkim', 106: 'ortizana'}


def csv_text(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def progress(result):
    return [line for line in result.stderr.splitlines() if line.startswith('[')]


@pytest.fixture(scope='module')
def regraded(tmp_path_factory):
    """Graded once with overrides, then again unchanged, then with one student's zip replaced."""
    root = tmp_path_factory.mktemp('regrade')
    download = root / 'submissions'
    download.mkdir()
    for name, data in dict(DOWNLOAD, **UNKNOWN).items():
        (download / name).write_bytes(data)
    (root / 'gradebook.csv').write_text(GRADEBOOK, encoding='utf-8')
    (root / 'overrides.csv').write_text(OVERRIDES, encoding='utf-8')
    options = ['--canvas', str(root / 'gradebook.csv'), '--feedback', str(root / 'feedback'),
               '--overrides', str(root / 'overrides.csv')]
    out = root / 'out' / 'grades.csv'
    first = grade(download, out, *options)
    texts = {'first': csv_text(out), 'import': csv_text(root / 'out' / 'grades-canvas.csv')}
    again = grade(download, out, *options)
    texts['again'] = csv_text(out)
    (download / 'parkamy_LATE_102_5002_HW_6_code_park.7.zip').write_bytes(zipped(RIGHT))
    changed = grade(download, out, *options)
    texts['changed'] = csv_text(out)
    fresh = grade(download, out, *options, '--fresh')
    texts['fresh'] = csv_text(out)
    return {'root': root, 'first': first, 'again': again, 'changed': changed, 'fresh': fresh, 'texts': texts,
            'overrides': (root / 'overrides.csv').read_text(encoding='utf-8')}


def test_an_override_sets_its_cell_and_says_why(regraded):
    assert regraded['first'].returncode == 0, regraded['first'].stderr
    table = rows(regraded['root'] / 'out' / 'grades.csv')
    ngkim, smith = table['ngkim'], table['smith.1']
    assert ngkim['Q3.2 relu.backward'] == '5' and ngkim['overridden'] == 'Q3.2 relu.backward'
    assert ('Q3.2 relu.backward: 5 of 5, set by the course staff: regrade request: the mask is right, the case was '
            'not (graded 0: relu.backward' in ngkim['notes'])
    assert smith['Q3.9 network'] == '1.5' and smith['overridden'] == 'Q3.9 network'
    assert table['lee.3']['overridden'] == ''
    fresh = {row['submission']: row for row in csv.DictReader(io.StringIO(regraded['texts']['fresh']))}
    assert ngkim['total'] == fresh['ngkim']['total']  # the same overrides: the same points


def test_an_override_shows_in_the_feedback_and_the_import(regraded):
    table = rows(regraded['root'] / 'out' / 'grades.csv')
    feedback = (regraded['root'] / 'feedback' / 'ngkim.md').read_text()
    assert feedback.startswith(f"# ngkim: {table['ngkim']['total']} of 50 points\n")
    assert ('| Q3.2 relu.backward | 5 | 5 | set by the course staff: regrade request: the mask is right, the case '
            'was not |') in feedback
    imported = list(csv.reader(regraded['texts']['import'].splitlines()))
    scores = {row[1]: row[-1] for row in imported[2:]}
    assert scores['105'] == table['ngkim']['total'] and scores['101'] == table['smith.1']['total']
    with zipfile.ZipFile(regraded['root'] / 'out' / 'grades-feedback.zip') as archive:
        returned = {name: archive.read(name) for name in archive.namelist()}
    ngkim = returned['ngkim_105_5006_my hw_6 files_final.zip']
    with zipfile.ZipFile(io.BytesIO(ngkim)) as inner:
        assert b'set by the course staff: regrade request' in inner.read('FEEDBACK.md')


def test_each_students_feedback_goes_on_their_own_file(regraded):
    """aaron.1, in no row of the export, sorts first: nobody's feedback shifts onto another's file."""
    with zipfile.ZipFile(regraded['root'] / 'out' / 'grades-feedback.zip') as archive:
        returned = {name: archive.read(name) for name in archive.namelist()}
    users = {int(next(piece for piece in name.split('_') if piece.isdigit())): name for name in returned}
    assert sorted(users) == sorted(STUDENTS)
    for user, name in users.items():
        if name.endswith('.zip'):
            with zipfile.ZipFile(io.BytesIO(returned[name])) as inner:
                text = inner.read('FEEDBACK.md').decode()
        else:  # a .py, the feedback commented out at its top
            text = returned[name].decode()[len('# '):]
        assert text.startswith(f'# {STUDENTS[user]}: '), (name, text[:60])


def test_a_rerun_reuses_every_grading_and_keeps_the_overrides(regraded):
    again = regraded['again']
    assert again.returncode == 0, again.stderr
    assert progress(again) == []
    assert 'grade.py: 8 of 8 submissions have not changed since they were graded' in again.stderr
    assert regraded['texts']['again'] == regraded['texts']['first']
    assert regraded['overrides'] == OVERRIDES  # grade.py never writes the overrides


def test_a_rerun_grades_only_what_changed_and_gives_a_fresh_runs_csv(regraded):
    changed = regraded['changed']
    assert changed.returncode == 0, changed.stderr
    assert [line.split(':')[0] for line in progress(changed)] == ['[1/1] park.7']
    assert '; 7 reused)' in progress(changed)[0]
    assert 'grade.py: grading park.7 again: its files changed' in changed.stderr
    assert regraded['texts']['changed'] == regraded['texts']['fresh']
    assert len(progress(regraded['fresh'])) == 8 and 'have not changed' not in regraded['fresh'].stderr
    assert regraded['texts']['changed'] != regraded['texts']['first']


def stored(root):
    return root / 'out' / 'grades-graded'


def test_a_corrupt_or_foreign_stored_grading_is_graded_again_and_said(regraded, tmp_path):
    root = regraded['root']
    (stored(root) / 'lee.3.json').write_text('{"format": 1, "graded": ')
    record = json.loads((stored(root) / 'zed.9.json').read_text())
    (stored(root) / 'zed.9.json').write_text(json.dumps(dict(record, format=0)))
    record = json.loads((stored(root) / 'mueller.4.json').read_text())
    record['graded']['check'] = {'relu.backward': ['PASS']}
    (stored(root) / 'mueller.4.json').write_text(json.dumps(record))
    record = json.loads((stored(root) / 'ortizana.json').read_text())
    (stored(root) / 'ortizana.json').write_text(json.dumps(dict(record, graded={'missing': {}})))
    (stored(root) / 'smith.1.json').write_text('[' * 100000 + ']' * 100000)
    result = grade(root / 'submissions', root / 'out' / 'grades.csv', '--canvas', str(root / 'gradebook.csv'),
                   '--overrides', str(root / 'overrides.csv'))
    assert result.returncode == 0, result.stderr
    assert sorted(line.split(':')[0].split('] ')[1] for line in progress(result)) == [
        'lee.3', 'mueller.4', 'ortizana', 'smith.1', 'zed.9']
    assert 'grading lee.3 again: its stored grading cannot be read (' in result.stderr
    assert 'grading zed.9 again: its stored grading is from another version of the grader' in result.stderr
    assert 'grading mueller.4, ortizana again: its stored grading is corrupt' in result.stderr
    assert 'grading smith.1 again: its stored grading cannot be read (RecursionError' in result.stderr
    assert csv_text(root / 'out' / 'grades.csv') == regraded['texts']['fresh']


def test_only_grades_again_what_it_names(regraded):
    root = regraded['root']
    only = grade(root / 'submissions', root / 'out' / 'grades.csv', '--only', '105', 'lee.3')  # ngkim's Canvas ID
    assert only.returncode == 0, only.stderr
    assert sorted(line.split(':')[0].split('] ')[1] for line in progress(only)) == ['lee.3', 'ngkim']
    # under other limits, --only grades the named alone, and says whose gradings another grader made
    other = grade(root / 'submissions', root / 'out' / 'grades.csv', '--only', 'park.7', '--timeout', '200')
    assert [line.split(':')[0] for line in progress(other)] == ['[1/1] park.7'], other.stderr
    assert ('using the stored grading of aaron.1, lee.3, mueller.4, ngkim, ortizana and 2 more again: graded by '
            'another grader, or under other limits') in other.stderr
    unknown = grade(root / 'submissions', root / 'out' / 'grades.csv', '--only', 'nobody.1')
    assert unknown.returncode == 2 and unknown.stderr.strip().splitlines()[-1].endswith(
        "argument --only: no submission 'nobody.1' in " + str(root / 'submissions'))


@pytest.mark.parametrize('text, error', [
    ('name,item,points,reason\n', 'line 1 must be the header submission,item,points,reason'),
    ('submission,item,points,reason\nnobody.1,Q3.3,2,x\n', "line 2: no submission 'nobody.1' in this class"),
    ('submission,item,points,reason\nngkim,Q3.33,2,x\n', "line 2: no rubric item 'Q3.33'; the items are"),
    ('submission,item,points,reason\nngkim,Q3.3,3,x\n', "line 2: points must be a number from 0 to 2 for 'Q3.3', "
                                                        "got '3'"),
    ('submission,item,points,reason\nngkim,Q3.3,-1,x\n', 'points must be a number from 0 to 2'),
    ('submission,item,points,reason\nngkim,Q3.3,two,x\n', "got 'two'"),
    ('submission,item,points,reason\nngkim,Q3.3,nan,x\n', "got 'nan'"),
    ('submission,item,points,reason\nngkim,Q3.3,2,\n', "line 2: no reason given for ngkim 'Q3.3'"),
    ('submission,item,points,reason\nngkim,Q3.3,2\n', 'line 2: expected 4 cells'),
    ('submission,item,points,reason\nngkim,Q3.3,2,x\nngkim,Q3.3,1,y\n', "line 3: ngkim 'Q3.3' is set twice"),
    (None, 'not UTF-8 text; save it as "CSV UTF-8"'),
])
def test_a_bad_overrides_file_gets_one_line_and_nothing_is_written(tmp_path, text, error):
    (tmp_path / 'class' / 'ngkim').mkdir(parents=True)
    path = tmp_path / 'overrides.csv'
    path.write_bytes('submission,item,points,reason\nngkim,Q3.3,2,Müller\n'.encode('latin-1') if text is None
                     else text.encode())
    result = grade(tmp_path / 'class', tmp_path / 'out' / 'grades.csv', '--overrides', str(path))
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert error in result.stderr.strip().splitlines()[-1], result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f'grade.py: error: --overrides {path}: ')
    assert not (tmp_path / 'out').exists()


def test_an_override_that_may_name_two_students_or_that_grading_would_overwrite_is_refused(tmp_path):
    """Two zips named HW_6_code_x.1.zip are the rows x.1 and x.1 (2): "x.1" may be either."""
    (tmp_path / 'class' / 'x.1').mkdir(parents=True)
    (tmp_path / 'class' / 'HW_6_code_x.1.zip').write_bytes(zipped({}))
    (tmp_path / 'overrides.csv').write_text('submission,item,points,reason\nx.1,Q3.3,2,x\n')
    for path, error in [(tmp_path / 'overrides.csv', "line 2: 'x.1' may be any of the submissions x.1, x.1 (2); "
                                                     "name it by its Canvas ID"),
                        (tmp_path / 'out' / 'grades-summary.md', 'that is a file grading writes; keep it apart')]:
        result = grade(tmp_path / 'class', tmp_path / 'out' / 'grades.csv', '--overrides', str(path))
        assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].endswith(error), result.stderr
        assert not (tmp_path / 'out').exists()


def test_an_override_file_from_a_spreadsheet_is_read():
    """Saved as "CSV UTF-8": a byte-order mark, CRLF line ends, a blank line, spaces around cells."""
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'overrides.csv')
        with open(path, 'wb') as f:
            f.write('\ufeffsubmission,item,points,reason\r\n\r\n park.7 , Q3.3 , 2.0 , resubmitted\r\n'.encode())
        assert overrides.read(path, rubric.load(), {'park.7': 'park.7'}) == {'park.7': {'Q3.3': (2, 'resubmitted')}}


def test_ctrl_c_keeps_the_gradings_that_ended(tmp_path):
    """Interrupted while one submission is graded: the gradings that ended are kept, the one going on is not,
    the CSV is not written, nothing is left running, and the next run grades only the rest."""
    (tmp_path / 'class').mkdir()
    for name, data in (('a.1', RIGHT), ('b.2', BROKEN)):
        (tmp_path / 'class' / name).mkdir()
        (tmp_path / 'class' / name / 'dnn_misc.py').write_bytes(data['dnn_misc.py'])
    (tmp_path / 'class' / 'z.9').mkdir()
    (tmp_path / 'class' / 'z.9' / 'dnn_misc.py').write_text('import time\ntime.sleep(4)\n')
    out = tmp_path / 'out' / 'grades.csv'
    command = [sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), str(tmp_path / 'class'), '--out', str(out),
               '--timeout', '120']
    (tmp_path / 'tmp').mkdir()  # where the scratch copies go, and whence the checker runs
    env = dict(os.environ, TMPDIR=str(tmp_path / 'tmp'))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    store = tmp_path / 'out' / 'grades-graded'
    deadline = time.monotonic() + 120
    while not ((store / 'a.1.json').exists() and (store / 'b.2.json').exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # z.9 sleeps as it loads: its grading is going on
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert 'Traceback' not in stderr and stderr.strip().splitlines()[-1].startswith(
        'grade.py: interrupted: 2 of the 3 gradings of this run ended and are kept in ')
    assert sorted(os.listdir(store)) == ['a.1.json', 'b.2.json'] and not out.exists()
    deadline = time.monotonic() + 10  # what was killed may take a moment to go
    while subprocess.run(['pgrep', '-f', str(tmp_path)], capture_output=True).stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    assert subprocess.run(['pgrep', '-af', str(tmp_path)], capture_output=True, text=True).stdout == ''
    assert os.listdir(tmp_path / 'tmp') == []
    rest = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert rest.returncode == 0 and [line.split(':')[0] for line in progress(rest)] == ['[1/1] z.9'], rest.stderr
