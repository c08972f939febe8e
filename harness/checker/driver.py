"""Checks of a course-style driver, such as a student's dnn_cnn_2.py: the network it builds, and
how it wires the modules in each pass.

The driver runs as it would in the course's folder (its flags: --num_epoch 1), in a scratch
folder that holds a small mnist_subset.json (10 samples a split), in a student process (client.py)
whose dnn_misc is stand_in.py's: each module it makes and each call it makes is passed to this
process, where the recorder (recorder.py) makes and computes it with our modules (key.py: in a students'
handout, the student's own) and notes it. What
it should do comes from the course's network of the same name (networks.py, never the driver at the
top level, which may be the student's), made with the same recorder: its model dict names the
modules, and one training step and one evaluation pass give the wiring. With --pipeline, once the
checks have shown the driver's wiring to be the course's, the course's network trains one epoch on
the course's data with our dnn_misc.py (or, in a student process, the one given with --modules, as
pipeline.py trains and evaluates it), against the course's first epoch: the driver's computation,
with one crossing fewer.
"""
import json
import os
import re
import shutil
import tempfile

import numpy as np

from harness import NOT_WRITTEN, messages
from harness.checker import VERDICTS, key, networks
from harness.checker.pipeline import ours_epoch, remote_epoch
from harness.checker.probe import Check, Failed
from harness.checker.process import Ended, Garbled, Raised, StudentProcess, TimedOut
from harness.checker.recorder import CLASSES, Recorder, short
from harness.checker.remote import RemoteCode
from harness.checker.wiring import TODOS, compare_network, compare_passes, expected_wiring
from harness.course import RUNS
from harness.run_driver import is_ours

PREFIXES = {run.driver: run.name.split('_lr')[0] + '_lr' for run in RUNS}  # 'dnn_cnn_2': 'CNN2_lr', ...
DRIVERS = list(PREFIXES)
SMALL = 10  # samples per split of the small data file
_runs = {}  # path: the recorded run, made once for all the checks


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


class Host:
    """What answers a driver's calls (client.py's run_driver, `process.serve`): each module it makes is
    the recorder's (ours, noted), and computes here; each array it returns is numbered, so that an
    argument the driver gives back is known for the very array it was."""

    def __init__(self, recorder, process):
        self.recorded, self.process, self.table = recorder.dnn_misc(), process, {}  # table: number: what it names

    def numbered(self, value):
        number = self.process.new_number()
        self.table[number] = value
        return number

    def __call__(self, callback, arrays):
        op = messages.decode(callback, [np.array(array) for array in arrays], self.table)
        if not (isinstance(op, dict) and isinstance(op.get('op'), str)):
            raise Garbled('a call from the driver that is not an operation')
        try:
            answer, numbers = self.respond(op)
        except Garbled:
            raise
        except Exception as error:  # our module raised: what the driver does then is its own
            self.process.send({'raised': [type(error).__name__, str(error)[:2000]]}, [])
            return
        out = []
        encoded = messages.encode(answer, out)
        numbers = [[next(i for i, sent in enumerate(out) if sent is array), number] for number, array in numbers]
        self.process.send({'answer': encoded, 'numbers': numbers}, out)

    def respond(self, op):
        """The answer to one call, and [(number, array)] of the arrays in it that are numbered."""
        args, kwargs = op.get('args', []), op.get('kwargs', {})
        if not (isinstance(args, list) and isinstance(kwargs, dict)):
            raise Garbled('a call from the driver whose arguments are not a list and a dict')
        if op['op'] == 'make' and op.get('class') in CLASSES:
            module = getattr(self.recorded, op['class'])(*args, **kwargs)
            answer = {name: dict(getattr(module, name)) for name in ('params', 'gradient') if hasattr(module, name)}
            return dict(answer, number=self.numbered(module)), []
        module = self.table.get(op.get('of'))
        if op['op'] == 'call' and op.get('method') in ('forward', 'backward') and hasattr(module, 'forward'):
            params = op.get('params') or {}
            for name, ours in getattr(module, 'params', {}).items():  # as the driver's update left them
                if name in params:
                    if np.shape(params[name]) != ours.shape:
                        raise Garbled(f"a driver's {op['op']} whose params['{name}'] is not of shape {ours.shape}")
                    module.params[name] = np.array(params[name], dtype=np.float64)
            result = getattr(module, op['method'])(*args, **kwargs)
            answer = {'result': result}
            if op['method'] == 'backward' and hasattr(module, 'gradient'):
                answer['gradient'] = dict(module.gradient)
            if not isinstance(result, np.ndarray):
                return answer, []
            answer['result'] = np.ascontiguousarray(result)  # sent as it is, so that it is found by identity
            return answer, [(self.numbered(result), answer['result'])]
        if op['op'] == 'function' and op.get('name') == 'add_momentum':
            return self.recorded.add_momentum(*args), []
        raise Garbled('a call from the driver that is no making, forward, backward or add_momentum')


def run_driver(path, argv, folder, recorder, limit):
    """Run the driver at `path` as a script in `folder`, in a student process, its dnn_misc the
    recorder's classes; the error it stopped with (None, or 'NameError: ... at dnn_cnn_2.py:120')."""
    if is_ours(path):  # ours reads data/ and writes outputs/ unless told otherwise
        argv = [*argv, '--data', os.path.join(folder, 'mnist_subset.json'), '--output_dir', folder]
    process = StudentProcess(path, limit, writable=[folder])
    process.serve = Host(recorder, process)
    op, arrays = {'op': 'run_driver', 'path': path, 'argv': argv, 'cwd': folder, 'classes': CLASSES,
                  'functions': ['add_momentum']}, []
    try:
        ran = process.request([messages.encode_op(op, arrays)], arrays)[0]
    except TimedOut:
        return f'did not finish within {limit:g} s'
    except Ended as end:
        return f'ended the process it ran in ({end})'
    finally:
        process.close()
    if not isinstance(ran, (str, type(None))):
        raise Garbled('a driver\'s run that does not say how it stopped')
    todo = re.search(r'TODO \(\d\) of \S+' + re.escape(NOT_WRITTEN), ran or '')  # a handout's, as handed out
    return todo.group(0) if todo else ran and short(ran, 300)


