"""Grading from Carmen (Canvas): its "Download Submissions" zip as it comes, and a gradebook for its import.

The download is made here as Canvas makes it (GRADING.md): one flat zip, every member renamed
{name}[_LATE]_{userid}_{fileid}_{filename}. Its students hand in no result files, so that each
is graded in seconds; the same files in today's layout (a folder of HW_6_code_NAME.NUMBER.zip and
folders) must get the same points.
"""
import csv
import io
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO, ROW_BIAS
from course_style.drivers import module_template
from test_course_driver import TODO_2, TODO_3, changed
from test_grade import DRIVER, as_folder, as_zip, files

BROKEN_RELU = ROW_BIAS + [('backward_output = grad * self.mask', 'backward_output = grad')]
RIGHT, BROKEN = files(results=[]), files(BROKEN_RELU, results=[])
MODULES_ONLY = {'dnn_misc.py': RIGHT['dnn_misc.py']}
LISTED = b'\n# Discussed the homework with: Alice Smith and Bob Jones\n'
COMPLIANT = {name: data + LISTED for name, data in RIGHT.items()}  # filled as instructed, each with its list
EXTRA_IMPORT = dict(BROKEN, **{'dnn_misc.py': b'import math\n' + BROKEN['dnn_misc.py'] + LISTED})
WRONG_MASK = files(ROW_BIAS + [('(np.random.uniform(0.0, 1.0, X.shape) >= self.r)',
                                '(np.random.uniform(0.0, 1.0, X.shape) < 1 - self.r)')], results=[])


