"""What the handout's tests share: scripts/handout.py, our answers put back in a handout's TODOs (the
handout built from the working tree is conftest.py's fixture `built`), and its checker run inside it."""
import ast
import json
import os
import subprocess
import sys

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, 'scripts'))
import handout  # noqa: E402

NOT_WRITTEN = 'raise NotImplementedError({!r})'


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def checker(folder, *args):
    """The handout's checker with --json, run in it: (exit status, [check results])."""
    result = subprocess.run([sys.executable, 'hw5_dnn_check.py', '--json', *args], cwd=folder, capture_output=True,
                            text=True, timeout=600)
    assert 'Traceback' not in result.stdout + result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)['checks']


def body(text, item):
    """The source lines of a method's body, its docstring left out."""
    first = item.body[1] if ast.get_docstring(item) is not None else item.body[0]
    return text.splitlines()[first.lineno - 1:item.end_lineno]


def filled(built, name='filled', dnn_misc=True, dnn_cnn_2=True):
    """A copy of the handout with our answers put back in its TODOs (in dnn_misc.py, dnn_cnn_2.py or both)."""
    target = built.parent / name
    if target.exists():
        return target
    subprocess.run(['cp', '-a', str(built), str(target)], check=True)
    key = read(os.path.join(REPO, 'dnn_misc.py'))
    text = read(target / 'dnn_misc.py')
    for (cls, method), item in handout.students_methods(key).items() if dnn_misc else ():
        line = '        ' + NOT_WRITTEN.format(handout.not_written(f'{cls}.{method}'))
        assert text.count(line) == 1
        text = text.replace(line, '\n'.join(body(key, item)))
    (target / 'dnn_misc.py').write_text(text + '# Discussed with nobody.\n')
    text = read(target / 'dnn_cnn_2.py')
    for lines, banner, kept in handout.CNN2_TODOS if dnn_cnn_2 else ():
        if not kept:
            line = '    ' + NOT_WRITTEN.format(handout.not_written(f"{banner.split(':')[0]} of dnn_cnn_2.py"))
            assert text.count(line) == 1
            text = text.replace(line, lines.rstrip('\n'))
    (target / 'dnn_cnn_2.py').write_text(text + '# Discussed with nobody.\n')
    return target
