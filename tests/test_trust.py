"""Grades the graded code cannot forge: cheats earn what their honest code earns (harness/client.py).

Each cheat is a dnn_misc.py, with a right dnn_cnn_2.py beside it, that runs its cheat when it is
imported (or when a check calls it) and otherwise holds the course-style modules: right ones, or
ones whose relu.backward returns grad unchanged. Each is graded in one class beside the same modules
handed in honestly, with bubblewrap and without it, and earns no more than its honest twin: 36 for
the right modules and 31 for the broken relu (no result files: 25 for the modules and 11 for
Q3.9), and 11 at most for a file with no modules of its own.

The forgeries (tests/forgeries.py) are the same modules, right or broken, handed in with the course's
Q3.3 result file, with code that steers the figures the checker reads back toward the course's first
epoch: they earn what their honest twins earn, 38 and 31 (the result file's 2 points only with the
right modules); and the parameters swapped after the last step in right modules but for the initial
weights' scale, which no item grades, earn 36, as those modules do.
"""
import csv
import os
import subprocess
import sys
import time

import pytest

from conftest import REPO, ROW_BIAS, course_style_source
from forgeries import FORGERIES, forgery, handed_in
from harness.grader import sandbox

pytestmark = pytest.mark.slow  # two gradings of a class of cheats

SANDBOX = sandbox.choose()
needs_bwrap = pytest.mark.skipif(not SANDBOX.bwrap, reason=f'no sandbox to test here: {SANDBOX.why}')
DRIVER = open(os.path.join(REPO, 'tests', 'course_style', 'dnn_cnn_2.py')).read()
RIGHT = course_style_source(ROW_BIAS)
BROKEN = course_style_source(ROW_BIAS + [('backward_output = grad * self.mask', 'backward_output = grad')])
HONEST = {'right': 36, 'broken': 31}
# Every step right, but not the course's start: only the initial parameters read back can tell.
INIT = course_style_source(ROW_BIAS + [("np.random.normal(0, 0.1, (input_D, output_D))",
                                        "np.random.normal(0, 0.12, (input_D, output_D))")])

# The cheats run at import: each swallows what it raises, as a cheat would, so that the modules load.
PRELUDES = {
    # The first cheat: replace the checker's functions, from inside the submission.
    'main': ("import sys\nmain = sys.modules['__main__']\nfor name in dir(main):\n"
             "    if callable(getattr(main, name)) and not name.startswith('__'):\n"
             "        setattr(main, name, lambda *a, **k: {'verdict': 'PASS', 'message': 'forged'})"),
    'modules': ("import sys\nfor name, module in list(sys.modules.items()):\n"
                "    if name.startswith(('harness', 'hw5')):\n"
                "        for attribute in dir(module):\n"
                "            if callable(getattr(module, attribute)):\n"
                "                setattr(module, attribute, lambda *a, **k: {'verdict': 'PASS'})"),
    'numpy': ("import numpy\nfor name in ('allclose', 'array_equal', 'isclose', 'max', 'abs'):\n"
              "    setattr(numpy, name, lambda *a, **k: True if name != 'max' else 0.0)"),
    'builtins': "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 0",
    # The third: a report on every file descriptor it inherited, then an exit.
    'fds': ("import os\nfake = b'{\"loaded\": true}\\n' + b'{\"verdict\": \"PASS\", \"message\": \"\"}\\n' * 40\n"
            "for fd in range(64):\n    try:\n        os.write(fd, (128).to_bytes(8, 'little') + fake)\n"
            "    except OSError:\n        pass\nos._exit(0)"),
    'exit': 'import sys\nsys.exit(0)',
}
# The second cheat, with no modules of its own: a dnn_misc.py found on sys.path (or above the
# process's files), read and run as its own.
ON_PATH = ("import os, sys\nhere = os.path.abspath(__file__)\nmain = getattr(sys.modules['__main__'], '__file__', '') or ''\n"
           "folders = list(sys.path) + [os.path.dirname(main), os.path.dirname(os.path.dirname(main)), os.getcwd()]\n"
           "for folder in folders:\n    candidate = os.path.join(folder or '.', 'dnn_misc.py')\n"
           "    if os.path.isfile(candidate) and os.path.abspath(candidate) != here:\n"
           "        exec(open(candidate).read())\n        break\n")