def zipped(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOWNLOAD = {  # Canvas's member name: its bytes
    'smithbob_101_5001_HW_6_code_smith.1.zip': zipped(BROKEN),  # uploaded again, right, below
    'smithbob_101_5009_HW_6_code_smith.1-1.zip': zipped(RIGHT),
    'parkamy_LATE_102_5002_HW_6_code_park.7.zip': zipped(WRONG_MASK),
    'leejoe_103_5003_HW_6_code_lee.3.zip': zipped(COMPLIANT),
    'leejoe_103_5004_dnn_misc.py': BROKEN['dnn_misc.py'],  # beside the zip: left out
    'müllerjürgen_104_5005_HW_6_code_mueller.4.zip': zipped(MODULES_ONLY),
    'ngkim_105_5006_my hw_6 files_final.zip': zipped(EXTRA_IMPORT),
    'ortizana_106_5007_dnn_misc.py': BROKEN['dnn_misc.py'],  # loose files only, the modules uploaded again
    'ortizana_106_5008_dnn_cnn_2.py': RIGHT['dnn_cnn_2.py'],
    'ortizana_LATE_106_5010_dnn_misc-1.py': RIGHT['dnn_misc.py'],
    'ortizana_106_text.html': b'<p>see the files</p>',
    'droppedzed_107_5011_HW_6_code_zed.9.zip': zipped(MODULES_ONLY),  # no longer in the gradebook
}
SAME_FILES = {  # today's layout: what each student's graded upload holds
    'smith.1': RIGHT, 'park.7': WRONG_MASK, 'lee.3': COMPLIANT, 'mueller.4': MODULES_ONLY, 'ngkim': EXTRA_IMPORT,
    'ortizana': {'dnn_misc.py': RIGHT['dnn_misc.py'], 'dnn_cnn_2.py': RIGHT['dnn_cnn_2.py']}, 'zed.9': MODULES_ONLY}
GRADEBOOK = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,HW 5 (3301),HW 6 programming (3302),Current Score
    Points Possible,,,,,50,50,
"Smith, Bob",101,500100001,smith.1,CSE 5523 (1234),44,,88
"Park, Amy",102,500100002,park.7,CSE 5523 (1234),40,,80
"Lee, Joe",103,500100003,lee.3,CSE 5523 (1234),50,,100
"Müller, Jürgen",104,500100004,mueller.4,CSE 5523 (1234),31,,62
"Ng, Kim",105,500100005,ngkim,CSE 5523 (1234),45,,90
"Ortiz, Ana",106,500100006,ortiz.6,CSE 5523 (1234),48,,96
"Doe, Jane",108,500100008,doe.8,CSE 5523 (1234),39,,78
"Student, Test",109,,,CSE 5523 (1234),,,
"""


def grade(download, out, *options):
    return subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), str(download), '-j', '2',
                           '--out', str(out), *options], capture_output=True, text=True, timeout=900)


def rows(path):
    with open(path, encoding='utf-8') as f:
        return {row['submission']: row for row in list(csv.DictReader(f))[1:]}


@pytest.fixture(scope='module')
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp('carmen')
    with zipfile.ZipFile(root / 'submissions.zip', 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in DOWNLOAD.items():
            archive.writestr(name, data)
    (root / 'gradebook.csv').write_text(GRADEBOOK, encoding='utf-8')
    before = (root / 'gradebook.csv').read_bytes()
    (root / 'template').mkdir()  # the course's templates, as FACTS.md describes them
    (root / 'template' / 'dnn_misc.py').write_text(module_template(RIGHT['dnn_misc.py'].decode()))
    (root / 'template' / 'dnn_cnn_2.py').write_text(changed(TODO_3, '')(changed(TODO_2, '')(DRIVER)))
    canvas = grade(root / 'submissions.zip', root / 'out' / 'grades.csv', '--canvas', str(root / 'gradebook.csv'),
                   '--template', str(root / 'template'), '--feedback', str(root / 'feedback'))
    (root / 'today').mkdir()
    for name, members in SAME_FILES.items():
        if '.' in name:
            as_zip(root / 'today' / f'HW_6_code_{name}.zip', members)
        else:
            as_folder(root / 'today' / name, members)
    today = grade(root / 'today', root / 'today.csv')
    return {'root': root, 'canvas': canvas, 'today': today, 'unchanged': before == (root / 'gradebook.csv').read_bytes()}


def test_a_canvas_download_grades_to_the_points_of_the_same_files_in_todays_layout(graded):
    assert graded['canvas'].returncode == 0, graded['canvas'].stderr
    assert graded['today'].returncode == 0, graded['today'].stderr
    canvas, today = rows(graded['root'] / 'out' / 'grades.csv'), rows(graded['root'] / 'today.csv')
    assert sorted(canvas) == sorted(today) == sorted(SAME_FILES)
    columns = [c for c in next(iter(today.values())) if c not in ('submission', 'canvas_id', 'late', 'notes')]
    for name in SAME_FILES:
        assert {c: canvas[name][c] for c in columns} == {c: today[name][c] for c in columns}, name
    assert canvas['smith.1']['total'] == '36' and canvas['ngkim']['total'] == '31'  # right, and a broken relu


def test_each_student_is_one_row_with_their_canvas_id_and_lateness(graded):
    canvas = rows(graded['root'] / 'out' / 'grades.csv')
    assert {name: (row['canvas_id'], row['late']) for name, row in canvas.items()} == {
        'smith.1': ('101', ''), 'park.7': ('102', 'late'), 'lee.3': ('103', ''), 'mueller.4': ('104', ''),
        'ngkim': ('105', ''), 'ortizana': ('106', 'late'), 'zed.9': ('107', '')}
    assert 'graded HW_6_code_smith.1.zip, the last zip uploaded; left out: HW_6_code_smith.1.zip (an earlier upload)' \
        in canvas['smith.1']['notes']
    assert 'left out: dnn_misc.py' in canvas['lee.3']['notes']
    assert ('graded the loose files dnn_cnn_2.py, dnn_misc.py; left out: text.html, dnn_misc.py (an earlier upload)'
            in canvas['ortizana']['notes'])
    assert canvas['smith.1']['status'] == 'graded'
    assert rows(graded['root'] / 'today.csv')['smith.1']['canvas_id'] == ''


def canvas_import(path):
    """The file as Canvas's importer reads it: the header, the Points Possible row, and each row's score
    for the assignment column, by ID."""
    with open(path, encoding='utf-8') as f:
        table = list(csv.reader(f))
    header, possible, students = table[0], table[1], table[2:]
    column = next(i for i, name in enumerate(header) if name.endswith('(3302)'))
    return header, possible, {row[header.index('ID')]: row[column] for row in students}


def test_the_gradebook_import_has_each_total_by_canvas_id_and_blank_for_nothing_handed_in(graded):
    header, possible, scores = canvas_import(graded['root'] / 'out' / 'grades-canvas.csv')
    canvas = rows(graded['root'] / 'out' / 'grades.csv')
    assert header == ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', 'HW 6 programming (3302)']
    assert possible[0] == '    Points Possible' and possible[-1] == '50'
    assert scores == {'101': canvas['smith.1']['total'], '102': canvas['park.7']['total'],
                      '103': canvas['lee.3']['total'], '104': canvas['mueller.4']['total'],
                      '105': canvas['ngkim']['total'], '106': canvas['ortizana']['total'], '108': '', '109': ''}
    assert 'zed.9 matches no student of' in graded['canvas'].stderr
    assert 'is out of' not in graded['canvas'].stderr  # the export's 50 points are the rubric's
    assert 'In no row of' in graded['canvas'].stdout and 'zed.9' in graded['canvas'].stdout
    assert graded['unchanged']


def test_without_canvas_ids_students_are_matched_by_sis_login_id(graded):
    root = graded['root']
    result = grade(root / 'today', root / 'login' / 'grades.csv', '--canvas', str(root / 'gradebook.csv'),
                   '--assignment', 'programming', '--missing-zero')
    assert result.returncode == 0, result.stderr
    _, _, scores = canvas_import(root / 'login' / 'grades-canvas.csv')
    today = rows(root / 'today.csv')
    assert scores == {'101': today['smith.1']['total'], '102': today['park.7']['total'], '103': today['lee.3']['total'],
                      '104': today['mueller.4']['total'], '105': today['ngkim']['total'], '106': '0', '108': '0',
                      '109': '0'}
    assert 'ortizana matches no student' in result.stderr


@pytest.mark.parametrize('text, error', [
    ('Name,Login\nA,b\n', 'not a Canvas gradebook export: no Student and ID columns in its first row'),
    ('Student;ID;Section;HW 6 (1)\n', 'no Student and ID columns in its first row (it is separated by '
                                          'semicolons: save it with commas)'),
    ('Student,ID,SIS Login ID,HW 6 (1)\n', 'no identity column named Section'),
    ('Student,ID,Section,HW 6 (1),HW 6 bonus (2)\n', "--assignment 'HW 6' matches 2 columns: 'HW 6 (1)', "
                                                           "'HW 6 bonus (2)'; give the id of one"),
    ('Student,ID,Section,HW 5 (1),HW 7 (2)\n', "matches no column; the assignments are 'HW 5 (1)', 'HW 7 (2)'"),
    (None, 'not UTF-8 text, as Canvas exports it; export it again from Canvas, or save it as "CSV UTF-8"'),
])
def test_a_file_that_is_not_canvass_export_gets_one_line_and_nothing_is_written(tmp_path, text, error):
    export = tmp_path / 'export.csv'
    export.write_bytes('Student,ID,Section,Müller (1)\n'.encode('latin-1') if text is None else text.encode())
    (tmp_path / 'class' / 'a.1').mkdir(parents=True)
    result = grade(tmp_path / 'class', tmp_path / 'out' / 'grades.csv', '--canvas', str(export))
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(error), result.stderr
    assert not (tmp_path / 'out').exists()


def test_points_possible_are_read_from_the_exports_second_row():
    from harness.grader import gradebook
    rows = [['    Points Possible', '', '', '', '', '40', '100'], ['Lee, Ann', '103', '', 'lee.3', 'S1', '', '']]
    assert gradebook.points_possible(rows, 5) == '40' and gradebook.points_possible(rows, 6) == '100'
    assert gradebook.points_possible(rows[1:], 5) is None  # no Points Possible row
    assert gradebook.points_possible([rows[0][:6]], 6) is None


def test_an_outer_zip_that_climbs_out_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / 'submissions.zip', 'w') as archive:
        archive.writestr('smithbob_101_5001_HW_6_code_smith.1.zip', zipped(RIGHT))
        archive.writestr('../escaped_1_2_x.py', 'x')
    result = grade(tmp_path / 'submissions.zip', tmp_path / 'out' / 'grades.csv')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"grade.py: error: {tmp_path / 'submissions.zip'}: refused: member '../escaped_1_2_x.py' would land outside "
        f"the folder")
    assert not (tmp_path / 'out').exists() and not (tmp_path.parent / 'escaped_1_2_x.py').exists()


@pytest.mark.parametrize('members, option, error', [
    ({'ortizana_106_5007_dnn_misc.py': RIGHT['dnn_misc.py']}, '--require-sandbox',
     'no sandbox: bwrap is not installed'),
    ({'readme.txt': b'nothing to grade'}, '--missing-zero', 'only with --canvas'),  # before anything is unpacked
    ({'readme.txt': b'nothing to grade'}, '-j1', 'no submissions in it (zips or folders)'),
])
def test_a_usage_error_leaves_nothing_unpacked(tmp_path, members, option, error):
    """The download and a student's loose files are unpacked into $TMPDIR before the sandbox is chosen
    (here bwrap is not on the PATH) and before a download with nothing to grade is refused."""
    (tmp_path / 'submissions.zip').write_bytes(zipped(members))
    (tmp_path / 'tmp').mkdir()
    without_bwrap = dict(os.environ, PATH=str(tmp_path / 'none'), TMPDIR=str(tmp_path / 'tmp'))
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'),
                             str(tmp_path / 'submissions.zip'), '--out', str(tmp_path / 'out' / 'grades.csv'), option],
                            capture_output=True, text=True, timeout=120, env=without_bwrap)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert error in result.stderr.strip().splitlines()[-1], result.stderr
    assert not list((tmp_path / 'tmp').iterdir()) and not (tmp_path / 'out').exists()


NO_LIST = 'does not end with the list of classmates the homework was discussed with'


def test_the_assignments_rules_are_notes_on_the_row_and_lines_in_the_feedback(graded):
    canvas = rows(graded['root'] / 'out' / 'grades.csv')
    assert not any(rule in canvas['lee.3']['notes'] for rule in (NO_LIST, 'imports', 'changes the given code'))
    assert f'collaboration dnn_misc.py: dnn_misc.py {NO_LIST}' in canvas['smith.1']['notes']
    assert f'collaboration dnn_cnn_2.py: dnn_cnn_2.py {NO_LIST}' in canvas['smith.1']['notes']
    assert 'collaboration dnn_misc.py' not in canvas['ngkim']['notes']  # its dnn_misc.py has the list
    assert ('imports dnn_misc.py: dnn_misc.py imports math, beyond what the provided code imports (numpy, dnn_im2col)'
            in canvas['ngkim']['notes'])
    assert ('given code dnn_misc.py: dnn_misc.py changes the given code outside the TODOs in dropout.forward'
            in canvas['park.7']['notes'])
    # The given dropout.forward has no rubric item: its failure costs nothing, but the row says so.
    assert 'dropout.forward: ' in canvas['park.7']['notes'] and '(no points of its own)' in canvas['park.7']['notes']
    assert canvas['park.7']['total'] == rows(graded['root'] / 'today.csv')['park.7']['total']
    feedback = (graded['root'] / 'feedback' / 'park.7.md').read_text()
    assert '- FAIL rule given code dnn_misc.py: dnn_misc.py changes the given code outside the TODOs in dropout.forward' \
        in feedback
    assert '- PASS rule imports dnn_cnn_2.py: imports only what the provided code does' in feedback


def test_the_feedback_zip_gives_each_student_of_the_export_their_feedback_on_a_file_they_submitted(graded):
    """grades-feedback.zip as canvas-lms reads it (test_returned's emulation): each file names a student of
    the export and a file of their submission, and is that file, annotated with their feedback."""
    from harness.grader.canvas import read_member
    from test_returned import canvas_reads, opened
    export = {int(row[1]) for row in csv.reader(io.StringIO(GRADEBOOK.lstrip('\ufeff'))) if row[1].isdigit()}
    submitted = {}
    for name in DOWNLOAD:
        _, user, _, file_id, _ = read_member(name)
        if file_id:
            submitted.setdefault(int(user), set()).add(file_id)
    returned = (graded['root'] / 'out' / 'grades-feedback.zip').read_bytes()
    read = canvas_reads(returned, {user: files for user, files in submitted.items() if user in export})
    assert None not in read.values(), read  # zed.9 (107) is in no row of the export: no file for Canvas to ignore
    assert sorted(user for user, _ in read.values()) == [101, 102, 103, 104, 105, 106]  # 108, 109 handed in nothing
    members = opened(returned)
    feedback = graded['root'] / 'feedback'
    smith = opened(members['smithbob_101_5009_HW_6_code_smith.1-1.zip'])  # the zip graded, not the earlier one
    assert smith == dict(RIGHT, **{'FEEDBACK.md': (feedback / 'smith.1.md').read_bytes()})
    ortiz = members['ortizana_LATE_106_5010_dnn_misc-1.py'].decode()
    assert ortiz.startswith('# # ortizana: ') and ortiz.endswith(RIGHT['dnn_misc.py'].decode())
    first_lines = (feedback / 'ortizana.md').read_text().splitlines()[:3]
    assert ortiz.splitlines()[:3] == [('# ' + line).rstrip() for line in first_lines]
