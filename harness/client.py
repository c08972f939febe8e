"""The student process: where a submission's code runs, answering the checker's calls, and nothing else.

    python3 -I client.py          # the channel is its standard input and output

It holds nothing of the grader: no checks, no reference modules, no expected values, no labels of an
evaluation, no report. The checker (harness/checker/process.py) sends requests, each a list of
operations; this process does them in order on the submission's modules and sends back what they
gave, as data, in the format of messages.py. Whatever the submission's code prints goes nowhere. It
imports nothing of the repository but what the checker copies beside it: messages.py, the course's
dnn_im2col.py, sgd.py (the drivers' update) and stand_in.py (a driver's dnn_misc). Operations (`op`):

    load       path: import the submission's dnn_misc.py (its folder on sys.path)
    make       class, args, kwargs, as: make a module, kept under the number `as`
    object     attributes, as: a plain object with these attributes (a module's params and gradient)
    call       of, method, args, kwargs: call what is kept under `of`; with `as` the result is kept
               (no answer), else it is sent back, and with `back_args` the arguments after the call too
    get, set   of, name, key (, value, in_place): an attribute of what is kept, or one entry of it
    setattr    of, name, value
    function   module ('dnn_misc', or 'dnn_im2col': the one beside the submission), name, args
    optimizer  args: the model {name: module}, learning_rate, alpha, lambda_: the drivers' SGD (sgd.py)
    step       args, learning_rate: one update from the last backward pass
    values     of: what is kept under these numbers
    release    of: forget what is kept under these numbers
    run_driver path, argv, cwd, classes, functions: run a driver whose dnn_misc is stand_in.py's

A request carries NumPy's random state when the checker holds it, and one that asks (want_state) gets
it back, so that the draws on both sides are one stream, as in a driver. The answers come up to the
first operation that raised: each None, {"result": ...}, {"missing": what} or {"raised": [type,
message, where]}.
"""
import importlib.util
import inspect
import os
import sys
import traceback
import types

HERE = os.path.dirname(os.path.abspath(__file__))
# The course's dnn_im2col.py beside us comes first, as the course's folder gives it to a dnn_misc.py;
# the submission's folder after (load).
sys.path[:] = [HERE] + [p for p in sys.path if p and os.path.abspath(p) != HERE]
import numpy as np  # noqa: E402

import messages  # noqa: E402

ABSENT = object()  # what getattr gives for an attribute the object lacks


