"""The sandbox around every run of a student's code by the grader.

The grader runs the checker (hw5_dnn_check.py) on a scratch copy of one submission, through run()
here, as a plain process: the checker is ours, and decides. The submission's code runs only in the
student processes the checker starts (harness/client.py), which HW5_SANDBOX tells it how to start
(Launcher). On Linux with bubblewrap (`bwrap`), a student process sees a minimal view (view()):
the system's libraries and Python read-only, the scratch copy, the course's given files, a private
/tmp; no repository, no answer key, no other submission, no home; no network; process ids of its
own, all killed when it ends. When the grader is root, the code runs as a user with no rights to
the grader's files (STUDENT_USER, else nobody), with bwrap or without. Elsewhere it runs as a plain
process, and describe() says what it could see. Every student process has a memory, a file-size
and a process limit, and the checker a time limit.

    sandbox = choose(timeout=300, memory_mb=2048)     # once
    status, output, _ = sandbox.run(argv, scratch)    # each run of the checker
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from harness import BLAS_THREADS, REPO

TMP_BYTES = 128 << 20  # the private /tmp: a tmpfs, held in memory
FILE_BYTES = 64 << 20  # the largest file a run may write
MORE_PROCESSES = 64  # processes (and threads) a run may start beyond those its user already has
NOBODY = 65534  # run as root, the grader runs a submission as this user: it has no rights to anything
STUDENT_USER = 'hw5student'  # ... or as this one, where it exists (scripts/gradescope/setup.sh makes it)
SYSTEM = ('/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32')  # what programs need, read-only
MAX_OUTPUT = 1 << 20  # of a run's standard output, what is read back
PROC = '/proc'  # Linux's processes, counted for the process limit
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
        self._lock, self._running = threading.Lock(), 0  # runs at once (grade.py -j N)

    def describe(self):
        if self.bwrap:
            return ('run apart from the checks, sandboxed by bubblewrap: they saw only Python, their own files '
                    'and the course\'s given ones, with no network and their own process ids')
        user = ''
        if _as_root():
            user = (f', as the user {_student_user()[0]}' if student_uid(bwrap=False) != os.getuid() else
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
                   TMPDIR=tempfile.gettempdir())
        uid = student_uid(bool(self.bwrap))
        if uid != os.getuid():  # the scratch copy becomes the student user's, who runs its code
            for folder, _, names in os.walk(scratch):
                for path in [folder] + [os.path.join(folder, name) for name in names]:
                    os.lchown(path, uid, uid)
            os.chmod(scratch, 0o711)  # bwrap enters it as root without its rights, before it becomes the user
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen(argv, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=err, start_new_session=True)
            with self._lock:
                self._running += 1
            try:
                status = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                status = None
            finally:
                _kill(process)
                with self._lock:
                    self._running -= 1
                    if not self._running:  # what the student user left, once no other run is in flight
                        kill_user(uid)
            out.seek(0)
            err.seek(0)
            lines = err.read(MAX_OUTPUT).decode('utf-8', 'replace').strip().splitlines()
            return status, out.read(MAX_OUTPUT), lines[-1] if lines else ''


def _as_root():
    return hasattr(os, 'geteuid') and os.geteuid() == 0


def _student_user():
    """(name, uid) of the user that runs a submission's code when the grader is root: STUDENT_USER,
    which scripts/gradescope/setup.sh makes, else nobody."""
    try:
        import pwd
        return STUDENT_USER, pwd.getpwnam(STUDENT_USER).pw_uid
    except (ImportError, KeyError):
        return 'nobody', NOBODY


def student_uid(bwrap=True):
    """The uid a submission's code runs as: the student user's when the grader is root, else ours.
    Without bwrap, whose view makes the folders on the way to Python, that user must reach Python
    itself: where it cannot (a Python under /root), the code runs as root, and describe() says so."""
    if not _as_root() or not (bwrap or _others_reach(python_paths() + [os.path.realpath(sys.executable)])):
        return os.getuid()
    return _student_user()[1]


def _others_reach(paths):
    """Whether every user may enter each folder on the way to each path."""
    for path in paths:
        parts = path.strip('/').split('/')
        for depth in range(1, len(parts)):
            if not os.stat('/' + '/'.join(parts[:depth])).st_mode & 0o001:
                return False
    return True


def kill_user(uid):
    """Kill every process of the user `uid` (not ours): what a submission left running."""
    if uid == os.getuid() or not os.path.isdir(PROC):
        return
    for pid in filter(str.isdigit, os.listdir(PROC)):
        try:
            if os.stat(os.path.join(PROC, pid)).st_uid == uid:
                os.kill(int(pid), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def python_paths():
    """What Python needs to run NumPy: its prefixes, the folder of its executable, NumPy's packages."""
    import numpy
    paths = [sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             os.path.dirname(os.path.dirname(os.path.abspath(numpy.__file__)))]
    return sorted({os.path.realpath(p) for p in paths})


