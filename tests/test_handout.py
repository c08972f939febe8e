"""scripts/handout.py: the students' handout, built from the working tree, holds no answer, checks to a
FAIL per TODO as handed out, and to all PASS once our answers are put back in its TODOs."""
import ast
import importlib.util
import io
import json
import keyword
import os
import re
import shlex
import subprocess
import sys
import tokenize
import zipfile
from functools import lru_cache

import pytest

from conftest import REPO, ROW_BIAS, course_style_source

spec = importlib.util.spec_from_file_location('handout', os.path.join(REPO, 'scripts', 'handout.py'))
handout = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handout)
MADE = {'dnn_misc.py', 'dnn_cnn_2.py', 'README.md', '.gitignore', handout.HANDED_OUT, 'harness/checker/edition.py'}


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """A handout made by the command, from the working tree."""
    out = tmp_path_factory.mktemp('handout') / 'hw6'
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'handout.py'), '--out', str(out), '--zip'],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == '', result.stderr
    return out


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


@lru_cache(maxsize=None)
def tokens(code):
    """The code's tokens with every name that is not an attribute or a keyword made one name: renaming a
    variable (or `np`) changes nothing; comments and layout do not count."""
    found, previous = [], None
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                          tokenize.ENDMARKER):
            continue
        name = token.type == tokenize.NAME and not keyword.iskeyword(token.string) and previous != '.'
        found.append('NAME' if name else token.string)
        previous = token.string
    return tuple(found)


def holds(text, code):
    """Whether the code's tokens run, in order and unbroken, through the tokens of `text`."""
    haystack, needle = ' '.join(tokens(text)), ' '.join(tokens(code))
    return f' {needle} ' in f' {haystack} '


def answers():
    """The answer key's code for what students write, as {what: statement}: each statement of the five methods
    and of Q3.9's chains, but those that the given code of the same file already holds (dropout.backward's
    one line is the given forward's last line, renamed: the given code shows it), and each chain and method whole."""
    found = {}
    for name, is_answer in [('dnn_misc.py', lambda node: True), ('dnn_cnn_2.py', None)]:
        text = read(os.path.join(REPO, name))
        if is_answer is None:  # the chains: the lines handout.py takes out of dnn_cnn_2.py
            answer = [line.strip() for lines, _, kept in handout.CNN2_TODOS if not kept for line in lines.splitlines()]
            whole = [lines for lines, _, kept in handout.CNN2_TODOS if not kept]
            given = text
            for lines in whole:
                given = given.replace(lines, '')
        else:
            methods = {(cls.name, item.name): item for cls in ast.parse(text).body if isinstance(cls, ast.ClassDef)
                       for item in cls.body if (cls.name, getattr(item, 'name', None)) in handout.TODOS}
            answer, whole = [], []
            for item in methods.values():
                body = [ast.get_source_segment(text, s) for s in item.body[1:]]
                answer += body
                whole.append('\n'.join(body))
            given = handout.student_dnn_misc(text)
        for code in answer + whole:
            if not holds(given, code):
                found[f'{name}: {code}'] = code
    return found


def test_no_file_of_the_handout_holds_the_answer_keys_code(built):
    found = answers()
    assert len(found) >= 10, found  # the chains' six lines, three methods' lines at least, and the wholes
    texts = {path: read(path) for path in built.rglob('*.py')}
    leaks = [(what, str(path.relative_to(built))) for what, code in found.items() for path, text in texts.items()
             if holds(text, code)]
    assert leaks == []
    # The test can fail: the answer key itself holds every piece, and renamed variables do not hide one.
    key = read(os.path.join(REPO, 'dnn_misc.py')) + read(os.path.join(REPO, 'dnn_cnn_2.py'))
    assert all(holds(key, code) for code in found.values())
    renamed = re.sub(r'\bgrad\b', 'upstream', re.sub(r'\bX\b', 'inputs', re.sub(r'\bnp\b', 'numpy', key)))
    assert renamed != key
    assert all(holds(renamed, code) for code in found.values())


