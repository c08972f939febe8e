"""The grader's sandbox (harness/grader/sandbox.py) against a hostile class.

Each hostile submission is a right dnn_misc.py that first tries one thing and swallows the
failure; they are graded beside an honest one, as folders, with malformed zips. The class and the
grader's output lie inside a copy of the project, as when staff grade in their clone. The same
class graded without the sandbox shows that every attack is real. Every attack is bounded and
aimed at this test's own files, so that a sandbox that fails harms nothing else.
"""
import csv
import json
import resource
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile

import pytest

from conftest import REPO, ROW_BIAS, course_style_source, tree_digest
from harness.grader import sandbox
from harness.checker import launch

pytestmark = pytest.mark.slow  # the hostile battery, with and without the sandbox

SANDBOX = sandbox.choose()
needs_bwrap = pytest.mark.skipif(not SANDBOX.bwrap, reason=f'no sandbox to test here: {SANDBOX.why}')
TOKEN = uuid.uuid4().hex[:12]
SLEEP = f'97.{int(TOKEN[:6], 16)}'  # the hostile's sleeping processes, told apart by their argument
SECRETS = {'honest': uuid.uuid4().hex, 'outside': uuid.uuid4().hex}
DRIVER = open(os.path.join(REPO, 'tests', 'course_style', 'dnn_cnn_2.py')).read()
PROJECT_FILES = ['dnn_misc.py', 'dnn_mlp.py', 'dnn_mlp_nononlinear.py', 'dnn_cnn.py', 'dnn_cnn_2.py', 'dnn_im2col.py',
                 'data_loader.py', 'hw5_dnn_check.py', 'harness', 'scripts', 'outputs']


def attacks(where, port):
    """{name: the code a hostile dnn_misc.py runs first}, each attempt bounded."""
    honest = os.path.join(where['class'], 'honest', 'dnn_misc.py')
    return {
        'project': f"open({os.path.join(where['project'], 'dnn_im2col.py')!r}, 'a').write('# pwned\\n')",
        'class': f"open({os.path.join(where['class'], f'pwned-{TOKEN}.txt')!r}, 'w').write('x')",
        'tmp': f"open('/tmp/pwned-{TOKEN}.txt', 'w').write('x')",
        'home': f"open({os.path.join(where['home'], f'pwned-{TOKEN}.txt')!r}, 'w').write('x')",
        'other': (f"import glob\nfor path in [{honest!r}] + glob.glob({where['tmp']!r} + '/grade-*/dnn_misc.py'):\n"
                  f"    open(path, 'a').write('# pwned\\n')"),
        'read': (f"import re\ntext = open({honest!r}).read() + open({where['outside']!r}).read()\n"
                 f"stolen = ' '.join(re.findall('secret: (\\\\w+)', text))"),
        'connect': f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'stolen')",
        'fork': ("import os\nfor _ in range(300):\n    if os.fork() == 0:\n        try:\n            os.setsid()\n"
                 f"            os.execve('/bin/sleep', ['sleep', {SLEEP!r}], {{}})\n        finally:\n"
                 "            os._exit(0)"),  # an empty environment: no grading's token to be found by
        'parent': "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
        'forge': ("import os, signal\nwith open(f'/proc/{os.getppid()}/fd/1', 'w') as out:\n"
                  "    out.write('[\"a report that is not one\"]')\nos.kill(os.getppid(), signal.SIGKILL)"),
        'fill': (f"for i in range(25):\n    with open(f'/tmp/fill-{TOKEN}-{{i}}', 'wb') as f:\n"
                 f"        f.write(bytes(8 << 20))"),
    }


def hostile(code):
    """A right dnn_misc.py that first runs `code`, swallowing what it raises; what it sets as
    `stolen` it carries out in an error."""
    indented = '\n'.join('    ' + line for line in code.splitlines())
    return (f"stolen = ''\ntry:\n{indented}\nexcept BaseException:\n    pass\nif stolen:\n"
            f"    raise RuntimeError('stolen: ' + stolen)\n\n" + course_style_source(ROW_BIAS))


