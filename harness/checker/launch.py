"""What starts a student process (harness/client.py): the files it is shipped, and how it is started.

The grader chooses how (harness/grader/sandbox.py) and says so in HW5_SANDBOX: in bubblewrap's minimal
view (view()), or as a plain process; either way with a memory, a file-size and a process limit, and,
when the grader is root, as a user with no rights to its files (STUDENT_USER, else nobody). Without
HW5_SANDBOX (hw5_dnn_check.py run by hand) it is a plain process of the user's.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from harness import REPO

# What the student process is shipped beside the client: the channel's format; the course's
# dnn_im2col.py, which a dnn_misc.py imports; the drivers' SGD update, which the pipeline's steps run.
# For a driver's run, what our drivers train with too (a student may hand in ours): the harness's
# training loop and data_loader.py, none of which checks or grades anything.
SHIPPED = [('harness/client.py', 'client.py'), ('harness/messages.py', 'messages.py'), ('harness/stand_in.py', 'stand_in.py'),
           ('dnn_im2col.py', 'dnn_im2col.py'), ('harness/sgd.py', 'sgd.py'), ('data_loader.py', 'data_loader.py')] + [
    (f'harness/{name}.py', f'harness/{name}.py') for name in ('__init__', 'training', 'evaluation', 'flags',
                                                             'result_files', 'sgd')]
TMP_BYTES = 128 << 20  # the private /tmp: a tmpfs, held in memory
FILE_BYTES = 64 << 20  # the largest file a student process may write
MORE_PROCESSES = 64  # processes (and threads) it may start beyond those its user already has
NOBODY = 65534  # run as root, the grader runs a submission as this user: it has no rights to anything
STUDENT_USER = 'hw5student'  # ... or as this one, where it exists (scripts/gradescope/setup.sh makes it)
SYSTEM = ('/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32')  # what programs need, read-only
PROC = '/proc'  # Linux's processes, counted for the process limit


def start(path, stdin, stdout, writable=()):
    """The student process for the submission file at `path`, started on these pipes, and the folder
    of the files it was shipped (the caller removes it). In a sandbox it sees the file's folder, the
    `writable` folders, and what it is shipped."""
    shipped = ship()
    command = [sys.executable, '-I', os.path.join(shipped, 'client.py')]
    options = dict(stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, start_new_session=True)
    spec = os.environ.get('HW5_SANDBOX')
    if spec:
        command, options = Launcher(**json.loads(spec)).wrap(command, options, [shipped],
                                                              [os.path.dirname(path), *writable])
    return subprocess.Popen(command, **options), shipped


def ship():
    """A new folder of the files SHIPPED, which every user may read: the student process may run as a
    user of its own, to whom the sources are closed (Gradescope's setup.sh closes /autograder/source)."""
    shipped = tempfile.mkdtemp(prefix='shipped-')
    os.mkdir(os.path.join(shipped, 'harness'))
    for source, name in SHIPPED:
        shutil.copyfile(os.path.join(REPO, source), os.path.join(shipped, name))
        os.chmod(os.path.join(shipped, name), 0o644)
    for folder in (shipped, os.path.join(shipped, 'harness')):
        os.chmod(folder, 0o755)
    return shipped


def as_root():
    return hasattr(os, 'geteuid') and os.geteuid() == 0


def student_user():
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
    itself: where it cannot (a Python under /root), the code runs as root."""
    if not as_root() or not (bwrap or others_reach(python_paths() + [os.path.realpath(sys.executable)])):
        return os.getuid()
    return student_user()[1]


def others_reach(paths):
    """Whether every user may enter each folder on the way to each path."""
    for path in paths:
        parts = path.strip('/').split('/')
        for depth in range(1, len(parts)):
            if not os.stat('/' + '/'.join(parts[:depth])).st_mode & 0o001:
                return False
    return True


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
    if as_root():  # root keeps every capability in bwrap: drop them, and root, before the command
        uid = student_uid()
        args += ['--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--',
                 shutil.which('setpriv'), f'--reuid={uid}', f'--regid={uid}', '--clear-groups']
    return args + ['--']


class Launcher:
    """How a student process starts, as the grader chose in HW5_SANDBOX: in bwrap's minimal view, or
    as a plain process; either way limited, and as the student user `uid` when root."""

    def __init__(self, bwrap=None, memory_mb=2048, uid=None):
        self.bwrap, self.memory_mb = bwrap, memory_mb
        self.uid = os.getuid() if uid is None else uid

    def wrap(self, command, options, shown, writable):
        """(command, Popen options) for running `command` so."""
        options = dict(options)
        if self.bwrap:
            command = view(self.bwrap, shown, writable) + list(command)
        if os.name == 'posix':
            switch = not self.bwrap and as_root() and self.uid != os.getuid()
            options['preexec_fn'] = limits(self.memory_mb, self.uid, switch)
        return command, options


def tasks_of(uid):
    """How many processes and threads the user `uid` has: the count that a process limit caps;
    None without Linux's /proc (macOS), where no process limit is set."""
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


def limits(memory_mb, uid, switch=False):
    """A preexec_fn: the memory and file-size limits, and MORE_PROCESSES beyond what the user `uid`
    (who runs the code) has now; with `switch`, the user `uid` itself (the grader is root)."""
    import resource
    tasks = tasks_of(uid)

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
