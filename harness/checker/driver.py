"""Checks of a course-style driver, such as a student's dnn_cnn_2.py: the network it builds, and
how it wires the modules in each pass.

The driver runs as it would in the course's folder (its flags: --num_epoch 1), in a scratch
folder that holds a small mnist_subset.json (10 samples a split), in a student process (client.py)
whose dnn_misc is a stand-in: each module it makes and each call it makes is passed to this
process, where the recorder (recorder.py) makes and computes it with our modules and notes it. What
it should do comes from the course's network of the same name (networks.py, never the driver at the
top level, which may be the student's), made with the same recorder: its model dict names the
modules, and one training step and one evaluation pass give the wiring. With --pipeline, once the
checks have shown the driver's wiring to be the course's, the course's network trains one epoch on
the course's data with our dnn_misc.py (or, in a student process, the one given with --modules),
against the course's first epoch: the driver's computation, with one crossing fewer.
"""
import json
import os
import shutil
import tempfile

import numpy as np

from harness.checker import VERDICTS, networks
from harness.checker.given import reference
from harness.checker.channel import Ended, Garbled, Numbered, Raised, Student, TimedOut, sandbox_launcher
from harness.checker.pipeline import RemoteClasses, trained_epoch
from harness.checker.probe import Failed
from harness.checker.recorder import CLASSES, Recorder, short
from harness.checker.wiring import TODOS, compare_network, compare_passes, expected_wiring
from harness.course import RUNS
from harness.run_driver import is_ours
from harness.sgd import SGD

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


def host(recorder):
    """What answers a driver's calls (client.py's run_driver): each module it makes is the recorder's
    (ours, noted), and computes here; each array it returns is numbered, so that an argument the
    driver gives back is known for the very array it was."""
    stand_in = recorder.module()

    def serve(student, op):
        args, kwargs = op.get('args', []), op.get('kwargs', {})
        if not (isinstance(args, list) and isinstance(kwargs, dict)):
            raise Garbled('a call from the driver whose arguments are not a list and a dict')
        if op['op'] == 'make' and op.get('class') in CLASSES:
            module = getattr(stand_in, op['class'])(*args, **kwargs)
            answer = {'number': student.keep(module)}
            for name in ('params', 'gradient'):
                if hasattr(module, name):
                    answer[name] = dict(getattr(module, name))
            return answer
        module = student.table.get(op.get('of'))
        if op['op'] == 'call' and op.get('method') in ('forward', 'backward') and hasattr(module, 'forward'):
            params = op.get('params') or {}
            for key in getattr(module, 'params', {}):  # as the driver's update left them
                if key in params:
                    module.params[key] = np.array(params[key], dtype=np.float64)
            result = getattr(module, op['method'])(*args, **kwargs)
            answer = {'result': Numbered(result, student.keep(result)) if isinstance(result, np.ndarray) else result}
            if op['method'] == 'backward' and hasattr(module, 'gradient'):
                answer['gradient'] = dict(module.gradient)
            return answer
        if op['op'] == 'function' and op.get('name') == 'add_momentum':
            return stand_in.add_momentum(*args)
        raise Garbled(f'a call from the driver that is no making, forward, backward or add_momentum')
    return serve


def run_driver(path, argv, folder, recorder, limit):
    """Run the driver at `path` as a script in `folder`, in a student process, its dnn_misc the
    recorder's stand-in; its printed text and the error it stopped with (None, or 'NameError: ... at
    dnn_cnn_2.py:120')."""
    if is_ours(path):  # ours reads data/ and writes outputs/ unless told otherwise
        argv = [*argv, '--data', os.path.join(folder, 'mnist_subset.json'), '--output_dir', folder]
    student = Student(path, limit, writable=[folder])
    student.host = host(recorder)
    try:
        ran = student.request([{'op': 'run_driver', 'path': path, 'argv': argv, 'cwd': folder, 'classes': CLASSES,
                                'functions': ['add_momentum']}])[0]
    except TimedOut:
        return '', f'did not finish within {limit:g} s'
    except Ended as end:
        return '', f'ended the process it ran in ({end})'
    finally:
        student.close()
    if not (isinstance(ran, dict) and isinstance(ran.get('printed'), str) and isinstance(ran.get('error'), (str, type(None)))):
        raise Garbled('a driver\'s run that is not what it printed and how it stopped')
    return ran['printed'], ran['error'] and short(ran['error'], 300)


