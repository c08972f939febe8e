"""The memory that grading one right submission takes at its peak, as Gradescope's run_autograder grades it.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/grade_memory.py            # 3 runs
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/grade_memory.py --repeat 5 --interval 0.05
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/grade_memory.py --no-sandbox   # bwrap not on PATH

The submission is a right one, laid out as Gradescope hands it in (ROOT/submission): this checkout's
dnn_misc.py and dnn_cnn_2.py with the course's seven result files, so that every first epoch is made
again. Each run is `python3 scripts/gradescope/grade_submission.py ROOT` in a fresh process, as
run_autograder runs it (bubblewrap where it runs here; --no-sandbox: plain processes, as in a
container where bwrap cannot run). Every --interval seconds it reads /proc for
the whole tree of processes under the grader (the grader, the checker processes that run
hw5_dnn_check.py, bwrap, the student processes that run client.py; this process is their child
subreaper, so that none leaves the tree by being orphaned) and sums their resident memory: RSS
(VmRSS, which counts a page shared by two processes twice) and PSS (/proc/PID/smaps_rollup, which
shares it out). It prints each run's peak sum of each, the largest single process (its VmHWM, the
kernel's high-water mark, read at every sample, so that a peak between two samples counts too),
how many processes of each kind ran at once, the seconds and the score; then the medians.

What it cannot see: memory outside the processes (the page cache of the files read, a tmpfs /tmp),
which a container's limit may also count; a peak of the sum shorter than the interval.
"""
import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.sysconf('SC_PAGE_SIZE')
PR_SET_CHILD_SUBREAPER = 36
KINDS = ('grader', 'checker', 'bwrap', 'student', 'other')


def submission(root):
    """ROOT/submission as Gradescope makes it, from this checkout's answer key and result files."""
    folder = os.path.join(root, 'submission')
    os.makedirs(folder)
    for name in ('dnn_misc.py', 'dnn_cnn_2.py'):
        shutil.copy(os.path.join(REPO, name), folder)
    for name in os.listdir(os.path.join(REPO, 'outputs')):
        if name.endswith('.json'):
            shutil.copy(os.path.join(REPO, 'outputs', name), folder)


def parents():
    """{pid: parent pid} of every process on the machine."""
    found = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    found[int(entry)] = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return found


def tree(root):
    """The pids of `root` and all its descendants, now."""
    children = {}
    for pid, ppid in parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def kind(pid, root):
    """(kind, the program's name) of a process in the tree."""
    if pid == root:
        return 'grader', 'grade_submission.py'
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            argv = [arg.decode(errors='replace') for arg in f.read().split(b'\0')]
    except OSError:
        return 'other', '?'
    program = os.path.basename(argv[0])
    if program == 'bwrap':
        return 'bwrap', program
    if any(arg.endswith('hw5_dnn_check.py') for arg in argv):
        return 'checker', 'hw5_dnn_check.py'
    if any(arg.endswith('client.py') for arg in argv):
        return 'student', 'client.py'
    return 'other', ' '.join(argv)[:60]


def memory(pid):
    """(RSS, peak RSS, PSS) of a process, in bytes; None once it is gone (or a zombie)."""
    try:
        with open(f'/proc/{pid}/status') as f:
            status = dict(line.split(':', 1) for line in f if ':' in line)
        if 'VmRSS' not in status:
            return None
        rss, hwm = (int(status[key].split()[0]) * 1024 for key in ('VmRSS', 'VmHWM'))
        with open(f'/proc/{pid}/smaps_rollup') as f:
            pss = next(int(line.split()[1]) * 1024 for line in f if line.startswith('Pss:'))
        return rss, hwm, pss
    except (OSError, StopIteration, ValueError):
        return None