def make_class(root, port):
    """A project copy, a class inside it and the paths the attacks aim at: {name: path}."""
    where = {'project': root / 'project', 'home': root / 'home', 'tmp': root / 'tmp', 'outside': root / 'secret.txt'}
    where['project'].mkdir()
    for name in PROJECT_FILES:
        copy = shutil.copytree if os.path.isdir(os.path.join(REPO, name)) else shutil.copy
        copy(os.path.join(REPO, name), where['project'] / name, **({'ignore': shutil.ignore_patterns('__pycache__')}
                                                                  if copy is shutil.copytree else {}))
    os.symlink(os.path.join(REPO, 'data'), where['project'] / 'data')
    where['class'] = where['project'] / 'download'
    for folder in ('home', 'tmp', 'class'):
        where[folder].mkdir()
    where['outside'].write_text(f"secret: {SECRETS['outside']}\n")
    honest = where['class'] / 'honest'
    honest.mkdir()
    (honest / 'dnn_misc.py').write_text(course_style_source(ROW_BIAS) + f"\n# secret: {SECRETS['honest']}\n")
    (honest / 'dnn_cnn_2.py').write_text(DRIVER)
    where = {name: str(path) for name, path in where.items()}
    for name, code in attacks(where, port).items():
        os.mkdir(os.path.join(where['class'], name))
        with open(os.path.join(where['class'], name, 'dnn_misc.py'), 'w') as f:
            f.write(hostile(code))
    with zipfile.ZipFile(os.path.join(where['class'], 'HW_6_code_climbs.1.zip'), 'w') as archive:
        archive.writestr('dnn_misc.py', '')
        archive.writestr(f'../../climbed-{TOKEN}.py', 'x')
    with zipfile.ZipFile(os.path.join(where['class'], 'HW_6_code_link.2.zip'), 'w') as archive:
        info = zipfile.ZipInfo('dnn_misc.py')
        info.external_attr = 0o120777 << 16
        archive.writestr(info, where['outside'])
    with zipfile.ZipFile(os.path.join(where['class'], 'HW_6_code_bomb.3.zip'), 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.writestr('zeros.json', bytes(201 << 20))
    return where


def sleepers():
    """The pids of the hostile's sleeping processes still alive."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if f.read().split(b'\0')[1:2] == [SLEEP.encode()]:
                    found.append(int(pid))
        except OSError:
            continue
    return found


def leftovers():
    return [name for name in os.listdir('/tmp') if TOKEN in name]


def clean_up():
    """What an attack left outside a sandbox that did not hold: the sleeping processes and /tmp's files."""
    for pid in sleepers():
        os.kill(pid, signal.SIGKILL)
    for name in leftovers():
        os.remove(os.path.join('/tmp', name))


def grade(tmp_path, sandboxed):
    """Grade the hostile class: what came out, and what each place outside looked like before and after."""
    listener = socket.create_server(('127.0.0.1', 0))
    listener.setblocking(False)
    where = make_class(tmp_path, listener.getsockname()[1])
    watched = ['project', 'home', 'tmp']
    before = {name: tree_digest(where[name]) for name in watched} | {'outside': open(where['outside']).read()}
    grades = os.path.join(where['project'], 'grades')
    # matplotlib keeps its cache in $HOME, unless told: the grader's own picture must not pass for an attack
    env = dict(os.environ, HOME=where['home'], TMPDIR=where['tmp'], MPLCONFIGDIR=str(tmp_path / 'matplotlib'))
    if not sandboxed:
        env['PATH'] = os.path.join(where['tmp'], 'no-bwrap')  # no bwrap on it: the grader runs without
    try:
        result = subprocess.run([sys.executable, os.path.join(where['project'], 'scripts', 'grade.py'), where['class'],
                                 '-j', '2', '--out', os.path.join(grades, 'grades.csv'), '--timeout', '120',
                                 '--feedback', os.path.join(grades, 'feedback')],
                                capture_output=True, text=True, timeout=600, env=env)
        left, found = sleepers(), leftovers()
        try:
            listener.accept()
            connected = True
        except BlockingIOError:
            connected = False
    finally:
        clean_up()
        listener.close()
    with open(os.path.join(grades, 'grades.csv')) as f:
        table = f.read()
    written = table + result.stdout + result.stderr
    for folder, _, names in os.walk(grades):
        for name in names:
            text = open(os.path.join(folder, name), errors='replace').read()  # a .png too
            if folder.endswith('-graded'):  # a grading kept for a rerun: the files' texts read before any code ran
                text = json.dumps(dict(json.loads(text), texts=None))
            written += text
    shutil.rmtree(grades)  # the grader's own output: what the project's digest leaves out
    after = {name: tree_digest(where[name]) for name in watched} | {'outside': open(where['outside']).read()}
    rows = {row['submission']: row for row in csv.DictReader(table.splitlines())}
    climbed = [os.path.join(f, n) for f, _, names in os.walk(tmp_path) for n in names if n.startswith('climbed-')]
    return {'result': result, 'rows': rows, 'written': written, 'sleepers': left, 'tmp': found, 'where': where,
            'connected': connected, 'climbed': climbed,
            'changed': sorted(name for name in before if before[name] != after[name])}


@pytest.fixture(scope='module')
def sandboxed(tmp_path_factory):
    return grade(tmp_path_factory.mktemp('hostile'), sandboxed=True)


@pytest.fixture(scope='module')
def unsandboxed(tmp_path_factory):
    return grade(tmp_path_factory.mktemp('hostile-plain'), sandboxed=False)


def test_without_the_sandbox_every_attack_gets_through(unsandboxed):
    """The battery is real: each of these, the sandbox must stop."""
    assert 'grade.py: warning: the submissions are run apart from the checks' in unsandboxed['result'].stderr
    assert 'but NOT sandboxed' in unsandboxed['result'].stderr
    assert 'bwrap is not installed' in unsandboxed['result'].stderr
    # Not $TMPDIR: what the checker that 'parent' killed had shipped goes with its run's own folder.
    assert unsandboxed['changed'] == ['home', 'project']
    assert all(secret in unsandboxed['written'] for secret in SECRETS.values())
    assert unsandboxed['connected'] and unsandboxed['sleepers']
    assert sorted({name.split('-')[0] for name in unsandboxed['tmp']}) == ['fill', 'pwned']
    # A report that is not the checker's costs that submission its points, and stops nothing else.
    assert unsandboxed['result'].returncode == 0, unsandboxed['result'].stderr
    assert unsandboxed['rows']['forge']['total'] == '0'
    assert 'the checks ended without a report' in unsandboxed['rows']['forge']['notes']


def test_malformed_zips_are_refused_with_a_reason_either_way(sandboxed, unsandboxed):
    for graded in (unsandboxed,) + ((sandboxed,) if SANDBOX.bwrap else ()):
        rows = graded['rows']
        assert 'would land outside the folder' in rows['climbs.1']['status'] and not graded['climbed']
        assert 'is a symbolic link' in rows['link.2']['status']
        assert 'past the limit of 200 MB' in rows['bomb.3']['status']


@needs_bwrap
def test_the_grader_says_it_sandboxed_the_submissions(sandboxed):
    assert sandboxed['result'].returncode == 0, sandboxed['result'].stderr
    assert 'the submissions are run apart from the checks, sandboxed by bubblewrap' in sandboxed['result'].stderr
    assert 'The submissions were run apart from the checks, sandboxed by bubblewrap' in sandboxed['result'].stdout


@needs_bwrap
def test_nothing_is_written_outside_the_scratch_folders(sandboxed):
    assert sandboxed['changed'] == [] and sandboxed['tmp'] == []


@needs_bwrap
def test_nothing_read_reaches_the_grades(sandboxed):
    assert not [name for name, secret in SECRETS.items() if secret in sandboxed['written']]


@needs_bwrap
def test_no_connection_and_no_process_left_behind(sandboxed):
    assert not sandboxed['connected'] and sandboxed['sleepers'] == []


@needs_bwrap
def test_the_honest_score_is_unchanged(sandboxed, tmp_path):
    shutil.copytree(os.path.join(sandboxed['where']['class'], 'honest'), tmp_path / 'alone' / 'honest')
    out = tmp_path / 'grades.csv'
    subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), str(tmp_path / 'alone'),
                    '--out', str(out)], capture_output=True, timeout=300, check=True)
    with open(out) as f:
        row = next(r for r in csv.DictReader(f) if r['submission'] == 'honest')
    assert row == sandboxed['rows']['honest'] and row['total'] == '36', row['notes']
    hostile = {name: sandboxed['rows'][name]['total'] for name in attacks(sandboxed['where'], 0)}
    # Neither 'parent' nor 'forge' can reach the checker: the student process's parent is bwrap's.
    assert hostile == dict.fromkeys(hostile, '25'), hostile