class Copies:
    """A message's arrays, each handed out as a new copy: every call gets arrays of its own."""

    def __init__(self, arrays):
        self.arrays = arrays

    def __len__(self):
        return len(self.arrays)

    def __getitem__(self, index):
        return np.array(self.arrays[index])


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Answerer:
    def __init__(self, incoming, outgoing):
        self.incoming, self.outgoing = incoming, outgoing
        self.kept = {}  # number: a module, a result, an object
        self.path = self.module = self.optimizer = self.im2col = None

    def answer(self, request, arrays):
        """The reply to a request, and its arrays."""
        self.copies, self.out, answers = Copies(arrays), [], []
        if request.get('random_state'):
            messages.set_state(request['random_state'], arrays)
        for op in request['ops']:
            try:
                args = messages.decode(op.get('args', []), self.copies, self.kept)
                kwargs = messages.decode(op.get('kwargs', {'map': {}}), self.copies, self.kept)
                answers.append(getattr(self, 'do_' + op['op'])(op, *args, **kwargs))
            except BaseException as error:  # SystemExit too: the submission's sys.exit ends a call, not us
                if isinstance(error, KeyboardInterrupt):
                    raise
                message = error.msg if isinstance(error, SyntaxError) else str(error)
                answers.append({'raised': [type(error).__name__, message[:2000], self.where(error)]})
                break
        reply = {'answers': answers}
        if request.get('want_state'):
            reply['random_state'] = messages.state(self.out)
        return reply, self.out

    def where(self, error):
        """' at FILE:LINE (in FUNCTION)' for the deepest frame of the submission's file (or the
        dnn_im2col.py beside it), else ''."""
        files = (self.path, os.path.join(os.path.dirname(self.path or ''), 'dnn_im2col.py'))
        if isinstance(error, SyntaxError) and error.filename and os.path.abspath(error.filename) in files:
            return f' at {os.path.basename(self.path)}:{error.lineno}'
        frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename) in files]
        return f' at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} (in {frames[-1].name})' if frames else ''

    def do_load(self, op):
        self.path = os.path.abspath(op['path'])
        sys.path.append(os.path.dirname(self.path))
        spec = importlib.util.spec_from_file_location('dnn_misc', self.path)
        self.module = importlib.util.module_from_spec(spec)
        sys.modules['dnn_misc'] = self.module
        spec.loader.exec_module(self.module)

    def do_make(self, op, *args, **kwargs):
        cls = getattr(self.module, op['class'], None)
        if cls is None:
            return {'missing': 'class'}
        self.kept[op['as']] = cls(*args, **kwargs)

    def do_object(self, op):
        self.kept[op['as']] = types.SimpleNamespace(**messages.decode(op['attributes'], self.copies, self.kept))

    def do_call(self, op, *args, **kwargs):
        function = getattr(self.kept[op['of']], op['method'], None)
        if function is None:
            return {'missing': 'method'}
        result = function(*args, **kwargs)
        if 'as' in op:
            self.kept[op['as']] = result
            return None
        answer = {'result': messages.encode(result, self.out)}
        if op.get('back_args'):
            try:
                names = [p.name for p in inspect.signature(function).parameters.values()]
            except (TypeError, ValueError):
                names = []
            answer.update(args=messages.encode(args, self.out), names=names)
        return answer

    def do_get(self, op):
        value = getattr(self.kept[op['of']], op['name'], ABSENT)
        if value is ABSENT:
            return {'missing': 'attribute'}
        if 'key' in op:
            try:
                value = value[op['key']]
            except (KeyError, TypeError, IndexError):
                return {'missing': 'entry'}
        return {'result': messages.encode(value, self.out)}

    def do_set(self, op):
        value = getattr(self.kept[op['of']], op['name'], ABSENT)
        if value is ABSENT:
            return {'missing': 'attribute'}
        new, old = messages.decode(op['value'], self.copies), value.get(op['key']) if isinstance(value, dict) else None
        if op.get('in_place') and isinstance(old, np.ndarray) and old.shape == new.shape:
            old[...] = new  # as the drivers update it: the module's own array
        else:
            value[op['key']] = new

    def do_setattr(self, op):
        setattr(self.kept[op['of']], op['name'], messages.decode(op['value'], self.copies))

    def do_function(self, op, *args):
        module = self.module
        if op['module'] == 'dnn_im2col':
            if self.im2col is None:
                self.im2col = load(os.path.join(os.path.dirname(self.path), 'dnn_im2col.py'), 'students_dnn_im2col')
            module = self.im2col
        function = getattr(module, op['name'], None)
        if function is None:
            return {'missing': 'function'}
        return {'result': messages.encode(function(*args), self.out)}

    def do_optimizer(self, op, *args):
        self.optimizer = load(os.path.join(HERE, 'sgd.py'), 'sgd').SGD(*args)

    def do_step(self, op, *args):
        self.optimizer.learning_rate = op['learning_rate']
        self.optimizer.step(*args)

    def do_values(self, op):
        return {'result': messages.encode([self.kept[number] for number in op['of']], self.out)}

    def do_release(self, op):
        for number in op['of']:
            self.kept.pop(number, None)

    def do_run_driver(self, op):
        channel = (lambda header, sent: messages.send(self.outgoing, header, sent),
                   lambda: messages.receive(lambda size: messages.read_exactly(self.incoming, size)))
        driver = load(os.path.join(HERE, 'stand_in.py'), 'stand_in').Driver(*channel)
        return {'result': messages.encode(driver.run(op), self.out)}


def main():
    incoming, outgoing = os.dup(0), os.dup(1)  # the channel, moved aside
    silent = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(silent, fd)
    sys.stdout = sys.stderr = open(os.devnull, 'w')
    np.seterr(all='ignore')
    answerer = Answerer(incoming, outgoing)
    while True:
        try:
            request, arrays = messages.receive(lambda size: messages.read_exactly(incoming, size))
        except EOFError:
            return 0
        messages.send(outgoing, *answerer.answer(request, arrays))


if __name__ == '__main__':
    sys.exit(main())
