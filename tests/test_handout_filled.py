"""The students' handout with our answers put back in its TODOs: every check of its checker passes,
Q3.3's first epoch there is the course's, course-style files get our checker's verdicts, and a TODO
of dnn_cnn_2.py still as handed out is named."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, ROW_BIAS, course_style_source
from handout_kit import checker, filled, read


@pytest.mark.slow
def test_filled_with_our_answers_it_passes_everything_and_q33_gives_the_courses_first_epoch(built):
    folder = filled(built)
    status, checks = checker(folder, '--all', '--pipeline')
    assert status == 0 and all(c['verdict'] == 'PASS' for c in checks), checks
    status, checks = checker(folder, '--pipeline', 'dnn_cnn_2.py')
    assert status == 0 and all(c['verdict'] == 'PASS' for c in checks), checks
    assert 'with your dnn_misc.py: 0.9056 / 0.913' in checks[-1]['message']
    run = subprocess.run(['bash', 'scripts/q33.sh', '--num_epoch', '1'], cwd=folder, capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, PYTHON=sys.executable))
    assert run.returncode == 0, run.stderr
    assert 'Training accuracy at epoch 1 is 0.919\n' in run.stdout and 'Validation accuracy at epoch 1 is 0.908\n' in run.stdout
    assert json.loads(read(folder / 'outputs' / 'MLP_lr0.01_m0.0_w0.0_d0.0.json')) == {'train': [0.919], 'val': [0.908]}


SAME_VERDICTS = {  # a course-style dnn_misc.py: the changes made to it
    'right, a (D,) bias gradient': [],
    'a relu backward without its mask': ROW_BIAS + [('backward_output = grad * self.mask', 'backward_output = grad')],
    'a transposed dW': ROW_BIAS + [("self.gradient['W'] = np.matmul(X.T, grad)", "self.gradient['W'] = np.matmul(grad.T, X)")],
}


@pytest.mark.slow
def test_course_style_files_get_the_same_verdicts_from_the_handouts_checker_as_from_ours(built, tmp_path):
    folder = filled(built)
    for name, changes in SAME_VERDICTS.items():
        path = tmp_path / name.replace(' ', '_') / 'dnn_misc.py'
        path.parent.mkdir()
        path.write_text(course_style_source(changes))
        verdicts = [[(c['check'], c['verdict']) for c in checker(where, '--pipeline', '--questions', 'Q3.3', str(path))[1]]
                    for where in (REPO, folder)]
        assert verdicts[0] == verdicts[1], name
    driver = tmp_path / 'driver' / 'dnn_cnn_2.py'
    driver.parent.mkdir()
    driver.write_text(read(os.path.join(REPO, 'tests', 'course_style', 'dnn_cnn_2.py')))
    (driver.parent / 'dnn_misc.py').write_text(course_style_source(ROW_BIAS))
    ours, theirs = (checker(where, str(driver))[1] for where in (REPO, folder))
    assert [(c['check'], c['verdict'], c.get('todos')) for c in ours] == \
        [(c['check'], c['verdict'], c.get('todos')) for c in theirs]
    assert all(c['verdict'] == 'PASS' for c in ours), ours


def test_no_fixes_makes_a_checker_that_names_a_mistake_and_holds_no_fix(built, tmp_path):
    from harness.checker.fixes import FIXES
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'handout.py'), '--out', str(tmp_path / 'h'),
                             '--no-fixes'], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    texts = {path: read(path) for path in (tmp_path / 'h').rglob('*.py')}
    assert not [(fix, path) for fix in FIXES.values() for path, text in texts.items() if fix in text]
    assert FIXES['dW'] in read(built / 'harness' / 'checker' / 'fixes.py')  # and the default handout has them
    (tmp_path / 'h' / 'dnn_misc.py').write_text(read(filled(built) / 'dnn_misc.py').replace(
        "np.matmul(X.T, grad, out=self.gradient['W'])", "self.gradient['W'] = np.matmul(grad.T, X)"))
    messages = {(c['module'], c['check']): c['message'] for c in checker(tmp_path / 'h')[1]}
    assert messages[('linear_layer', 'backward')].endswith('it is the transpose of the right gradient (grad.T @ X, say)')


def test_graded_against_the_handout_a_list_left_unfilled_is_no_list(built):
    """grade.py --template HANDOUT: the handout's request for the collaboration list is the template's
    own text, so a file that leaves it as it is lists no one; a filled file keeps the given code."""
    from harness.grader.rules import check
    templates = {name: read(built / name) for name in ('dnn_misc.py', 'dnn_cnn_2.py')}
    verdicts = check(templates, templates)
    assert verdicts['collaboration dnn_misc.py'][0] == verdicts['collaboration dnn_cnn_2.py'][0] == 'FAIL'
    folder = filled(built)
    verdicts = check({name: read(folder / name) for name in templates}, templates)
    assert {rule: verdict for rule, (verdict, _) in verdicts.items()} == dict.fromkeys(
        [f'{rule} {name}' for name in templates for rule in ('collaboration', 'imports', 'given code')], 'PASS')




def test_a_todo_of_dnn_cnn_2_still_as_handed_out_is_named_once_the_modules_pass(built):
    status, checks = checker(filled(built, 'modules only', dnn_cnn_2=False), 'dnn_cnn_2.py')
    verdicts = {c['check']: (c['verdict'], c['message']) for c in checks}
    assert status == 1 and verdicts['network'][0] == 'PASS', checks
    for check in ('training pass', 'accuracy passes', 'result file'):
        assert verdicts[check][0] == 'FAIL' and 'stops' in verdicts[check][1], checks
        assert 'TODO (2) of dnn_cnn_2.py is not written yet' in verdicts[check][1], checks
    assert next(c for c in checks if c['check'] == 'training pass')['todos']['TODO (2)'] == 'FAIL'
