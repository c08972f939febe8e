"""Run checks in this process, the submission's code in a student process (remote.py), each check with a
time limit; a check past it, or one that ends the student process, is a FAIL, and the rest go on in a
new student process."""
import os
import time
import traceback

import numpy as np

from harness import NOT_WRITTEN
from harness.checker.probe import Failed, Probe
from harness.checker.process import Ended, Garbled, Raised, TimedOut
from harness.checker.remote import RemoteCode


def ended(how, what):
    return f'{what} ended the process that runs the checks ({how}): an exit, a crash or too much memory'


def fail(message):
    return {'verdict': 'FAIL', 'message': message}


def run_checks(path, checks, limits, modules=None):
    """Run `checks` (Check) on the file at `path`; yield (check, result), the result a dict with
    'verdict', 'message' and, for the pipeline, 'figures' (and a driver's 'todos').

    limits(kind) is a check's time limit in seconds; loading the file has the limit of the first
    check. modules: for a driver's checks, the dnn_misc.py it trains with. A check of TODOs that
    stopped before its lines were compared gives each TODO its verdict.
    """
    run = _driver_checks(path, checks, limits, modules) if all(c.kind == 'driver' for c in checks) else \
        _module_checks(path, checks, limits)
    for check, result in run:
        if check.todos and 'todos' not in result:
            result['todos'] = dict.fromkeys(check.todos, result['verdict'])
        yield check, result


def _module_checks(path, checks, limits):
    """A dnn_misc.py's checks, one student process after another."""
    pending = list(checks)
    while pending:
        limit = limits(pending[0].kind)
        code = RemoteCode(path, limit)
        try:
            message = _load(code, limit)
            if message:
                for check in pending:
                    yield check, fail(message)
                return
            while pending:
                check = pending.pop(0)
                code.process.deadline = time.monotonic() + limits(check.kind)
                result, stopped = _run_timed(check, code, path, limits(check.kind))
                yield check, result
                if stopped or code.process.out_of_step:
                    break  # the rest in a new student process
        finally:
            code.close()


def _load(code, limit):
    """Why the file cannot be loaded in the student process, or None."""
    filename = os.path.basename(code.path)
    try:
        code.load()
    except Raised as error:
        return f'{filename} does not import: {error.type_name}: {error}{error.where}'
    except TimedOut:
        return f'loading {filename} did not return within {limit:g} s'
    except Ended as end:
        return ended(end, f'loading {filename}')
    except Garbled as garbled:
        return f'loading {filename} gave back {garbled}, not what the checks asked for'
    except Exception as error:  # what the student process sent made the checker's own code stop
        return f'loading {filename} gave back what stopped the checker ({type(error).__name__})'
    return None


def _run_timed(check, code, path, limit, modules=None):
    """(run_one's result, False), or (a FAIL, True) when the check ran out of time or ended the process."""
    try:
        return run_one(check, code, path, limit, modules), False
    except TimedOut:
        return fail(f'did not return within {limit:g} s'), True
    except Ended as end:
        return fail(ended(end, 'this check')), True


def _driver_checks(path, checks, limits, modules):
    """A driver's checks: each starts the student processes it needs (driver.py), as the file compiles."""
    filename = os.path.basename(path)
    try:
        with open(path, 'rb') as f:
            compile(f.read(), path, 'exec')  # compiled, not run: nothing of it runs in this process
    except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
        line = f' at {filename}:{error.lineno}' if getattr(error, 'lineno', None) else ''
        message = error.msg if isinstance(error, SyntaxError) else str(error)
        for check in checks:
            yield check, fail(f'{filename} does not compile: {type(error).__name__}: {message}{line}')
        return
    for check in checks:
        yield check, _run_timed(check, None, path, limits(check.kind), modules)[0]


def run_one(check, code, path, limit=10.0, modules=None):
    """{'verdict', 'message'} of one check, 'figures' when it reports some (the pipeline's), and 'todos'
    when it gives each of its TODOs a verdict (a driver's)."""
    probe = Probe(code, path, limit, modules)
    try:
        with np.errstate(all='ignore'):
            note = check.run(probe)
        if probe.warnings:
            verdict, message = 'WARN', '; '.join(probe.warnings)
        else:
            verdict, message = 'PASS', note if isinstance(note, str) else f'max relative error {note:.2e}'
    except Failed as failure:
        verdict, message = 'FAIL', str(failure)
    except Garbled as garbled:
        verdict, message = 'FAIL', f'gave back {garbled}, not what the check asked for'
    except (TimedOut, Ended):
        raise
    except (Exception, SystemExit) as error:
        verdict, message = 'FAIL', not_written(error, check) or raised(error, probe)
    result = {'verdict': verdict, 'message': message}
    if getattr(probe, 'figures', None):
        result['figures'] = probe.figures
    if getattr(probe, 'todos', None):
        result['todos'] = probe.todos
    return result


def not_written(error, check):
    """A handout's TODO that is still as it was handed out, in one line that names it (its `raise
    NotImplementedError('NAME is not written yet ...')`); else None."""
    text = str(error)
    if not (isinstance(error, Raised) and error.type_name == 'NotImplementedError' and NOT_WRITTEN in text):
        return None
    if text.startswith(f'{check.module}.{check.name} '):
        return text
    return 'not checked yet: it calls ' + text.replace(NOT_WRITTEN, ', which' + NOT_WRITTEN, 1)


def raised(error, probe):
    """An exception a check met, in words: its type, its message (or that it has none), and where it
    rose: at the student's line, or in the checker's own code."""
    kind = error.type_name if isinstance(error, Raised) else type(error).__name__
    text = f'{kind}: {error}' if str(error) else f'{kind} (with no message)'
    where = probe.where(error)
    if where:
        return f'raised {text}{where}'
    if isinstance(error, Raised):
        return f'raised {text}'
    frames = traceback.extract_tb(error.__traceback__)
    inside = f' ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})' if frames else ''
    return (f"the check stopped on {text} in the checker's own code{inside}, not in {os.path.basename(probe.path)}: "
            f"on something the file's code returned, or, if the file is right, a fault of the checker's")