def test_require_sandbox_refuses_to_grade_without_one(tmp_path):
    (tmp_path / 'class' / 'honest').mkdir(parents=True)
    (tmp_path / 'class' / 'honest' / 'dnn_misc.py').write_text(course_style_source(ROW_BIAS))
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'bwrap').write_text('#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n')
    (fake / 'bwrap').chmod(0o755)
    for path, why in ((str(tmp_path / 'none'), 'bwrap is not installed'),
                      (f"{fake}:{os.environ['PATH']}", 'bwrap cannot run here (bwrap: No permissions')):
        result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), str(tmp_path / 'class'),
                                 '--out', str(tmp_path / 'grades.csv'), '--require-sandbox'],
                                capture_output=True, text=True, timeout=120, env=dict(os.environ, PATH=path))
        assert result.returncode == 2 and result.stdout == '', result.stderr
        assert result.stderr.startswith('grade.py: error: no sandbox: ') and why in result.stderr
        assert len(result.stderr.splitlines()) == 1 and not (tmp_path / 'grades.csv').exists()


def test_without_proc_the_plain_student_process_gets_no_process_limit(tmp_path, monkeypatch):
    """macOS has no /proc to count a user's processes by: the student process gets its other limits."""
    monkeypatch.setattr(launch, 'PROC', str(tmp_path / 'no-proc'))
    limits = 'import resource; print(resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0])'
    command, options = launch.Launcher(None, 512).wrap([sys.executable, '-c', limits], {}, [], [str(tmp_path)])
    output = subprocess.run(command, capture_output=True, timeout=60, check=True, **options).stdout
    before = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    assert output.split() == [str(before).encode(), str(launch.FILE_BYTES).encode()]


