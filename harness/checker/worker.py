"""A driver's checks, for now still in a worker process of their own that runs the driver itself.

    python3 harness/checker/worker.py PATH [--modules=DNN_MISC] GROUP:INDEX ...

Loads the file once, then runs each named check in order, writing one JSON
line per step to its original standard output: first {"loaded": true} or
{"load_error": ...}, then one {"verdict", "message"} per check. Whatever the
driver prints goes nowhere.
"""
import json
import os
import queue
import subprocess
import sys
import threading

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))  # the repository's top level
WORKER = os.path.abspath(__file__)


def _start(path, names, modules=None):
    options = [f'--modules={modules}'] if modules else []
    worker = subprocess.Popen([sys.executable, WORKER, path, *options, *names], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = queue.Queue()

    def read():
        for line in worker.stdout:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=read, daemon=True).start()
    return worker, lines


def _next(worker, lines, limit):
    """The worker's next JSON line; 'timeout' past `limit` seconds; 'ended' if it stopped first."""
    try:
        line = lines.get(timeout=limit)
    except queue.Empty:
        return 'timeout'
    if line is None:
        return 'ended'
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return 'ended'


def _ended(worker, what):
    from harness.checker.runner import ended
    worker.kill()
    status = worker.wait()
    return ended(f'killed by signal {-status}' if status < 0 else f'exit status {status}', what)


def run_in_worker(path, checks, limits, modules=None):
    """runner.run_checks for a driver's checks."""
    filename = os.path.basename(path)
    pending = list(checks)
    group = lambda key: key.split(':')[0]
    while pending:
        worker, lines = _start(path, [key for _, key in pending], modules)
        limit = limits(group(pending[0][1]))
        loaded = _next(worker, lines, limit)
        if not (isinstance(loaded, dict) and loaded.get('loaded')):
            if loaded == 'timeout':
                message = f'loading {filename} did not return within {limit:g} s'
            elif loaded == 'ended':
                message = _ended(worker, f'loading {filename}')
            else:
                message = loaded['load_error']
            worker.kill()
            for name, _ in pending:
                yield name, {'verdict': 'FAIL', 'message': message}
            return
        while pending:
            name, key = pending.pop(0)
            limit = limits(group(key))
            result = _next(worker, lines, limit)
            if isinstance(result, dict):
                yield name, result
                continue
            if result == 'timeout':
                yield name, {'verdict': 'FAIL', 'message': f'did not return within {limit:g} s'}
            else:
                yield name, {'verdict': 'FAIL', 'message': _ended(worker, 'this check')}
            break  # the rest in a new worker
        worker.kill()
        worker.wait()


def load_for_driver(path, modules=None):
    """For the checks of a driver: the dnn_misc.py at `modules` (default ours) as dnn_misc, and the
    driver at `path` compiled."""
    from harness.checker.probe import import_file
    import_file('dnn_misc', modules or os.path.join(REPO, 'dnn_misc.py'), register=True)
    with open(path, 'rb') as f:
        compile(f.read(), path, 'exec')


def main(argv):
    report = os.fdopen(os.dup(1), 'w', buffering=1)
    silent = os.open(os.devnull, os.O_WRONLY)
    os.dup2(silent, 1)
    sys.stdout = open(os.devnull, 'w')
    path, names = os.path.abspath(argv[1]), argv[2:]
    modules = None
    if names and names[0].startswith('--modules='):
        modules, names = os.path.abspath(names[0][len('--modules='):]), names[1:]
    # Ours first: a submission often holds the course's own drivers and data_loader.py, which
    # must not stand in for ours; the student's folder after, for any module of their own.
    sys.path[:0] = [REPO, os.path.dirname(path)]

    from harness.checker.groups import GROUPS
    from harness.checker.runner import run_one
    try:
        load_for_driver(path, modules)
    except (Exception, SystemExit) as error:
        message = error.msg if isinstance(error, SyntaxError) else error
        line = f' at {os.path.basename(path)}:{error.lineno}' if isinstance(error, SyntaxError) else ''
        report.write(json.dumps({'load_error': f'{os.path.basename(path)} does not compile: '
                                               f'{type(error).__name__}: {message}{line}'}) + '\n')
        return 0
    report.write(json.dumps({'loaded': True}) + '\n')
    for name in names:
        group, index = name.split(':')
        _, _, check = GROUPS[group][int(index)]
        report.write(json.dumps(run_one(check, None, path)) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
