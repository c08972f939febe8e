"""Checks of a course-style driver, such as a student's dnn_cnn_2.py: the network it builds, and
how it wires the modules in each pass.

The driver runs as it would in the course's folder (its flags: --num_epoch 1), in a scratch
folder that holds a small mnist_subset.json (10 samples a split), with a stand-in dnn_misc
(recorder.py) that notes each module made and each call. What it should do comes from the
course's network of the same name (networks.py, never the driver at the top level, which may be
the student's), made with the same stand-in: its model dict names the modules, and one training
step and one evaluation pass give the wiring. With --pipeline, the driver trains
one epoch on the course's data with our dnn_misc.py (or the one given with --modules), against the
course's first epoch.
"""
import contextlib
import io
import json
import os
import re
import runpy
import shutil
import sys
import tempfile
import traceback

import numpy as np

from harness import REPO
from harness.checker import VERDICTS, networks
from harness.checker.given import reference
from harness.checker.probe import Failed
from harness.checker.recorder import Recorder, short
from harness.checker.wiring import TODOS, compare_network, compare_passes, expected_wiring
from harness.course import RUNS
from harness.run_driver import is_ours, put_data

PREFIXES = {run.driver: run.name.split('_lr')[0] + '_lr' for run in RUNS}  # 'dnn_cnn_2': 'CNN2_lr', ...
DRIVERS = list(PREFIXES)
SMALL = 10  # samples per split of the small data file
_runs = {}  # path: the recorded run, made once per worker


def network_of(path):
    """Which of our drivers `path` is a version of: by its name, else by the result file it writes."""
    name = os.path.splitext(os.path.basename(path))[0]
    if name in DRIVERS:
        return name
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    return next((driver for driver in DRIVERS if f"'{PREFIXES[driver]}" in text or f'"{PREFIXES[driver]}' in text),
                None)


def small_data(folder):
    """Write a mnist_subset.json of SMALL made-up digits a split (the wiring needs no real ones, and
    the course's file takes a second to read); return {sample bytes: split}."""
    rng = np.random.RandomState(0)
    small = {split: [np.round(rng.rand(SMALL, 784) ** 4, 3).tolist(), rng.randint(0, 10, SMALL).tolist()]
             for split in ('test', 'train', 'valid')}
    with open(os.path.join(folder, 'mnist_subset.json'), 'w') as f:
        json.dump(small, f)
    return {np.asarray(row, dtype=np.float64).tobytes(): split for split, (rows, _) in small.items() for row in rows}


def run_driver(path, argv, folder, stand_in):
    """Run the driver at `path` as a script in `folder`, dnn_misc being `stand_in`; its printed text
    and the error it stopped with (None, or 'NameError: ... at dnn_cnn_2.py:120')."""
    if is_ours(path):  # ours reads data/ and writes outputs/ unless told otherwise
        argv = [*argv, '--data', os.path.join(folder, 'mnist_subset.json'), '--output_dir', folder]
    saved_module, saved_argv, saved_cwd = sys.modules.get('dnn_misc'), sys.argv, os.getcwd()
    sys.modules['dnn_misc'], sys.argv = stand_in, [path, *argv]
    printed, error = io.StringIO(), None
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(printed), np.errstate(all='ignore'):
            runpy.run_path(path, run_name='__main__')
    except SystemExit as stop:
        if stop.code not in (None, 0):
            error = f'SystemExit: {stop.code}'
    except Exception as failure:
        lines = [f for f in traceback.extract_tb(failure.__traceback__) if os.path.abspath(f.filename) == path]
        where = f' at {os.path.basename(path)}:{lines[-1].lineno}' if lines else ''
        error = short(f'{type(failure).__name__}: {failure}') + where
    finally:
        os.chdir(saved_cwd)
        sys.modules['dnn_misc'], sys.argv = saved_module, saved_argv
    return printed.getvalue(), error


def recorded(path):
    """The recorded run of the driver at `path`, made once: a dict of what the checks read."""
    if path in _runs:
        return _runs[path]
    dnn_misc = reference  # ours, whichever dnn_misc the driver trains with in first_epoch

    name = network_of(path)  # hw5_dnn_check.py takes no driver it cannot name
    folder = tempfile.mkdtemp(prefix='driver-check-')
    try:
        samples = small_data(folder)
        ours = Recorder(dnn_misc)
        expected = expected_wiring(name, networks.network(name, ours.module()), ours)
        recorder = Recorder(dnn_misc)
        recorder.wiring = expected.wiring_for(recorder)
        _, error = run_driver(path, ['--num_epoch', '1'], folder, recorder.module())
        written = sorted(f for f in os.listdir(folder) if f.endswith('.json') and f != 'mnist_subset.json')
        contents = {}
        for result in written:
            try:
                with open(os.path.join(folder, result)) as f:
                    contents[result] = json.load(f)
            except ValueError:
                contents[result] = None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _runs[path] = {'name': name, 'expected': expected, 'recorder': recorder, 'error': error,
                   'samples': samples, 'written': contents, 'result_name': default_result_name(expected.network)}
    return _runs[path]


