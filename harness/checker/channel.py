"""The checker's side of the channel to the student process (harness/client.py), where the
submission's code runs: start it, send it calls, and take back its answers as plain data.

Nothing that comes back is trusted: wire.py reads each message within set sizes, and every array
becomes a plain float64 numpy.ndarray of our own before anything looks at it; anything else is
`Garbled`, a FAIL that names the call. The process is started in the sandbox when the grader set
one (HW5_SANDBOX, see harness/grader/sandbox.py), and a time limit holds each answer: past it, or
when the process ends, the call fails and the process is killed.
"""
try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from harness import REPO
from harness.checker.wire import (PIPE_BYTES, Ended, Garbled, Handle, Missing, Numbered, Other, Pipe, Raised,  # noqa: F401
                                  TimedOut, decode, decode_call, encode, missing)

# What the student process is given beside the client: the course's dnn_im2col.py, which a dnn_misc.py
# imports, and the drivers' SGD update, which the pipeline's steps run on the submission's modules.
# For a driver's run, what our drivers train with too (a student may hand in ours): the harness's
# training loop and data_loader.py, none of which checks or grades anything.
GIVEN = [('harness/client.py', 'client.py'), ('harness/stand_in.py', 'stand_in.py'), ('dnn_im2col.py', 'dnn_im2col.py'),
         ('harness/sgd.py', 'sgd.py'),
         ('data_loader.py', 'data_loader.py')] + [
    (f'harness/{name}.py', f'harness/{name}.py') for name in ('__init__', 'training', 'evaluation', 'flags',
                                                             'result_files', 'sgd')]
CALL = {'op': 'call'}  # what the answers' checks need of a kept call
MAX_DUE = 2  # training steps sent whose answers are not yet taken



class Kept(Handle):
    """A result the student process keeps (a pipeline's step needs no value back), by its number.
    Its value is fetched when something reads it as an array or a number, with those of the call's
    arguments that were kept too: an evaluation reads the loss, then the scores it was given."""

    def __init__(self, student, number, arguments=()):
        self.student, self.number, self.fetched = student, number, None
        self.arguments = [a for a in arguments if isinstance(a, Kept)]

    def value(self):
        if self.fetched is None:
            wanted = [self] + [a for a in self.arguments if a.fetched is None]
            values = self.student.request([{'op': 'get_kept', 'of': k.number} for k in wanted])
            for kept, value in zip(wanted, values):
                kept.fetched = (value,)
            self.arguments = []
        return self.fetched[0]

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value(), dtype=dtype)

    def __float__(self):
        return float(self.value())

    def __mul__(self, other):
        return self.value() * other

    def __del__(self):
        self.student.released.append(self.number)


class Module(Handle):
    """A module made in the student process: its number there and its class's name. In the pipeline
    forward and backward calls are sent with the next request, their results kept there (Kept)."""

    def __init__(self, student, number, kind):
        self.student, self.number, self.kind = student, number, kind

    def forward(self, *args, **kwargs):
        return self.student.call_kept(self, 'forward', args, kwargs)

    def backward(self, *args, **kwargs):
        return self.student.call_kept(self, 'backward', args, kwargs)

    def __setattr__(self, name, value):
        """An attribute set on the module (training sets `input_is_data` on the first) is set there too."""
        if name not in ('student', 'number', 'kind'):
            self.student.queue({'op': 'setattr', 'of': self.number, 'name': name, 'value': value})
        object.__setattr__(self, name, value)


def sandbox_launcher():
    """How to start the student process: the grader's sandbox (HW5_SANDBOX), or a plain process."""
    spec = os.environ.get('HW5_SANDBOX')
    if not spec:
        return None
    from harness.grader import sandbox
    return sandbox.Launcher(**json.loads(spec))


