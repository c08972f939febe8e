"""The sandbox the grader chooses for every run of a student's code.

The grader runs the checker (hw5_dnn_check.py) on a scratch copy of one submission, through run()
here, as a plain process: the checker is ours, and decides. The submission's code runs only in the
student processes the checker starts (harness/client.py), and HW5_SANDBOX tells the checker how to
start them (harness/checker/launch.py). On Linux with bubblewrap (`bwrap`), a student process sees
a minimal view: the system's libraries and Python read-only, the scratch copy, the files it is
shipped, a private /tmp; no repository, no answer key, no other submission, no home; no network;
process ids of its own, all killed when it ends. When the grader is root, the code runs as a user
with no rights to the grader's files, with bwrap or without. Elsewhere it runs as a plain process,
and describe() says what it could see. Every student process has a memory, a file-size and a
process limit, and the checker a time limit.

    sandbox = choose(timeout=300, memory_mb=2048)     # once
    status, output, _ = sandbox.run(argv, scratch)    # each run of the checker
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from harness import BLAS_THREADS
from harness.checker import PROC, Launcher, as_root, student_uid, student_user

MAX_OUTPUT = 1 << 20  # of a run's standard output, what is read back
GRADING = 'HW5_GRADING'  # in each run's environment: the grading it belongs to (kill_user)
INSTALL = 'install the package bubblewrap (sudo apt-get install bubblewrap) to sandbox them'


class Unavailable(Exception):
    """No sandbox here, and one was required; the message says why."""


class Sandbox:
    """How the grader runs a submission's code: `bwrap` (its path), or None and `why` there is no
    sandbox; and the time and memory limits. A student process sees nothing but what it is shown
    (view()), so nothing needs hiding from it."""

    def __init__(self, bwrap=None, why='', timeout=300.0, memory_mb=2048):
        self.bwrap, self.why = bwrap, why
        self.timeout, self.memory_mb = timeout, memory_mb
        self._lock, self._running = threading.Lock(), set()  # the runs going at once (grade.py -j N)
        self.stopped = False  # stop(): no run starts, none goes on
        self.token = secrets.token_hex(8)  # this grading's, in the environment of all it starts
        self.since = uptime_ticks()  # when it began

    def describe(self):
        if self.bwrap:
            return ('run apart from the checks, sandboxed by bubblewrap: they saw only Python, their own files '
                    'and the course\'s given ones, with no network and their own process ids')
        user = ''
        if as_root():
            user = (f', as the user {student_user()[0]}' if student_uid(bwrap=False) != os.getuid() else
                    ', as root (Python lies where other users cannot reach it)')
        return (f'run apart from the checks{user}, but NOT sandboxed: {self.why}; they could read what this '
                f'user may read (the answer key too) and write where it may write')

    def spec(self):
        """What HW5_SANDBOX tells the checker: how to start its student processes (Launcher)."""
        return json.dumps({'bwrap': self.bwrap, 'memory_mb': self.memory_mb, 'uid': student_uid(bool(self.bwrap))})

    def run(self, argv, scratch):
        """Run the checker (argv, a Python command) on the submission in `scratch`: it starts the
        student processes, where the submission's code runs, as HW5_SANDBOX says. Returns its exit
        status (None past the time limit), the first MAX_OUTPUT bytes it printed, and the last line of
        its standard error. Whatever it started is killed when it ends."""
        env = {name: os.environ[name] for name in ('PATH', 'LANG', 'LC_ALL', 'LD_LIBRARY_PATH', 'SYSTEMROOT')
               if name in os.environ}
        env.update(dict.fromkeys(BLAS_THREADS, '1'), PYTHONDONTWRITEBYTECODE='1', HW5_SANDBOX=self.spec(),
                   **{GRADING: self.token})
        uid = student_uid(bool(self.bwrap))
        if uid != os.getuid():  # the scratch copy becomes the student user's, who runs its code
            for folder, _, names in os.walk(scratch):
                for path in [folder] + [os.path.join(folder, name) for name in names]:
                    os.lchown(path, uid, uid)
            os.chmod(scratch, 0o711)  # bwrap enters it as root without its rights, before it becomes the user
        # The checker's temporary files (what it ships to its student processes) go in a folder of
        # this run's, removed after it even when the checker is killed and cannot remove them itself.
        with tempfile.TemporaryDirectory(prefix='checker-') as own_tmp, tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as err:
            os.chmod(own_tmp, 0o711)  # the student user passes through it to what is shipped
            env['TMPDIR'] = own_tmp
            with self._lock:
                if self.stopped:
                    return None, b'', 'stopped'
                process = subprocess.Popen(argv, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                           stderr=err, start_new_session=True)
                self._running.add(process)
            try:
                status = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                status = None
            finally:
                _kill(process)
                with self._lock:
                    self._running.discard(process)
                    if not self._running:  # what the student user left, once no other run is in flight
                        kill_user(uid, self.token, self.since)
            out.seek(0)
            err.seek(0)
            lines = err.read(MAX_OUTPUT).decode('utf-8', 'replace').strip().splitlines()
            return status, out.read(MAX_OUTPUT), lines[-1] if lines else ''

    def stop(self):
        """End every run going on, and any asked for after: what they give back is no grading (Ctrl-C)."""
        with self._lock:
            self.stopped = True
            for process in self._running:
                _kill(process)


def kill_user(uid, token, since):
    """Kill what a submission left running: the processes of the user `uid` (not ours) that carry this
    grading's `token` in their environment, or that started after `since` (clock ticks after boot, when
    the grading began) and carry no token of a grading in flight (whose checker, another user's
    process, carries it too). Another grading's processes, and those the user ran before (a daemon of
    nobody's), are left alone; a process that forges a token is not. When `uid` is our own (no
    sandbox, not root), only the processes that carry this grading's token: a student process whose
    checker was killed (its time limit, Ctrl-C) would go on otherwise."""
    if not os.path.isdir(PROC):
        return
    ours = uid == os.getuid()
    theirs, live = {}, set()  # pid: its token (or None), of uid's processes; the tokens other users' carry
    for pid in filter(str.isdigit, os.listdir(PROC)):
        try:
            with open(os.path.join(PROC, pid, 'environ'), 'rb') as f:
                marks = [e.split(b'=', 1)[1] for e in f.read().split(b'\0') if e.startswith(GRADING.encode() + b'=')]
            mark = marks[0].decode('ascii', 'replace') if marks else None
            if os.stat(os.path.join(PROC, pid)).st_uid == uid:
                theirs[pid] = mark
            elif mark:
                live.add(mark)
        except OSError:
            continue
    for pid, mark in theirs.items():
        try:
            if int(pid) == os.getpid():
                continue
            if mark == token or (not ours and mark not in live - {token} and started(pid) >= since):
                os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


def started(pid):
    """When the process `pid` started, in clock ticks after boot (field 22 of Linux's /proc/PID/stat)."""
    with open(os.path.join(PROC, str(pid), 'stat'), 'rb') as f:
        return int(f.read().rsplit(b')', 1)[1].split()[19])


def uptime_ticks():
    """Clock ticks since boot, now; 0 without Linux's /proc."""
    try:
        with open('/proc/uptime') as f:
            return int(float(f.read().split()[0]) * os.sysconf('SC_CLK_TCK'))
    except (OSError, ValueError, AttributeError):
        return 0


def _why_not(bwrap):
    """Why bubblewrap cannot sandbox a run here, or '' when it can (it is tried once)."""
    if not sys.platform.startswith('linux'):
        return f'bubblewrap runs only on Linux, and this is {sys.platform}'
    if not bwrap:
        return f'bwrap is not installed: {INSTALL}'
    if as_root() and not shutil.which('setpriv'):
        return 'setpriv (util-linux) is not installed, and the grader runs as root'
    scratch = tempfile.mkdtemp(prefix='sandbox-try-')
    try:
        os.chmod(scratch, 0o777)
        command, options = Launcher(bwrap, 512, student_uid()).wrap(
            [sys.executable, '-I', '-c', 'import numpy; print("ok")'], {}, [], [scratch])
        try:
            done = subprocess.run(command, capture_output=True, timeout=60, **options)
            status, output, error = done.returncode, done.stdout, done.stderr.decode('utf-8', 'replace').strip()
        except subprocess.TimeoutExpired:
            status, output, error = None, b'', 'it did not start within 60 s'
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if status == 0 and output.strip() == b'ok':
        return ''
    error = error.splitlines()[-1] if error else f'exit status {status}'
    return f'bwrap cannot run here ({error}); allow user namespaces, or {INSTALL}'


def choose(require=False, timeout=300.0, memory_mb=2048):
    """The sandbox for this grading: bubblewrap if it runs here. Without it, raise Unavailable
    if `require`, else runs are plain processes (Sandbox.describe says so)."""
    bwrap = shutil.which('bwrap')
    why = _why_not(bwrap)
    if why and require:
        raise Unavailable(f'no sandbox: {why}')
    return Sandbox(None if why else bwrap, why, timeout, memory_mb)


def _kill(process):
    """Kill the process and its session: bwrap's children, in their own process ids, die with it."""
    try:
        if os.name == 'posix':
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except ProcessLookupError:
        pass
    process.wait()