def recorded(path, limit, modules=None):
    """The recorded run of the driver at `path`, made once: a dict of what the checks read. It computes
    with key.py's modules: in a handout, those of the dnn_misc.py given with --modules, or beside it."""
    if path in _runs:
        return _runs[path]
    reference = key.modules(key.for_driver(path, modules))
    name = network_of(path)  # hw5_dnn_check.py takes no driver it cannot name
    # In the grader's sandbox, the run's folder lies beside the driver, where the student process may write.
    folder = tempfile.mkdtemp(prefix='driver-check-', dir=os.path.dirname(path) if os.environ.get('HW5_SANDBOX') else None)
    try:
        os.chmod(folder, 0o777)  # the student process may run as a user of its own
        samples = small_data(folder)
        ours = Recorder(reference)
        expected = expected_wiring(name, networks.network(name, ours.dnn_misc()), ours)
        recorder = Recorder(reference)
        recorder.wiring = expected.wiring_for(recorder)
        error = run_driver(path, ['--num_epoch', '1'], folder, recorder, limit)
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


def network(probe):
    run = recorded(probe.path, probe.limit, probe.modules)
    _verdict(probe, compare_network(run['expected'], run['recorder'].built))
    return f"{', '.join(run['expected'].names)}, built as the course's and in its order"


PASSES = {'training pass': ['training'], 'accuracy passes': ['training accuracy', 'validation']}  # check: kinds


def todos_of(name, kinds):
    """The TODOs of driver `name` that lines of passes of these kinds fill."""
    return sorted({todo for (kind, _), todo in TODOS.get(name, ((), {}))[1].items() if kind in kinds})


def training_pass(probe):
    run = recorded(probe.path, probe.limit, probe.modules)
    kinds = PASSES['training pass']
    _verdict(probe, compare_passes(run, kinds), todos_of(run['name'], kinds))
    return 'each forward gets the output before it; each backward its forward\'s input and the grad after it'


def accuracy_passes(probe):
    run = recorded(probe.path, probe.limit, probe.modules)
    kinds = PASSES['accuracy passes']
    _verdict(probe, compare_passes(run, kinds), todos_of(run['name'], kinds))
    return 'both passes chain every forward, dropout off'


def default_result_name(network):
    """The file a driver of `network` writes with its default flags, ours and the course's alike."""
    from harness.flags import build_parser, result_name
    return result_name(network.prefix, build_parser(network).parse_args([]))


def result_file(probe):
    run = recorded(probe.path, probe.limit, probe.modules)
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


def first_epoch(probe, run):
    """One epoch of the course's run `run`, once the checks have shown the driver's network and wiring
    to be the course's: the course's network (networks.py) trained as our drivers train it, with our
    dnn_misc.py or, in a student process, the one given with --modules (as pipeline.py does)."""
    recorded_run = recorded(probe.path, probe.limit, probe.modules)
    problems = compare_network(recorded_run['expected'], recorded_run['recorder'].built) + compare_passes(
        recorded_run, PASSES['training pass'] + PASSES['accuracy passes'])
    if any(fails for fails, _ in problems):
        raise Failed(f"{run.question} epoch 1 is not run: the network or the wiring of {os.path.basename(probe.path)} "
                     f"is not the course's (its checks say how)")
    train, val = run.epoch1
    which = os.path.basename(probe.modules) + ' given' if probe.modules else \
        'our dnn_misc.py' if key.answer_key() else 'your ' + os.path.basename(key.for_driver(probe.path))
    if probe.modules:
        code = RemoteCode(probe.modules, probe.limit)
        try:
            code.load()
            got, verify = remote_epoch(run, code)
            if got == (train, val):
                verify()
        except Raised as error:
            raise Failed(f'{run.question} epoch 1 did not finish: {os.path.basename(probe.modules)} raised '
                         f'{error.type_name}: {error}{error.where}') from None
        finally:
            code.close()
    else:
        got = ours_epoch(run, key.modules(key.for_driver(probe.path)))
    probe.figures = {'train': got[0], 'val': got[1]}
    if got != (train, val):
        raise Failed(f"{run.question} epoch 1 gives training / validation accuracy {got[0]} / {got[1]}, "
                     f"the course's {train} / {val}")
    return f"{run.question} epoch 1 with {which}: {train} / {val}, as the course's (its wiring is the course's)"


def checks(name, questions=()):
    """The checks of a driver of the course's network `name`, and the first epochs of its `questions`."""
    return ([Check(name, 'network', network, 'driver'),
             Check(name, 'training pass', training_pass, 'driver', tuple(todos_of(name, PASSES['training pass']))),
             Check(name, 'accuracy passes', accuracy_passes, 'driver', tuple(todos_of(name, PASSES['accuracy passes']))),
             Check(name, 'result file', result_file, 'driver')]
            + [Check(name, f'{run.question} epoch 1', lambda probe, run=run: first_epoch(probe, run), 'driver')
               for run in RUNS if run.driver == name and run.question in questions])