def grade_once(interval, env=None):
    """One grading, sampled: a dict of its peaks, counts, seconds and score."""
    root = tempfile.mkdtemp(prefix='grade-memory-')
    os.chmod(root, 0o755)
    try:
        submission(root)
        command = [sys.executable, os.path.join(REPO, 'scripts', 'gradescope', 'grade_submission.py'), root]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        peak = {'rss': 0, 'pss': 0, 'one': 0, 'one_kind': '', 'processes': 0, 'samples': 0, 'at_peak': {}}
        at_once, by_kind = dict.fromkeys(KINDS, 0), dict.fromkeys(KINDS, 0)
        seen, others = {k: set() for k in KINDS}, set()
        tick = time.perf_counter()
        while process.poll() is None:
            rss = pss = 0
            now, pss_now = dict.fromkeys(KINDS, 0), dict.fromkeys(KINDS, 0)
            _reap(process.pid)
            for pid in tree(os.getpid())[1:]:  # the grader's tree, and any orphan of it (ours, as subreaper)
                found = memory(pid)
                if found is None:
                    continue
                which, program = kind(pid, process.pid)
                now[which] += 1
                seen[which].add(pid)
                if which == 'other':
                    others.add(program)
                rss, pss = rss + found[0], pss + found[2]
                pss_now[which] += found[2]
                by_kind[which] = max(by_kind[which], found[1])
                if found[1] > peak['one']:
                    peak['one'], peak['one_kind'] = found[1], which
            if pss > peak['pss']:
                peak['at_peak'] = {k: v for k, v in pss_now.items() if v}
            peak['rss'], peak['pss'] = max(peak['rss'], rss), max(peak['pss'], pss)
            peak['processes'] = max(peak['processes'], sum(now.values()))
            peak['samples'] += 1
            at_once = {k: max(at_once[k], now[k]) for k in KINDS}
            tick += interval
            time.sleep(max(0.0, tick - time.perf_counter()))
        seconds = time.perf_counter() - started
        largest_reaped = _children_maxrss()
        with open(os.path.join(root, 'results', 'results.json')) as f:
            results = json.load(f)
        isolation = 'bubblewrap' if 'sandboxed by bubblewrap' in results['output'] else 'plain processes'
        return dict(peak, seconds=seconds, score=results['score'], isolation=isolation, at_once=at_once,
                    by_kind=by_kind, others=others, started={k: len(v) for k, v in seen.items()},
                    largest_reaped=largest_reaped)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _reap(grader):
    """Wait for the orphans that ended as this process's children (not the grader: Popen waits for it)."""
    for pid, parent in parents().items():
        if parent == os.getpid() and pid != grader:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _children_maxrss():
    """The kernel's peak RSS of the largest process this one's descendants waited for, in bytes."""
    import resource
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def mb(value):
    return f'{value / 2 ** 20:.0f}'


def show(number, run):
    counts = ', '.join(f'{k} {run["at_once"][k]} ({run["started"][k]} in all)' for k in KINDS)
    print(f'run {number}: peak RSS sum {mb(run["rss"])} MB, peak PSS sum {mb(run["pss"])} MB, largest process '
          f'{mb(run["one"])} MB ({run["one_kind"]}), {run["seconds"]:.1f} s, score {run["score"]}, '
          f'{run["samples"]} samples, {run["isolation"]}')
    print(f'  at once (in all): {counts}; processes at once {run["processes"]}; other: '
          f'{"; ".join(sorted(run["others"])) or "none"}')
    print('  largest of each kind (VmHWM): ' + ', '.join(f'{k} {mb(v)} MB' for k, v in run['by_kind'].items() if v)
          + '; PSS at the peak: ' + ', '.join(f'{k} {mb(v)} MB' for k, v in run['at_peak'].items()), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=3, help='gradings (default 3)')
    parser.add_argument('--interval', type=float, default=0.05, help='seconds between samples (default 0.05)')
    parser.add_argument('--no-sandbox', action='store_true', help='grade where bwrap is not on PATH')
    args = parser.parse_args()
    if not sys.platform.startswith('linux'):
        sys.exit('reads /proc: Linux only')
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print('warning: not a child subreaper; an orphaned process would leave the tree', file=sys.stderr)
    for name in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'):
        if name in os.environ:
            print(f'warning: {name} is set; a student\'s machine and Gradescope\'s do not set it', file=sys.stderr)
    env, tools = None, None
    if args.no_sandbox:
        tools = tempfile.mkdtemp(prefix='grade-memory-path-')  # the system's tools but bwrap
        for folder in os.environ.get('PATH', '').split(os.pathsep):
            for name in (os.listdir(folder) if os.path.isdir(folder) else ()):
                if name != 'bwrap' and not os.path.exists(os.path.join(tools, name)):
                    os.symlink(os.path.join(folder, name), os.path.join(tools, name))
        env = dict(os.environ, PATH=tools)
    runs = []
    try:
        for number in range(1, args.repeat + 1):
            runs.append(grade_once(args.interval, env))
            show(number, runs[-1])
    finally:
        if tools:
            shutil.rmtree(tools, ignore_errors=True)
    print(f'medians of {len(runs)}: peak RSS sum {mb(statistics.median(r["rss"] for r in runs))} MB, '
          f'peak PSS sum {mb(statistics.median(r["pss"] for r in runs))} MB, largest process '
          f'{mb(statistics.median(r["one"] for r in runs))} MB, '
          f'{statistics.median(r["seconds"] for r in runs):.1f} s')
    print(f'largest process any descendant waited for (getrusage, all runs): {mb(runs[-1]["largest_reaped"])} MB')


if __name__ == '__main__':
    main()