KEY = f"exec(open({os.path.join(REPO, 'dnn_misc.py')!r}).read())\n"  # the answer key, by its path


def swallowed(code):
    indented = '\n'.join('    ' + line for line in code.splitlines())
    return f'try:\n{indented}\nexcept BaseException:\n    pass\n\n'


def answers(kind):
    """A right module with one answer that is no honest array: relu.forward's."""
    returns = {
        'equal': ("class Always:\n    def __eq__(self, other):\n        return True\n"
                  "    def __array__(self, *a, **k):\n        import numpy\n        return numpy.zeros((2, 3))\n"),
        'subclass': ("import numpy\nclass Always(numpy.ndarray):\n    def __eq__(self, other):\n        return True\n"),
        'nan': '',
        'shape': '',
    }[kind]
    result = {'equal': 'Always()', 'subclass': 'numpy.zeros(X.shape).view(Always)', 'nan': 'X * float("nan")',
              'shape': 'forward_output.reshape(-1)'}[kind]
    relu = '        forward_output = X * self.mask\n        return forward_output\n'
    assert RIGHT.count(relu) == 1
    source = RIGHT.replace(relu, relu.replace('return forward_output', f'return {result}'))
    return returns + source


def cases():
    """{folder: (its dnn_misc.py, the honest worth it may not pass)}."""
    found = {'honest-right': (RIGHT, 36), 'honest-broken': (BROKEN, 31), 'honest-empty': ('import numpy as np\n', 11)}
    for name, code in PRELUDES.items():
        found[f'{name}-right'] = (swallowed(code) + RIGHT, 36)
        found[f'{name}-broken'] = (swallowed(code) + BROKEN, 31)
    found['on-path'] = (swallowed(ON_PATH), 11)
    found['key'] = (swallowed(KEY), 11)
    for kind in ('equal', 'subclass', 'nan', 'shape'):
        found[f'answer-{kind}'] = (answers(kind), 31)  # relu.forward wrong: worth what a broken relu is
    exits = RIGHT.replace('        backward_output = grad * self.mask\n', '        import os\n        os._exit(0)\n', 1)
    found['exit-in-check'] = (exits, 31)
    return found


def forged_cases():
    """{folder: (its dnn_misc.py, its honest twin's worth, {other file handed in: its text})}: the
    forgeries and their honest twins, each with Q3.3's result file, worth 2 points with right modules."""
    found = {'honest-q33-right': (RIGHT, 38, handed_in()), 'honest-q33-broken': (BROKEN, 31, handed_in()),
             'honest-q33-init': (INIT, 36, handed_in())}
    for name in FORGERIES:
        found[f'{name}-right'] = (RIGHT + forgery(name), 38, handed_in(name))
        found[f'{name}-broken'] = (BROKEN + forgery(name), 31, handed_in(name))
    found['params-swapped-init'] = (INIT + forgery('params-swapped'), 36, handed_in('params-swapped'))
    return found


def battery():
    """Every case graded in the class: {folder: (its dnn_misc.py, its worth, {other file handed in: its text})}."""
    return {**{name: (source, worth, {}) for name, (source, worth) in cases().items()}, **forged_cases()}


def grade(root, sandboxed):
    """Grade the class of cases; {folder: its CSV row}, and what the grader printed."""
    for name, (source, _, files) in battery().items():
        (root / 'class' / name).mkdir(parents=True)
        for file, text in dict(files, **{'dnn_misc.py': source, 'dnn_cnn_2.py': DRIVER}).items():
            (root / 'class' / name / file).write_text(text)
    env = dict(os.environ)
    if not sandboxed:
        env['PATH'] = str(root / 'no-bwrap')
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), str(root / 'class'),
                             '-j', '2', '--out', str(root / 'grades.csv'), '--timeout', '120'],
                            capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr
    with open(root / 'grades.csv') as f:
        rows = {row['submission']: row for row in csv.DictReader(f) if row['submission'] != 'points possible'}
    return rows, result