def _verdict(probe, problems, todos=()):
    """FAIL on the failing problems, else WARN on the rest; problems: [(fails, message)]. Each of
    `todos` (e.g. 'TODO (2)') gets its own verdict in probe.todos: a problem counts against the TODO
    it names, and one that names none against them all."""
    probe.todos = {}
    for todo in todos:
        against = ['FAIL' if fails else 'WARN' for fails, message in problems
                   if message.startswith(todo) or not message.startswith('TODO')]
        probe.todos[todo] = max(against + ['PASS'], key=VERDICTS.index)
    failing = [message for fails, message in problems if fails]
    if failing:
        raise Failed('; '.join(failing))
    for _, message in problems:
        probe.warn(message)


def network(module, probe):
    run = recorded(probe.path)
    _verdict(probe, compare_network(run['expected'], run['recorder'].built))
    return f"{', '.join(run['expected'].names)}, built as the course's and in its order"


PASSES = {'training pass': ['training'], 'accuracy passes': ['training accuracy', 'validation']}  # check: kinds


def todos_of(name, kinds):
    """The TODOs of driver `name` that lines of passes of these kinds fill."""
    return sorted({todo for (kind, _), todo in TODOS.get(name, ((), {}))[1].items() if kind in kinds})


def training_pass(module, probe):
    run = recorded(probe.path)
    kinds = PASSES['training pass']
    _verdict(probe, compare_passes(run, kinds), todos_of(run['name'], kinds))
    return 'each forward gets the output before it; each backward its forward\'s input and the grad after it'


def accuracy_passes(module, probe):
    run = recorded(probe.path)
    kinds = PASSES['accuracy passes']
    _verdict(probe, compare_passes(run, kinds), todos_of(run['name'], kinds))
    return 'both passes chain every forward, dropout off'


def default_result_name(network):
    """The file a driver of `network` writes with its default flags, ours and the course's alike."""
    from harness.flags import build_parser, result_name
    return result_name(network.prefix, build_parser(network).parse_args([]))


def result_file(module, probe):
    run = recorded(probe.path)
    wanted = run['result_name']
    if not run['written']:
        stopped = f" (it stops first: {run['error']})" if run['error'] else ''
        raise Failed(f"writes no result file{stopped}; the course's {run['name']}.py writes {wanted} "
                     f"(with its default flags) by json.dump after its last epoch")
    name, record = next(iter(run['written'].items()))
    if name != wanted:
        raise Failed(f"writes {name}; with its default flags, the course's {run['name']}.py writes {wanted}")
    if not (isinstance(record, dict) and sorted(record) == ['train', 'val']
            and all(isinstance(record[k], list) and len(record[k]) == 1 for k in record)):
        raise Failed(f'writes {name}, but not as {{"train": [...], "val": [...]}} with one accuracy per epoch')
    return f'writes {name}, one accuracy per epoch, as the course\'s'


def first_epoch(module, probe, run):
    """One epoch of the course's run `run` by the driver, on the course's data, with the dnn_misc the
    worker loaded: ours, or the one given with --modules."""
    import dnn_misc
    which = ('our dnn_misc.py' if os.path.abspath(dnn_misc.__file__) == os.path.join(REPO, 'dnn_misc.py')
             else os.path.basename(dnn_misc.__file__) + ' given')

    folder = tempfile.mkdtemp(prefix='driver-epoch-')
    try:
        put_data(folder)
        flags = [item for key, value in run.flags.items() for item in (f'--{key}', str(value))]
        printed, error = run_driver(probe.path, ['--num_epoch', '1', *flags], folder, dnn_misc)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures = {}
    for key, label in (('train', 'Training'), ('val', 'Validation')):
        found = re.search(rf'{label} accuracy at epoch 1 is ([0-9.eE+-]+)', printed)
        if found:
            figures[key] = float(found.group(1))
    if error or len(figures) < 2:
        raise Failed(f"{run.question} epoch 1 did not finish{': ' + error if error else ''}")
    probe.figures = figures
    train, val = run.epoch1
    if (figures['train'], figures['val']) != (train, val):
        raise Failed(f"{run.question} epoch 1 gives training / validation accuracy {figures['train']} / "
                     f"{figures['val']}, the course's {train} / {val}")
    return f"{run.question} epoch 1 with {which}: {train} / {val}, as the course's"


CHECKS = [('driver', 'network', network), ('driver', 'training pass', training_pass),
          ('driver', 'accuracy passes', accuracy_passes), ('driver', 'result file', result_file)]
PIPELINE = {run.question: ('driver', f'{run.question} epoch 1',
                           lambda module, probe, run=run: first_epoch(module, probe, run)) for run in RUNS}
