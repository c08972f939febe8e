"""scripts/gradescope/: the autograder zip, and run_autograder on a submission as Gradescope runs it."""
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO, ROW_BIAS, course_style_source, tree_digest
from harness.grader import sandbox

OUTPUTS = os.path.join(REPO, 'outputs')
DRIVER = open(os.path.join(REPO, 'tests', 'course_style', 'dnn_cnn_2.py')).read()
COLLABORATION = '\n# I discussed the homework with: none\n'  # the list the assignment asks for at a file's end
_spec = importlib.util.spec_from_file_location('grade_submission', os.path.join(REPO, 'scripts', 'gradescope',
                                                                                 'grade_submission.py'))
grade_submission = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(grade_submission)


def code_blocks(markdown):
    """The text of each fenced code block in `markdown` (its fence: three or more backticks)."""
    return [m.group(2) for m in re.finditer(r'^(`{3,})text\n(.*?)\n\1$', markdown, re.MULTILINE | re.DOTALL)]


def test_markdown_shows_a_message_as_it_was():
    """A check's message, whatever it holds, is the text of one code block after the verdict in bold;
    the grader's own sentence is escaped, and the notes that cost nothing are one block."""
    message = 'grad.T @ X is wrong | *row* _bias_ <b>x</b>\n```\n````nested\n| a | b |'
    output = grade_submission.item_output('FAIL', message, 0, 5)
    assert output.startswith('**FAIL**: 0 of 5 points\n\n`````text\n') and code_blocks(output) == [message]
    assert grade_submission.item_output('PASS', None, 5, 5) == '**PASS**: 5 of 5 points'
    assert grade_submission.item_output('WARN', 'slow', 2.5, 2.5) == '**WARN**: 2.5 of 2.5 points\n\n```text\nslow\n```'
    assert grade_submission.escaped('a_b *c* <d> | `e` [f] #') == r'a\_b \*c\* \<d\> \| \`e\` \[f\] \#'
    notes = grade_submission.rules_output(['collaboration dnn_misc.py: no list', 'dropout.forward: wrong\n| 1 |'])
    assert notes.startswith("**The assignment's rules**") and code_blocks(notes) == [
        'collaboration dnn_misc.py: no list\n\ndropout.forward: wrong\n| 1 |']
    assert grade_submission.rules_output([]) == "**The assignment's rules**: none broken."


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


@pytest.mark.slow
def test_the_zip_holds_what_gradescope_runs(autograder):
    _, modes = autograder
    assert {'setup.sh', 'run_autograder', 'harness/grader/grading.py', 'hw5_dnn_check.py', 'dnn_misc.py',
            'data/mnist_subset.json', 'scripts/rubric.json', 'scripts/gradescope/grade_submission.py',
            'outputs/CNN2_lr0.001_m0.9_w0.0_d0.5.json'} <= set(modes)
    assert modes['run_autograder'] & stat.S_IXUSR and modes['setup.sh'] & stat.S_IXUSR
    assert not any(name.startswith(('tests/', 'bench/', '.git')) for name in modes)


@pytest.mark.slow
def test_a_right_submission_scores_the_rubric_total(autograder):
    root, _ = autograder
    # its dnn_misc.py ends with the list of classmates, its dnn_cnn_2.py does not: a rule broken costs nothing
    submission = {'dnn_misc.py': course_style_source(ROW_BIAS) + COLLABORATION, 'dnn_cnn_2.py': DRIVER}
    for name in os.listdir(OUTPUTS):
        if name.endswith('.json'):
            submission[name] = open(os.path.join(OUTPUTS, name)).read()
    results = run(root, submission)
    assert results['score'] == 50 and len(results['tests']) == 17
    assert all(set(test) >= {'name', 'score', 'max_score', 'status', 'output'} for test in results['tests'])
    assert all(test['status'] == 'passed' and test['score'] == test['max_score'] for test in results['tests'])
    assert sum(test['max_score'] for test in results['tests']) == 50
    isolation = sandbox.choose()  # what the autograder uses, and says: bubblewrap where it runs, else the container
    assert grade_submission.escaped(isolation.describe()) in results['output'] and results['execution_time'] > 0
    assert isolation.bwrap or "Gradescope's container isolates it" in results['output']
    # Markdown, read by people: each item's verdict in bold, and the rules' notes beneath the status
    assert results['output_format'] == results['test_output_format'] == 'md'
    assert all(test['output_format'] == 'md' for test in results['tests'])
    assert all(test['output'].startswith(f"**PASS**: {test['max_score']} of {test['max_score']} points")
               for test in results['tests'])
    notes = code_blocks(results['output'].split("**The assignment's rules**", 1)[1])
    assert len(notes) == 1 and 'collaboration dnn_cnn_2.py: dnn_cnn_2.py does not end with the list' in notes[0]
    assert 'collaboration dnn_misc.py' not in results['output']