@pytest.mark.skipif(not hasattr(os, 'geteuid') or os.geteuid() != 0 or not os.path.isdir('/proc'),
                    reason='needs root, to run processes as another user, and Linux /proc')
def test_what_a_grading_kills_of_its_users_processes_is_its_own(tmp_path):
    """Two gradings on one machine, their code run as nobody: each kills what its runs left, and a
    process of nobody's that no grading started, or another grading's (its checker, root's, carries its
    token too), lives on; one that claims a grading that is not in flight is killed."""
    def started(user, **marks):
        become = (lambda: (os.setgid(launch.NOBODY), os.setuid(launch.NOBODY))) if user == 'nobody' else None
        return subprocess.Popen(['sleep', '60'], env=dict(os.environ, **marks), preexec_fn=become)
    daemon = started('nobody')  # running before the grading began
    time.sleep(0.1)
    grading = sandbox.Sandbox()
    time.sleep(0.05)
    another = {sandbox.GRADING: 'another'}
    processes = {'daemon': daemon, 'ours': started('nobody', **{sandbox.GRADING: grading.token}),
                 "another grading's checker": started('root', **another), "another grading's": started('nobody', **another),
                 'unmarked, after': started('nobody'), 'forged': started('nobody', **{sandbox.GRADING: 'forged'})}
    try:
        time.sleep(0.2)
        sandbox.kill_user(launch.NOBODY, grading.token, grading.since)
        time.sleep(0.2)
        alive = {name: process.poll() is None for name, process in processes.items()}
        assert alive == {'daemon': True, 'ours': False, "another grading's checker": True, "another grading's": True,
                         'unmarked, after': False, 'forged': False}
    finally:
        for process in processes.values():
            process.kill()
            process.wait()


@pytest.mark.skipif(not os.path.isdir('/proc'), reason="needs Linux's /proc")
def test_run_as_the_graders_own_user_a_grading_kills_only_what_carries_its_token():
    """No sandbox and not root: the student processes are the grader's user's. One that outlived its
    checker (killed at its time limit, or by Ctrl-C) is killed; the user's other processes are not."""
    grading = sandbox.Sandbox()
    time.sleep(0.05)
    processes = {name: subprocess.Popen(['sleep', '60'], env=dict(os.environ, **marks), start_new_session=True)
                 for name, marks in [('ours', {sandbox.GRADING: grading.token}), ('unmarked, after', {}),
                                     ("another grading's", {sandbox.GRADING: 'another'})]}
    try:
        time.sleep(0.2)
        sandbox.kill_user(os.getuid(), grading.token, grading.since)
        time.sleep(0.2)
        alive = {name: process.poll() is None for name, process in processes.items()}
        assert alive == {'ours': False, 'unmarked, after': True, "another grading's": True}
    finally:
        for process in processes.values():
            process.kill()
            process.wait()


def test_what_a_student_process_is_shipped_every_user_may_read(tmp_path, monkeypatch):
    """Gradescope's setup.sh closes the autograder's sources to other users (go-rwx), and the student
    process runs as hw5student: the copies it is shipped are readable all the same."""
    for source, _ in launch.SHIPPED:
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(REPO, source), tmp_path / source)
        os.chmod(tmp_path / source, 0o600)
    monkeypatch.setattr(launch, 'REPO', str(tmp_path))
    shipped = launch.ship()
    try:
        modes = {name: os.stat(os.path.join(shipped, name)).st_mode & 0o777 for _, name in launch.SHIPPED}
        assert set(modes.values()) == {0o644} and os.stat(shipped).st_mode & 0o777 == 0o755, modes
    finally:
        shutil.rmtree(shipped)
