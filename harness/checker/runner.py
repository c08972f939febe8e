"""Run checks in this process, the submission's code in a student process (channel.py), each check with a
time limit; a check past it, or one that ends the student process, is a FAIL, and the rest go on in a
new student process."""
import os
import time

from harness.checker.channel import Ended, Garbled, Raised, Student, TimedOut


def _group(key):
    """'student' of 'student:3'."""
    return key.split(':')[0]


def _check(key):
    from harness.checker.groups import GROUPS
    group, index = key.split(':')
    return GROUPS[group][int(index)][2]


def ended(how, what):
    return f'{what} ended the process that runs the checks ({how}): an exit, a crash or too much memory'


def run_checks(path, checks, limits, modules=None):
    """Run `checks` [(name, group:index)] on the file at `path`; yield (name, result), the result a
    dict with 'verdict', 'message' and, for the pipeline, 'figures' (and a driver's 'todos').

    limits(group) is a check's time limit in seconds; loading the file has the limit of the first
    check. modules: for a driver's checks, the dnn_misc.py it trains with.
    """
    filename = os.path.basename(path)
    if all(_group(key).startswith('driver') for _, key in checks):
        yield from _driver_checks(path, checks, limits, modules)
        return
    pending = list(checks)
    while pending:
        limit = limits(_group(pending[0][1]))
        student = Student(path)
        try:
            student.deadline = time.monotonic() + limit
            try:
                student.load()
            except Raised as error:
                message = f'{filename} does not import: {error.type_name}: {error}{error.where}'
            except TimedOut:
                message = f'loading {filename} did not return within {limit:g} s'
            except Ended as end:
                message = ended(end, f'loading {filename}')
            except Garbled as garbled:
                message = f'loading {filename} gave back {garbled}, not what the checks asked for'
            else:
                message = None
            if message:
                for name, _ in pending:
                    yield name, {'verdict': 'FAIL', 'message': message}
                return
            while pending:
                name, key = pending.pop(0)
                limit = limits(_group(key))
                student.deadline = time.monotonic() + limit
                try:
                    yield name, run_one(_check(key), student, path)
                except TimedOut:
                    yield name, {'verdict': 'FAIL', 'message': f'did not return within {limit:g} s'}
                    break  # the rest in a new student process
                except Ended as end:
                    yield name, {'verdict': 'FAIL', 'message': ended(end, 'this check')}
                    break
        finally:
            student.close()


def _driver_checks(path, checks, limits, modules):
    """A driver's checks: each starts the student processes it needs (driver.py), as the file compiles."""
    filename = os.path.basename(path)
    try:
        with open(path, 'rb') as f:
            compile(f.read(), path, 'exec')  # compiled, not run: nothing of it runs in this process
    except (SyntaxError, ValueError) as error:
        line = f' at {filename}:{error.lineno}' if getattr(error, 'lineno', None) else ''
        message = error.msg if isinstance(error, SyntaxError) else str(error)
        for name, _ in checks:
            yield name, {'verdict': 'FAIL', 'message': f'{filename} does not compile: {type(error).__name__}: '
                                                       f'{message}{line}'}
        return
    for name, key in checks:
        limit = limits(_group(key))
        try:
            yield name, run_one(_check(key), None, path, limit, modules)
        except TimedOut:
            yield name, {'verdict': 'FAIL', 'message': f'did not return within {limit:g} s'}
        except Ended as end:
            yield name, {'verdict': 'FAIL', 'message': ended(end, 'this check')}


def run_one(check, student, path, limit=10.0, modules=None):
    """{'verdict', 'message'} of one check, and 'figures' when it reports some (the pipeline's)."""
    import numpy as np

    from harness.checker.probe import Failed, Probe
    probe = Probe(student, path, limit, modules)
    try:
        with np.errstate(all='ignore'):
            note = check(student, probe)
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
        verdict, message = 'FAIL', raised(error, probe)
    result = {'verdict': verdict, 'message': message}
    for extra in ('figures', 'todos'):  # the pipeline's figures; a driver's verdict per TODO
        if getattr(probe, extra, None):
            result[extra] = getattr(probe, extra)
    return result


def raised(error, probe):
    """An exception a check met, in words: its type, its message (or that it has none), and where it
    rose: at the student's line, or in the checker's own code."""
    import traceback
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
