"""scripts/handout.py: the students' handout, built from the working tree, holds no answer, gives the
answer key's files unchanged, and checks to a FAIL per TODO as handed out (test_handout_filled.py:
once our answers are put back in its TODOs)."""
import io
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

from conftest import REPO
from handout_kit import body, checker, handout, read

MADE = {'dnn_misc.py', 'dnn_cnn_2.py', 'README.md', '.gitignore', handout.HANDED_OUT, 'harness/checker/edition.py'}


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
    """The answer key's code for what students write, as {what: code}: each statement of the five methods
    and of Q3.9's chains, and each method and chain whole, but what the given code of the same file already
    holds (dropout.backward's one line is the given forward's last line, renamed: the given code shows it)."""
    found = {}
    text = read(os.path.join(REPO, 'dnn_misc.py'))
    methods = [body(text, item) for item in handout.students_methods(text).values()]
    pieces = [(text, handout.student_dnn_misc(text), [line.strip() for lines in methods for line in lines]
               + ['\n'.join(lines) for lines in methods])]
    text = read(os.path.join(REPO, 'dnn_cnn_2.py'))
    chains = [lines for lines, _, kept in handout.CNN2_TODOS if not kept]
    given = text
    for lines in chains:
        given = given.replace(lines, '')
    pieces.append((text, given, [line.strip() for lines in chains for line in lines.splitlines()] + chains))
    for _, given, codes in pieces:
        found.update({code: code for code in codes if not holds(given, code)})
    return found


def squeezed(text):
    return re.sub(r'\s+', '', text)


def test_no_file_of_the_handout_holds_the_answer_keys_code(built):
    found = answers()
    assert len(found) >= 14, found  # the chains' six lines and two wholes, three methods' lines at least, ...
    texts = {path: read(path) for path in built.rglob('*') if path.is_file() and path.suffix != '.json'}
    python = {path: text for path, text in texts.items() if path.suffix == '.py'}
    leaks = [(code, str(path.relative_to(built))) for code in found for path, text in python.items() if holds(text, code)]
    # and as text, in comments, strings and every other file (the README, the scripts)
    leaks += [(code, str(path.relative_to(built))) for code in found for path, text in texts.items()
              if squeezed(code) in squeezed(text)]
    assert leaks == []
    # The test can fail: the answer key itself holds every piece, and renamed variables do not hide one.
    key = read(os.path.join(REPO, 'dnn_misc.py')) + read(os.path.join(REPO, 'dnn_cnn_2.py'))
    assert all(holds(key, code) and squeezed(code) in squeezed(key) for code in found)
    renamed = re.sub(r'\bgrad\b', 'upstream', re.sub(r'\bX\b', 'inputs', re.sub(r'\bnp\b', 'numpy', key)))
    assert renamed != key
    assert all(holds(renamed, code) for code in found)


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


def test_usage_errors_write_nothing(tmp_path):
    (tmp_path / 'taken').mkdir()
    for args in [['--out', str(tmp_path / 'taken')], ['--out', str(tmp_path / 'no' / 'such')], []]:
        result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'handout.py'), *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr
    assert sorted(os.listdir(tmp_path)) == ['taken'] and os.listdir(tmp_path / 'taken') == []


def test_a_drifted_driver_stops_the_handout_with_one_line(monkeypatch):
    with pytest.raises(handout.HandoutError, match=r'does not hold, once, the lines of TODO \(3\)'):
        handout.student_dnn_cnn_2(read(os.path.join(REPO, 'dnn_cnn_2.py')).replace('grad_c2', 'grad_conv2'))


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