def view(bwrap, shown, writable):
    """The bwrap command line, up to the command: a minimal view. The system's programs and libraries
    and Python, read-only; `shown` read-only and `writable` writable; a private /tmp and /dev; no
    network; process ids of its own. Nothing else: no home, no repository, no other submission."""
    args = [bwrap, '--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent',
            '--new-session', '--dev', '/dev', '--proc', '/proc', '--perms', '1777', '--size', str(TMP_BYTES),
            '--tmpfs', '/tmp']
    for top in SYSTEM:
        if os.path.islink(top):
            args += ['--symlink', os.readlink(top), top]
        elif os.path.isdir(top):
            args += ['--ro-bind', top, top]
    args += ['--ro-bind-try', '/etc/ld.so.cache', '/etc/ld.so.cache']
    bound = python_paths()
    if any(REPO == p or REPO.startswith(p.rstrip('/') + '/') for p in bound + list(SYSTEM)):
        args += ['--tmpfs', REPO]  # a repository inside Python's folders: hidden, as it holds the answer key
    mounted, made = list(SYSTEM), {'/tmp'}  # the folders bound (whose insides exist), and those made
    for path, flag in [(p, '--ro-bind') for p in bound + [os.path.realpath(p) for p in shown]] + [
            (os.path.realpath(p), '--bind') for p in writable]:
        # The folders on the way, which bwrap would make for root alone (/root, a test's /tmp/...), made
        # readable by every user; a bound folder's insides are the host's own.
        parts = path.strip('/').split('/')[:-1]
        for depth in range(1, len(parts) + 1):
            folder = '/' + '/'.join(parts[:depth])
            if folder not in made and not any(folder == m or folder.startswith(m + '/') for m in mounted):
                args += ['--perms', '0755', '--dir', folder]
                made.add(folder)
        args += [flag, path, path]
        mounted.append(path)
    args += ['--chdir', os.path.realpath(writable[0] if writable else '/tmp')]
    if _as_root():  # root keeps every capability in bwrap: drop them, and root, before the command
        uid = student_uid(bwrap=True)
        args += ['--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--',
                 shutil.which('setpriv'), f'--reuid={uid}', f'--regid={uid}', '--clear-groups']
    return args + ['--']


class Launcher:
    """How the checker starts a student process, as the grader set it in HW5_SANDBOX: in bwrap's
    minimal view, or as a plain process; either way limited, and as the student user when root."""

    def __init__(self, bwrap=None, memory_mb=2048, uid=None):
        self.bwrap, self.memory_mb = bwrap, memory_mb
        self.uid = os.getuid() if uid is None else uid

    def wrap(self, command, options, shown, writable):
        """(command, Popen options) for running `command` so."""
        options = dict(options)
        if self.bwrap:
            command = view(self.bwrap, shown, writable) + list(command)
        if os.name == 'posix':
            switch = not self.bwrap and _as_root() and self.uid != os.getuid()
            options['preexec_fn'] = _limits(self.memory_mb, self.uid, switch)
        return command, options


def _why_not(bwrap):
    """Why bubblewrap cannot sandbox a run here, or '' when it can (it is tried once)."""
    if not sys.platform.startswith('linux'):
        return f'bubblewrap runs only on Linux, and this is {sys.platform}'
    if not bwrap:
        return f'bwrap is not installed: {INSTALL}'
    if _as_root() and not shutil.which('setpriv'):
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


def _tasks_of(uid):
    """How many processes and threads the user `uid` has: the count that a process limit caps;
    None without Linux's /proc (macOS), where the grader sets no process limit."""
    if not os.path.isdir(PROC):
        return None
    count = 0
    for pid in filter(str.isdigit, os.listdir(PROC)):
        try:
            with open(os.path.join(PROC, pid, 'status')) as f:
                status = dict(line.split(':', 1) for line in f if ':' in line)
            if int(status['Uid'].split()[0]) == uid:
                count += int(status['Threads'])
        except (OSError, KeyError, ValueError):
            continue
    return count


def _limits(memory_mb, uid, switch=False):
    """A preexec_fn: the memory and file-size limits, and MORE_PROCESSES beyond what the user `uid`
    (who runs the code) has now; with `switch`, the user `uid` itself (the grader is root)."""
    import resource
    tasks = _tasks_of(uid)

    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
        if tasks is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (tasks + MORE_PROCESSES, tasks + MORE_PROCESSES))
        if switch:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    return apply


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