def test_the_given_files_are_the_answer_keys_and_the_checker_is_the_handouts(built):
    files = {str(p.relative_to(built)).replace(os.sep, '/') for p in built.rglob('*') if p.is_file()} - {
        'mnist_subset.json'}  # the link the question scripts make (ignored by git), once one has run
    assert not any('grader' in f or f.startswith(('tests/', 'bench/')) or f.endswith('.pyc') for f in files), files
    for name in files - MADE:
        assert (built / name).read_bytes() == open(os.path.join(REPO, name), 'rb').read(), name
    assert {'harness/checker/key.py', 'scripts/q310.sh', 'scripts/windows/q310.bat', 'data/mnist_subset.json'} <= files
    assert os.access(built / 'scripts' / 'q33.sh', os.X_OK)
    edition = read(built / 'harness' / 'checker' / 'edition.py')
    assert f'HANDED_OUT = {handout.HANDED_OUT!r}' in edition
    assert read(built / handout.HANDED_OUT) == read(built / 'dnn_misc.py')
    with zipfile.ZipFile(str(built) + '.zip') as archive:
        assert {name.split('/', 1)[1] for name in archive.namelist()} == files
        assert archive.read('hw6/dnn_cnn_2.py') == (built / 'dnn_cnn_2.py').read_bytes()


def test_outside_its_todos_the_handouts_code_is_the_answer_keys():
    """The answer key keeps every line the handout gives: graded with the handout as the template
    (grade.py --template), the answer key changes no given code."""
    from harness.grader.rules import changed_given_code
    for name, make, edit in [('dnn_misc.py', handout.student_dnn_misc, ('(filter_len - 1) // 2', '0')),
                             ('dnn_cnn_2.py', handout.student_dnn_cnn_2, ('(1225, 10)', '(1225, 9)'))]:
        key = read(os.path.join(REPO, name))
        assert changed_given_code(key, make(key)) == [], name
        assert changed_given_code(key.replace(*edit), make(key)) != []  # and it could tell


def checker(folder, *args):
    """The handout's checker with --json, run in it: (exit status, [check results])."""
    result = subprocess.run([sys.executable, 'hw5_dnn_check.py', '--json', *args], cwd=folder, capture_output=True,
                            text=True, timeout=600)
    assert 'Traceback' not in result.stdout + result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)['checks']


def test_as_handed_out_it_checks_to_one_fail_per_todo(built):
    status, checks = checker(built)
    failing = {f"{c['module']}.{c['check']}": c['message'] for c in checks if c['verdict'] == 'FAIL'}
    assert status == 1 and sorted(failing) == sorted(f'{c}.{m}' for c, m in handout.TODOS), checks
    for what, message in failing.items():
        assert message == f'{what} is not written yet (its TODO in dnn_misc.py)' or \
            message.startswith('not checked yet: it calls ') and 'which is not written yet' in message, message
    status, checks = checker(built, 'dnn_cnn_2.py')
    assert status == 1 and all(c['verdict'] == 'FAIL' and c['message'].startswith('cannot run yet: it computes with '
                                                                                    'your dnn_misc.py') for c in checks)


def test_as_handed_out_a_question_script_says_which_todo_stops_it_in_one_line(built):
    run = subprocess.run(['bash', 'scripts/q33.sh', '--num_epoch', '1'], cwd=built, capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, PYTHON=sys.executable))
    assert run.returncode == 1 and run.stderr == (
        'dnn_mlp.py: error: linear_layer.forward is not written yet (its TODO in dnn_misc.py): write it, then check '
        'it with python3 hw5_dnn_check.py. No result file was written.\n'), run.stderr
    assert os.listdir(built / 'outputs') == ['.gitignore']


def test_a_dnn_misc_that_does_not_compile_fails_its_checks_without_a_traceback(built, tmp_path):
    """The checker never imports the dnn_misc.py beside it (harness/sgd.py imports it only in the drivers)."""
    subprocess.run(['cp', '-a', str(built), str(tmp_path / 'h')], check=True)
    with open(tmp_path / 'h' / 'dnn_misc.py', 'a') as f:
        f.write('def broken(:\n')
    status, checks = checker(tmp_path / 'h')
    assert status == 1 and checks and all(c['verdict'] == 'FAIL' and 'SyntaxError' in c['message'] for c in checks)


