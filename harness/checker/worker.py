"""The process that runs checks on a student's file, so that the checker can stop it.

    python3 harness/checker/worker.py PATH [--modules=DNN_MISC] GROUP:INDEX ...

Loads the file once, then runs each named check in order, writing one JSON
line per step to its original standard output: first {"loaded": true} or
{"load_error": ...}, then one {"verdict", "message"} per check. Whatever the
student's code prints goes nowhere.
"""
import json
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))  # the repository's top level


def load(path):
    """Import the dnn_misc.py at `path` as `dnn_misc`, so that our drivers use it; its folder first on sys.path."""
    from harness.checker.probe import import_file
    return import_file('dnn_misc', path, register=True)


def load_for_driver(path, modules=None):
    """For the checks of a driver: the dnn_misc.py at `modules` (default ours) as dnn_misc, and the
    driver at `path` compiled."""
    load(modules or os.path.join(REPO, 'dnn_misc.py'))
    with open(path, 'rb') as f:
        compile(f.read(), path, 'exec')


def run_one(check, module, path):
    """{'verdict', 'message'} of one check, and 'figures' when it reports some (the pipeline's)."""
    import numpy as np

    from harness.checker.probe import Failed, Probe
    probe = Probe(module, path)
    try:
        with np.errstate(all='ignore'):
            note = check(module, probe)
        if probe.warnings:
            verdict, message = 'WARN', '; '.join(probe.warnings)
        else:
            verdict, message = 'PASS', note if isinstance(note, str) else f'max relative error {note:.2e}'
    except Failed as failure:
        verdict, message = 'FAIL', str(failure)
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
    text = f'{type(error).__name__}: {error}' if str(error) else f'{type(error).__name__} (with no message)'
    where = probe.where(error)
    if where:
        return f'raised {text}{where}'
    frames = traceback.extract_tb(error.__traceback__)
    inside = f' ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})' if frames else ''
    return (f"the check stopped on {text} in the checker's own code{inside}, not in {os.path.basename(probe.path)}: "
            f"on something the file's code returned, or, if the file is right, a fault of the checker's")


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
    from harness.checker.probe import Probe
    drivers = all(name.startswith('driver') for name in names)  # a driver's checks, else a dnn_misc.py's
    try:
        module = load_for_driver(path, modules) if drivers else load(path)
    except (Exception, SystemExit) as error:
        where = Probe(None, path).where(error)
        message = error.msg if isinstance(error, SyntaxError) else error
        what = 'does not compile' if drivers else 'does not import'
        report.write(json.dumps({'load_error': f'{os.path.basename(path)} {what}: '
                                               f'{type(error).__name__}: {message}{where}'}) + '\n')
        return 0
    report.write(json.dumps({'loaded': True}) + '\n')
    for name in names:
        group, index = name.split(':')
        _, _, check = GROUPS[group][int(index)]
        report.write(json.dumps(run_one(check, module, path)) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