def recorded(path, limit):
    """The recorded run of the driver at `path`, made once: a dict of what the checks read."""
    if path in _runs:
        return _runs[path]
    name = network_of(path)  # hw5_dnn_check.py takes no driver it cannot name
    # In the grader's sandbox, the run's folder lies beside the driver, where the student process may write.
    folder = tempfile.mkdtemp(prefix='driver-check-', dir=os.path.dirname(path) if sandbox_launcher() else None)
    try:
        os.chmod(folder, 0o777)  # the student process may run as a user of its own
        samples = small_data(folder)
        ours = Recorder(reference)
        expected = expected_wiring(name, networks.network(name, ours.module()), ours)
        recorder = Recorder(reference)
        recorder.wiring = expected.wiring_for(recorder)
        _, error = run_driver(path, ['--num_epoch', '1'], folder, recorder, limit)
        # Files the student process wrote: read as plain files only (a link would lead the checker
        # to whatever the link names), and never more than a megabyte.
        written = sorted(f for f in os.listdir(folder) if f.endswith('.json') and f != 'mnist_subset.json'
                         and not os.path.islink(os.path.join(folder, f)))
        contents = {}
        for result in written:
            try:
                with open(os.path.join(folder, result)) as f:
                    contents[result] = json.loads(f.read(1 << 20))
            except (OSError, ValueError, UnicodeDecodeError):
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
    run = recorded(probe.path, probe.limit)
    _verdict(probe, compare_network(run['expected'], run['recorder'].built))
    return f"{', '.join(run['expected'].names)}, built as the course's and in its order"


PASSES = {'training pass': ['training'], 'accuracy passes': ['training accuracy', 'validation']}  # check: kinds


def todos_of(name, kinds):
    """The TODOs of driver `name` that lines of passes of these kinds fill."""
    return sorted({todo for (kind, _), todo in TODOS.get(name, ((), {}))[1].items() if kind in kinds})


def training_pass(module, probe):
    run = recorded(probe.path, probe.limit)
    kinds = PASSES['training pass']
    _verdict(probe, compare_passes(run, kinds), todos_of(run['name'], kinds))
    return 'each forward gets the output before it; each backward its forward\'s input and the grad after it'


def accuracy_passes(module, probe):
    run = recorded(probe.path, probe.limit)
    kinds = PASSES['accuracy passes']
    _verdict(probe, compare_passes(run, kinds), todos_of(run['name'], kinds))
    return 'both passes chain every forward, dropout off'


def default_result_name(network):
    """The file a driver of `network` writes with its default flags, ours and the course's alike."""
    from harness.flags import build_parser, result_name
    return result_name(network.prefix, build_parser(network).parse_args([]))


def result_file(module, probe):
    run = recorded(probe.path, probe.limit)
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
    """One epoch of the course's run `run`, once the checks have shown the driver's network and wiring
    to be the course's: the course's network (networks.py) trained as our drivers train it, with our
    dnn_misc.py or, in a student process, the one given with --modules."""
    recorded_run = recorded(probe.path, probe.limit)
    problems = compare_network(recorded_run['expected'], recorded_run['recorder'].built) + compare_passes(
        recorded_run, PASSES['training pass'] + PASSES['accuracy passes'])
    if any(fails for fails, _ in problems):
        raise Failed(f"{run.question} epoch 1 is not run: the network or the wiring of {os.path.basename(probe.path)} "
                     f"is not the course's (its checks say how)")
    if probe.modules:
        which = os.path.basename(probe.modules) + ' given'
        student = Student(probe.modules, probe.limit)
        try:
            student.load()
            got = trained_epoch(run, RemoteClasses(student, probe.modules), student.optimizer)
        except Raised as error:
            raise Failed(f'{run.question} epoch 1 did not finish: {os.path.basename(probe.modules)} raised '
                         f'{error.type_name}: {error}{error.where}') from None
        finally:
            student.close()
    else:
        which = 'our dnn_misc.py'
        got = trained_epoch(run, reference, SGD)
    probe.figures = {'train': got[0], 'val': got[1]}
    train, val = run.epoch1
    if got != (train, val):
        raise Failed(f"{run.question} epoch 1 gives training / validation accuracy {got[0]} / {got[1]}, "
                     f"the course's {train} / {val}")
    return f"{run.question} epoch 1 with {which}: {train} / {val}, as the course's (its wiring is the course's)"


CHECKS = [('driver', 'network', network), ('driver', 'training pass', training_pass),
          ('driver', 'accuracy passes', accuracy_passes), ('driver', 'result file', result_file)]
PIPELINE = {run.question: ('driver', f'{run.question} epoch 1',
                           lambda module, probe, run=run: first_epoch(module, probe, run)) for run in RUNS}