@pytest.fixture(scope='module')
def sandboxed(tmp_path_factory):
    return grade(tmp_path_factory.mktemp('cheats'), sandboxed=True)


@pytest.fixture(scope='module')
def unsandboxed(tmp_path_factory):
    return grade(tmp_path_factory.mktemp('cheats-plain'), sandboxed=False)


def check(rows, holds_without_sandbox=True):
    assert {name: rows[name]['total'] for name in ('honest-right', 'honest-broken', 'honest-empty')} == {
        'honest-right': '36', 'honest-broken': '31', 'honest-empty': '11'}
    for name, (_, worth) in cases().items():
        if name == 'key' and not holds_without_sandbox:
            continue  # the answer key by its path: only the sandbox hides it (test_the_key_is_read_without_it)
        assert int(rows[name]['total']) <= worth, (name, rows[name]['notes'][:600])
        if name.endswith('-broken') or name.startswith(('answer-', 'exit-in-')):
            assert rows[name]['Q3.2 relu.backward' if not name.startswith('answer-') else 'Q3.2 relu.forward'] == '0'


@needs_bwrap
def test_with_the_sandbox_every_cheat_earns_its_honest_worth(sandboxed):
    rows, result = sandboxed
    assert 'sandboxed by bubblewrap' in result.stdout
    check(rows)
    assert rows['numpy-right']['total'] == '36'  # NumPy's comparisons, replaced there, change nothing here


def test_without_the_sandbox_every_cheat_but_reading_the_key_by_its_path_earns_its_honest_worth(unsandboxed):
    rows, result = unsandboxed
    assert 'NOT sandboxed' in result.stderr
    check(rows, holds_without_sandbox=False)


def check_forged(rows):
    assert [rows[f'honest-q33-{kind}']['total'] for kind in ('right', 'broken', 'init')] == ['38', '31', '36']
    over = {name: (rows[name]['total'], rows[name]['Q3.3']) for name, (_, worth, _) in forged_cases().items()
            if int(rows[name]['total']) > worth}
    assert not over, f'forgeries that earn more than their honest twin (total, Q3.3): {over}'
    assert all(rows[name]['Q3.2 relu.backward'] == '0' for name in forged_cases() if name.endswith('-broken'))


@needs_bwrap
def test_with_the_sandbox_no_forgery_earns_more_than_its_honest_twin(sandboxed):
    check_forged(sandboxed[0])


def test_without_the_sandbox_no_forgery_earns_more_than_its_honest_twin(unsandboxed):
    check_forged(unsandboxed[0])


def test_the_key_is_read_without_it(unsandboxed):
    """What the warning says: without bubblewrap the student process can read what the grader's user
    can, the answer key included, if it knows where it lies (as root, it runs as nobody, who may still
    read a world-readable clone)."""
    rows, _ = unsandboxed
    assert int(rows['key']['total']) > 11


@needs_bwrap
def test_a_child_left_behind_cannot_rewrite_the_grades(tmp_path):
    """A submission's process that outlives its checks, to rewrite the CSV once the grader wrote it."""
    target = tmp_path / 'grades.csv'
    child = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(4)\n"
             f"    open({str(target)!r}, 'w').write('forged')\n    os._exit(0)\n")
    (tmp_path / 'class' / 'child').mkdir(parents=True)
    (tmp_path / 'class' / 'child' / 'dnn_misc.py').write_text(swallowed(child) + BROKEN)
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), str(tmp_path / 'class'),
                             '--out', str(target)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    written = target.read_text()
    time.sleep(6)
    assert target.read_text() == written and 'forged' not in written
