"""Run checks in a worker process, each with a time limit; a check past it is a FAIL, and the rest go on
in a new worker."""
import json
import os
import queue
import subprocess
import sys
import threading

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'worker.py')


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
    worker.kill()
    status = worker.wait()
    how = f'killed by signal {-status}' if status < 0 else f'exit status {status}'
    return f'{what} ended the process that runs the checks ({how}): an exit, a crash or too much memory'


def _group(key):
    """'student' of 'student:3'."""
    return key.split(':')[0]


def run_checks(path, checks, limits, modules=None):
    """Run `checks` [(name, group:index)] on the dnn_misc.py at `path`; yield (name, result), the result
    a dict with 'verdict', 'message' and, for the pipeline, 'figures'.

    limits(group) is a check's time limit in seconds; loading the file has the
    limit of the first check. modules: for a driver's checks, the dnn_misc.py it trains with.
    """
    filename = os.path.basename(path)
    pending = list(checks)
    while pending:
        worker, lines = _start(path, [key for _, key in pending], modules)
        limit = limits(_group(pending[0][1]))
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
            limit = limits(_group(key))
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