class Student:
    """The student process for the file at `path`, started at once; each answer is due by `deadline`.
    In the sandbox it sees the file's folder and `writable` folders, and what it is given."""

    def __init__(self, path, limit=10.0, writable=()):
        self.path, self.deadline = os.path.abspath(path), time.monotonic() + limit  # the runner sets each check's
        self.numbers, self.released = 0, []
        self.pending, self.pending_ops, self.pending_arrays = [], [], []  # queued: encoded, as they were, arrays
        self.due, self.away = [], False  # steps sent without waiting; whether the random stream is there
        self.host, self.table = None, {}  # for a driver's run: who answers its calls, and what they name
        self.given = tempfile.mkdtemp(prefix='given-')
        os.mkdir(os.path.join(self.given, 'harness'))
        for source, name in GIVEN:
            shutil.copy(os.path.join(REPO, source), os.path.join(self.given, name))
        for folder in (self.given, os.path.join(self.given, 'harness')):
            os.chmod(folder, 0o755)
        to_client, out = os.pipe()
        fd_in, from_client = os.pipe()
        self.pipe = Pipe(fd_in, out)
        for fd in (out, fd_in):  # a training step's message whole in the pipe: no ping-pong by pages
            try:
                fcntl.fcntl(fd, getattr(fcntl, 'F_SETPIPE_SZ', 1031), PIPE_BYTES)
            except (OSError, AttributeError):  # not Linux; no fcntl at all (Windows)
                pass
        # The channel is the process's standard input and output, which client.py moves aside first.
        command = [sys.executable, '-I', os.path.join(self.given, 'client.py')]
        launcher = sandbox_launcher()
        options = dict(stdin=to_client, stdout=from_client,
                       stderr=subprocess.DEVNULL, start_new_session=True)
        if launcher:
            command, options = launcher.wrap(command, options, [self.given],
                                             [os.path.dirname(self.path), *writable])
        self.process = subprocess.Popen(command, **options)
        os.close(to_client)
        os.close(from_client)

    def close(self):
        """Kill the process and all it started, and forget what was given to it."""
        for fd in (self.pipe.fd_in, self.pipe.out):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.process.pid, 9)
        except (ProcessLookupError, PermissionError, AttributeError):  # AttributeError: Windows
            pass
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.given, ignore_errors=True)

    def how_it_ended(self):
        self.process.kill()
        status = self.process.wait()
        return f'killed by signal {-status}' if status < 0 else f'exit status {status}'

    # -- what the checks use
    def load(self):
        self.request([{'op': 'load', 'path': self.path}])

    def make(self, kind, args=(), kwargs=None):
        """A module of the submission's class `kind`, or None if it has none."""
        self.numbers += 1
        number = self.numbers
        answer = self.request([{'op': 'make', 'class': kind, 'args': list(args), 'kwargs': kwargs or {},
                                'as': number}], missing_ok=True)[0]
        return None if isinstance(answer, Missing) else Module(self, number, kind)

    def call(self, module, method, args=(), kwargs=None, back_args=False):
        """The result of module.method(*args, **kwargs); with back_args, also (the arguments after the
        call, the method's parameter names). Missing('method') if it has no such method."""
        op = {'op': 'call', 'of': module.number, 'method': method, 'args': list(args), 'kwargs': kwargs or {}}
        return self.request([dict(op, back_args=back_args)], missing_ok=True)[0]

    def _release(self):
        """Queue the release of what the checker no longer refers to: before the next calls, so that
        a step's arrays are gone before the next step makes its own, as in a driver."""
        if self.released:
            self.queue({'op': 'release', 'numbers': self.released})
            self.released = []

    def queue(self, op):
        """Send `op` with the next request, encoded now, with the arrays as they are now."""
        self.pending.append(encode(op, self.pending_arrays))
        self.pending_ops.append({'op': op['op'], 'back_args': op.get('back_args')})

    def call_kept(self, module, method, args, kwargs):
        """A call whose result stays in the student process (Kept), sent with the next request."""
        self._release()
        self.numbers += 1
        arguments = [{'#': a.number} if isinstance(a, Kept) else encode(a, self.pending_arrays) for a in args]
        self.pending.append({'op': 'call', 'of': module.number, 'method': method, 'args': arguments,
                             'kwargs': kwargs, 'as': self.numbers})
        self.pending_ops.append(CALL)
        return Kept(self, self.numbers, args)

    def get(self, module, name, key=None):
        op = {'op': 'get', 'of': module.number, 'name': name}
        return self.request([op if key is None else dict(op, key=key)], missing_ok=True)[0]

    def set(self, module, name, key, value, in_place=False):
        """module.name[key] = value, or with in_place its array's values; Missing if it has no `name`."""
        return self.request([{'op': 'set', 'of': module.number, 'name': name, 'key': key, 'value': value,
                              'in_place': in_place}], missing_ok=True)[0]

    def function(self, module, name, args):
        return self.request([{'op': 'function', 'module': module, 'name': name, 'args': list(args)}],
                            missing_ok=True)[0]

    def optimizer(self, model, learning_rate, alpha, lambda_):
        """The drivers' SGD over the model's modules, in the student process (see Optimizer)."""
        return Optimizer(self, model, learning_rate, alpha, lambda_)

    # -- the wire
    def request(self, ops, missing_ok=False, wait=True):
        """Send the pending operations, then `ops`; return the answers to `ops`, each a value, None,
        or Missing(what) with missing_ok. Raises Raised, Garbled, Ended or TimedOut.

        NumPy's random state goes with a request when the checker holds the stream, and comes back
        with the answer. A training step goes without waiting (wait=False), so that the checker makes
        the next one while the student process computes this one; the stream then stays there until
        the next request that waits, which first takes every answer still due.
        """
        self._release()
        wanted, arrays = len(ops), self.pending_arrays
        encoded = self.pending + [encode(op, arrays) for op in ops]
        ops = self.pending_ops + [{'op': op['op'], 'back_args': op.get('back_args')} for op in ops]
        self.pending, self.pending_ops, self.pending_arrays = [], [], []
        header = {'ops': encoded, 'want_state': wait}
        if not self.away:
            _, keys, position, has_gauss, cached = np.random.get_state()
            header['random_state'] = [encode(keys, arrays), int(position), int(has_gauss), float(cached)]
        try:
            self.pipe.send(header, arrays)
            if not wait:
                self.away = True
                self.due.append(ops)
                self._collect(MAX_DUE)
                return None
            self._collect(0)
            results = self._answers(ops, missing_ok, take_state=True)
        except (BrokenPipeError, EOFError):
            raise Ended(self.how_it_ended()) from None
        self.away = False
        return results[len(results) - wanted:]

    def _collect(self, left):
        """Take the answers of the steps sent without waiting, until at most `left` are due; on one
        that failed, take all of them, then raise its error."""
        failure = None
        while len(self.due) > left:
            try:
                self._answers(self.due.pop(0), False)
            except (Raised, Garbled) as error:
                failure, left = failure or error, 0
        if failure:
            raise failure

    def _answers(self, ops, missing_ok, take_state=False):
        reply, answers = self._next_answer()
        if not (isinstance(reply, dict) and isinstance(reply.get('answers'), list)
                and len(reply['answers']) <= len(ops)):
            raise Garbled('an answer that is not a list of answers')
        if take_state:
            self._set_random_state(reply.get('random_state'), answers)
        results = []
        for op, answer in zip(ops, reply['answers']):
            results.append(self._result(op, answer, answers, missing_ok))
        if len(results) < len(ops):
            raise Garbled(f'no answer to {ops[len(results)]["op"]}')
        return results

    def _result(self, op, answer, arrays, missing_ok):
        if answer is None:
            return None
        if not isinstance(answer, dict):
            raise Garbled(f'an answer to {op["op"]} that is not an object')
        if 'raised' in answer:
            raised = answer['raised']
            if not (isinstance(raised, list) and len(raised) == 3 and all(isinstance(s, str) for s in raised)):
                raise Garbled('an error that is not [type, message, where]')
            raise Raised(raised[0][:100], raised[1][:2000], raised[2][:300])
        if 'missing' in answer:
            if missing_ok and isinstance(answer['missing'], str):
                return Missing(answer['missing'][:20])
            raise Garbled(f'an answer to {op["op"]} that says something is missing')
        if 'result' not in answer:
            raise Garbled(f'an answer to {op["op"]} with no result')
        result = decode(answer['result'], arrays)
        if op.get('back_args'):
            names = answer.get('names')
            if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
                names = []
            return result, decode(answer.get('args'), arrays), [n[:100] for n in names]
        return result

    def _set_random_state(self, state, arrays):
        try:
            keys, position, has_gauss, cached = state
            keys = decode(keys, arrays)
            assert isinstance(keys, np.ndarray) and keys.shape == (624,) and np.all((keys >= 0) & (keys < 2 ** 32))
            np.random.set_state(('MT19937', keys.astype(np.uint32), int(position), int(has_gauss), float(cached)))
        except (AssertionError, TypeError, ValueError, Garbled):
            raise Garbled('a random state that is not NumPy\'s') from None

    def _next_answer(self):
        """The next answer, (header, [float64 arrays]), after serving the driver's calls that come first."""
        while True:
            header, arrays = self.pipe.receive(self.deadline)
            if not (isinstance(header, dict) and 'callback' in header and self.host):
                return header, [a.astype(np.float64) for a in arrays]
            self._serve(header['callback'], arrays)

    def _serve(self, callback, arrays):
        """Answer a driver's call (client.py's run_driver) with self.host: {'answer': ...} or
        {'raised': [type, message]} when our module raised (what the driver did then is its own)."""
        op = decode_call(callback, arrays, self.table)
        if not (isinstance(op, dict) and isinstance(op.get('op'), str)):
            raise Garbled('a call from the driver that is not an operation')
        out = []
        try:
            answer = encode(self.host(self, op), out)
        except (Garbled, TimedOut, Ended):
            raise
        except Exception as error:
            self.pipe.send({'raised': [type(error).__name__, str(error)[:2000]]}, [])
            return
        self.pipe.send({'answer': answer}, out)

    def keep(self, value):
        """A number for `value` (a module made, an array returned to the driver), by which the driver's
        calls name it again."""
        self.numbers += 1
        self.table[self.numbers] = value
        return self.numbers

class Optimizer:
    """The drivers' SGD (harness/sgd.py) over the submission's modules, run where they are: each step
    goes with the calls of its training step, in one request. The parameters, their gradients and
    the velocities never cross; the checker sends each step's learning rate."""

    def __init__(self, student, model, learning_rate, alpha, lambda_):
        self.student, self.learning_rate = student, learning_rate
        student.queue({'op': 'optimizer', 'model': {name: m.number for name, m in model.items()},
                                'learning_rate': learning_rate, 'alpha': alpha, 'lambda_': lambda_})

    def step(self, first_input=None):
        self.student.request([{'op': 'step', 'args': [] if first_input is None else [first_input],
                               'learning_rate': self.learning_rate}], wait=False)