def filled(built):
    """A copy of the handout with our answers put back in its TODOs; its folder."""
    target = built.parent / 'filled'
    if target.exists():
        return target
    subprocess.run(['cp', '-a', str(built), str(target)], check=True)
    text = read(target / 'dnn_misc.py')
    key = read(os.path.join(REPO, 'dnn_misc.py'))
    for cls in ast.parse(key).body:
        for item in getattr(cls, 'body', []) if isinstance(cls, ast.ClassDef) else []:
            if (cls.name, getattr(item, 'name', None)) in handout.TODOS:
                lines = key.splitlines()[item.body[1].lineno - 1:item.end_lineno]
                line = f"        raise NotImplementedError('{cls.name}.{item.name} is not written yet (its TODO in dnn_misc.py)')"
                assert text.count(line) == 1
                text = text.replace(line, '\n'.join(lines))
    (target / 'dnn_misc.py').write_text(text + '# Discussed with nobody.\n')
    text = read(target / 'dnn_cnn_2.py')
    for lines, banner, kept in handout.CNN2_TODOS:
        if not kept:
            line = f"    raise NotImplementedError('{banner.split(':')[0]} of dnn_cnn_2.py is not written yet')"
            assert text.count(line) == 1
            text = text.replace(line, lines.rstrip('\n'))
    (target / 'dnn_cnn_2.py').write_text(text + '# Discussed with nobody.\n')
    return target


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
    'right': ROW_BIAS,
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


def test_usage_errors_write_nothing(tmp_path):
    (tmp_path / 'taken').mkdir()
    for args in [['--out', str(tmp_path / 'taken')], ['--out', str(tmp_path / 'no' / 'such')], []]:
        result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'handout.py'), *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr
    assert sorted(os.listdir(tmp_path)) == ['taken'] and os.listdir(tmp_path / 'taken') == []


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


def test_a_drifted_driver_stops_the_handout_with_one_line(monkeypatch):
    with pytest.raises(handout.HandoutError, match=r'does not hold, once, the lines of TODO \(3\)'):
        handout.student_dnn_cnn_2(read(os.path.join(REPO, 'dnn_cnn_2.py')).replace('grad_c2', 'grad_conv2'))


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


def test_the_students_readme_names_what_the_handout_has(built):
    """Every file the student's README names is in the handout, and every command it shows is one the
    handout's scripts and checker take: a script renamed or a flag dropped fails here."""
    text = read(built / 'README.md')
    named = set(re.findall(r'`((?:[\w.-]+/)*[\w-]+\.(?:py|sh|txt|json|png))`', text))
    assert {'dnn_misc.py', 'dnn_cnn_2.py', 'hw5_dnn_check.py', 'requirements-plot.txt'} <= named
    assert [name for name in named if not any((built / folder / name).exists() for folder in ('', 'scripts'))
            and name != 'outputs/curves.png'] == []  # what run_all.sh draws
    commands = [line.strip() for line in text.splitlines() if line.startswith('    ') and not line.startswith('     ')]
    checks = [shlex.split(c.split('#')[0])[2:] for c in commands if c.startswith('python3 hw5_dnn_check.py')]
    scripts = [shlex.split(c.split('#')[0])[1:] for c in commands if c.startswith('bash scripts/')]
    assert len(checks) == 3 and len(scripts) == 3
    for args in checks:  # the handout's own checker reads them as it would run them
        result = subprocess.run([sys.executable, '-c', 'import sys, hw5_dnn_check; hw5_dnn_check.parse_args(sys.argv[1:])',
                                 *args], cwd=built, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (args, result.stderr)
    for script, *flags in scripts:
        driver = re.search(r'run_driver (\S+)', read(built / script)).group(1)
        usage = subprocess.run([sys.executable, driver, '--help'], cwd=built, capture_output=True, text=True, timeout=60)
        assert all(flag in usage.stdout for flag in flags if flag.startswith('--')), (script, flags)
