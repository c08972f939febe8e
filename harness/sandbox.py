"""The sandbox around every run of a student's code by the grader.

The grader runs the checker (hw5_dnn_check.py, and the workers it starts for the module checks,
the pipeline epochs and the driver checks) on a scratch copy of one submission, through run()
here. On Linux with bubblewrap (`bwrap`), that run sees the whole file system read-only, with
only the scratch folder writable; a private /tmp; none of the other submissions, the class
folder, the grader's output or the grader's home; no network; process ids of its own, every one
of them killed when the run ends. Elsewhere it runs as a plain process, and choose() says so.
Both ways the run has a memory, a file-size, a process and a time limit.

    sandbox = choose(hide=[class_folder, output_folder], timeout=300, memory_mb=2048)  # once
    status, output, _ = sandbox.run(argv, scratch)             # each run
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from harness import BLAS_THREADS, REPO

TMP_BYTES = 128 << 20  # the private /tmp: a tmpfs, held in memory
FILE_BYTES = 64 << 20  # the largest file a run may write
MORE_PROCESSES = 64  # processes (and threads) a run may start beyond those its user already has
NOBODY = 65534  # run as root, the grader runs a submission as this user: it has no rights to anything
MAX_OUTPUT = 1 << 20  # of a run's standard output, what is read back
PROC = '/proc'  # Linux's processes, counted for the process limit
INSTALL = 'install the package bubblewrap (sudo apt-get install bubblewrap) to sandbox them'


class Unavailable(Exception):
    """No sandbox here, and one was required; the message says why."""


class Sandbox:
    """How the grader runs a submission's code: `bwrap` (its path), or None and `why` there is no
    sandbox; the folders to `hide`; and the time and memory limits of a run."""

    def __init__(self, bwrap=None, hide=(), why='', timeout=300.0, memory_mb=2048):
        self.bwrap, self.hide, self.why = bwrap, [os.path.abspath(p) for p in hide], why
        self.timeout, self.memory_mb = timeout, memory_mb

    def describe(self):
        if self.bwrap:
            return ('sandboxed by bubblewrap: a read-only file system but for the scratch folder, '
                    'a private /tmp, no network, their own process ids')
        return f'NOT sandboxed, only limited: {self.why}'

    def run(self, argv, scratch):
        """Run argv (a Python command) in `scratch`, isolated and limited. Returns its exit status (None
        past the time limit), the first MAX_OUTPUT bytes it printed, and the last line of its standard
        error (bwrap's, when bwrap cannot start). Whatever it started is killed when it ends."""
        env = {name: os.environ[name] for name in ('PATH', 'LANG', 'LC_ALL', 'LD_LIBRARY_PATH', 'SYSTEMROOT')
               if name in os.environ}
        env.update(dict.fromkeys(BLAS_THREADS, '1'), HOME=scratch, PYTHONDONTWRITEBYTECODE='1',
                   TMPDIR='/tmp' if self.bwrap else tempfile.gettempdir())
        command, preexec = list(argv), None
        if self.bwrap:
            command = arguments(self, scratch) + command
            if _as_root():  # the scratch copy becomes the user's that runs it; bwrap, as root, enters it
                for folder, _, names in os.walk(scratch):
                    for path in [folder] + [os.path.join(folder, name) for name in names]:
                        os.lchown(path, NOBODY, NOBODY)
                os.chmod(scratch, 0o711)
        if os.name == 'posix':
            preexec = _limits(self.memory_mb, NOBODY if self.bwrap and _as_root() else os.getuid())
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen(command, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=err, preexec_fn=preexec)
            try:
                status = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                status = None
            finally:
                _kill(process)
            out.seek(0)
            err.seek(0)
            lines = err.read(MAX_OUTPUT).decode('utf-8', 'replace').strip().splitlines()
            return status, out.read(MAX_OUTPUT), lines[-1] if lines else ''


def _as_root():
    return hasattr(os, 'geteuid') and os.geteuid() == 0


def _needed():
    """What a run must see, wherever it lies: the repository, the course's data, and Python with its packages."""
    paths = [REPO, os.path.join(REPO, 'data'), sys.prefix, sys.base_prefix,
             os.path.dirname(os.path.realpath(sys.executable))]
    paths += [p for p in sys.path if p and os.path.isdir(p)]
    return sorted({os.path.realpath(p) for p in paths})


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip('/') + '/')