@pytest.mark.slow
def test_a_wrong_submission_loses_points_with_reasons(autograder):
    root, _ = autograder
    results = run(root, {'dnn_misc.py': course_style_source(
        ROW_BIAS + [('backward_output = grad * self.mask', 'backward_output = grad')])})
    tests = {test['name']: test for test in results['tests']}
    assert tests['Q3.2 relu.backward']['score'] == 0 and tests['Q3.2 relu.backward']['status'] == 'failed'
    assert 'relu.backward' in tests['Q3.2 relu.backward']['output']
    assert tests['Q3.9 network']['output'] == ('**FAIL**: 0 of 3 points\n\n'
                                               '```text\nno dnn_cnn_2.py in the submission\n```')
    assert results['score'] == sum(test['score'] for test in results['tests']) == 20
    # the failed check's message, whole, in a code block after the verdict in bold, as Gradescope's Markdown
    relu = tests['Q3.2 relu.backward']['output']
    assert results['output_format'] == results['test_output_format'] == 'md'
    assert tests['Q3.2 relu.backward']['output_format'] == 'md'
    assert relu.startswith('**FAIL**: 0 of 5 points\n\n') and len(code_blocks(relu)) == 1
    assert code_blocks(relu)[0].startswith('relu.backward(') and 'wrong' in code_blocks(relu)[0]
    # its dnn_misc.py does not end with the list of classmates: a note, beneath the status, that costs nothing
    rules = results['output'].split("**The assignment's rules**", 1)[1]
    assert 'collaboration dnn_misc.py: dnn_misc.py does not end with the list of classmates' in code_blocks(rules)[0]


STAFF = 'submission,item,points,reason\npark.7,Q3.2 relu.backward,4,"regrade request: the mask is right"\n'


def built(root, *options):
    """/autograder in `root` from build.py with `options`; (the build's result, the source folder)."""
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'gradescope', 'build.py'),
                             '--out', str(root / 'autograder.zip'), *options], capture_output=True, text=True,
                            timeout=120)
    if result.returncode == 0:
        with zipfile.ZipFile(root / 'autograder.zip') as archive:
            archive.extractall(root / 'source')
        shutil.copy(root / 'source' / 'run_autograder', root / 'run_autograder')
    return result


@pytest.mark.slow
def test_an_override_reaches_the_submission_it_names(tmp_path):
    (tmp_path / 'overrides.csv').write_text(STAFF)
    assert built(tmp_path, '--overrides', str(tmp_path / 'overrides.csv')).returncode == 0
    wrong = {'dnn_misc.py': course_style_source(ROW_BIAS + [('backward_output = grad * self.mask',
                                                             'backward_output = grad')])}
    scores = {}
    for email in ('park.7@osu.edu', 'lee.3@osu.edu'):
        users = [{'email': email, 'id': 1, 'name': 'A Student', 'sid': '5001'}]
        (tmp_path / 'submission_metadata.json').write_text(json.dumps({'users': users}))
        results = run(tmp_path, wrong)
        scores[email] = results['score']
        relu = next(test for test in results['tests'] if test['name'] == 'Q3.2 relu.backward')
        if email.startswith('park.7'):
            assert relu['score'] == 4 and relu['output'].startswith(
                '**FAIL**: 4 of 5 points, set by the course staff: regrade request: the mask is right\n\n```text\n'
                'relu.backward(')
    assert scores == {'park.7@osu.edu': 24, 'lee.3@osu.edu': 20}


@pytest.mark.parametrize('text, error', [
    ('submission,item,points,reason\npark.7,Q3.33,1,x\n', "line 2: no rubric item 'Q3.33'"),
    ('submission,item,points\n', 'line 1 must be the header submission,item,points,reason'),
])
def test_a_bad_overrides_file_builds_nothing(tmp_path, text, error):
    (tmp_path / 'overrides.csv').write_text(text)
    result = built(tmp_path, '--overrides', str(tmp_path / 'overrides.csv'))
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert error in result.stderr.strip().splitlines()[-1] and not (tmp_path / 'autograder.zip').exists()


@pytest.mark.slow
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
    assert results['output_format'] == 'md' and 'ModuleNotFoundError' in code_blocks(results['tests'][0]['output'])[0]
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


@pytest.mark.slow
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


@pytest.mark.slow
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