def _closed_folder(path):
    """The outermost folder above `path` that other users may not enter, or None."""
    parts = path.strip('/').split('/')[:-1]
    for depth in range(1, len(parts) + 1):
        folder = '/' + '/'.join(parts[:depth])
        if not os.stat(folder).st_mode & 0o001:
            return folder
    return None


class _View:
    """What a run sees, as bwrap arguments: the whole file system read-only, then folders hidden
    under empty tmpfs mounts and paths shown again, in order (a later mount covers an earlier)."""

    def __init__(self, bwrap):
        self.args = [bwrap, '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc']
        self.mounts = []  # [(path, shown)]

    def visible(self, path):
        """Whether `path` shows, as on the host: the deepest mount over it is not a hidden one."""
        over = [(len(folder), shown) for folder, shown in self.mounts if _inside(path, folder)]
        return max(over, default=(0, True))[1]

    def hide(self, folder, *options):
        self.args += [*options, '--tmpfs', folder]
        self.mounts.append((folder, False))

    def show(self, path, flag='--ro-bind'):
        """Mount `path` again (--bind: writable). In a hidden folder, bwrap would make the folders
        between it and `path` readable by root alone: they are made readable by every user."""
        over = [folder for folder, _ in self.mounts if _inside(path, folder) and folder != path]
        deepest = max(over, key=len, default=None)
        if deepest and not dict(self.mounts)[deepest]:
            step = deepest
            for part in os.path.relpath(os.path.dirname(path), deepest).split('/'):
                if part not in ('.', '..'):
                    step = os.path.join(step, part)
                    self.args += ['--perms', '0755', '--dir', step]
        self.args += [flag, path, path]
        self.mounts.append((path, True))


def arguments(sandbox, scratch):
    """The bwrap command line, up to the command, for a run in `scratch`."""
    view = _View(sandbox.bwrap)
    view.hide('/tmp', '--perms', '1777', '--size', str(TMP_BYTES))
    private = sorted({'/var/tmp', '/run', os.path.realpath(tempfile.gettempdir()),
                      os.path.realpath(os.path.expanduser('~'))} - {'/'})
    for folder in private:
        if os.path.isdir(folder) and view.visible(folder):
            view.hide(folder)
    needed = _needed()
    for path in needed:
        closed = _closed_folder(path) if _as_root() else None
        if closed and view.visible(closed):  # one that nobody may enter, as /root often is
            view.hide(closed)
        if not view.visible(path):
            view.show(path)
    for path in private + sandbox.hide:  # once more: some may lie in what was shown again
        if not (os.path.exists(path) and view.visible(path)):
            continue
        if os.path.isdir(path) and not any(_inside(n, path) for n in needed):
            view.hide(path)
        elif os.path.isfile(path):  # in a folder that holds the repository or Python: the file, at least
            view.args += ['--ro-bind', '/dev/null', path]
    view.show(os.path.realpath(scratch), '--bind')
    args = view.args + ['--chdir', scratch, '--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts',
                        '--die-with-parent', '--new-session']
    if _as_root():  # root keeps every capability in bwrap: drop them, and root, before the command
        args += ['--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--',
                 shutil.which('setpriv'), f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups']
    return args + ['--']


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
        status, output, error = Sandbox(bwrap, timeout=60, memory_mb=512).run([sys.executable, '-c', 'print("ok")'],
                                                                          scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if status == 0 and output.strip() == b'ok':
        return ''
    return f'bwrap cannot run here ({error or f"exit status {status}"}); allow user namespaces, or {INSTALL}'


def choose(hide=(), require=False, timeout=300.0, memory_mb=2048):
    """The sandbox for this grading: bubblewrap if it runs here. Without it, raise Unavailable
    if `require`, else runs are plain processes (Sandbox.describe says so)."""
    bwrap = shutil.which('bwrap')
    why = _why_not(bwrap)
    if why and require:
        raise Unavailable(f'no sandbox: {why}')
    return Sandbox(None if why else bwrap, hide, why, timeout, memory_mb)


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


def _limits(memory_mb, uid):
    """A preexec_fn: a session of its own; the memory and file-size limits, and MORE_PROCESSES
    beyond what the user `uid` (who runs the code) has now."""
    import resource
    tasks = _tasks_of(uid)

    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
        if tasks is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (tasks + MORE_PROCESSES, tasks + MORE_PROCESSES))
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
