"""The student process: where a submission's code runs, answering the checker's calls, and nothing else.

    python3 -I client.py          # the channel is its standard input and output

It holds none of the grader: no checks, no reference modules, no expected values, no figures, no
report. The checker (harness/checker/channel.py) sends requests, each a list of operations; this
process does them in order on the submission's modules and sends back what they gave, as data:
JSON, and arrays as dtype, shape and bytes. Whatever the submission's code prints goes nowhere.
It imports nothing of the rest of the repository: what it needs sits beside it, copied there by
the checker (the course's dnn_im2col.py; sgd.py, the drivers' update, for the pipeline; stand_in.py,
a driver's dnn_misc).

A message is its header's length (8 bytes, little-endian), the header (JSON), then the bytes of
each array the header names, in order: an array stands in the JSON as {"$": its number}, and the
header's "arrays" lists [dtype, shape] of each. Operations (`op`):

    load      path: import the submission's dnn_misc.py (its folder on sys.path)
    make      class, args, kwargs, as: make a module and keep it under the number `as`
    call      of, method, args, kwargs, as: call a module's method; `as` keeps the result here
              (no answer), else it is sent back; `back_args` also sends the arguments after the call
    get, set  of, name, key (, value, in_place): a module's attribute (or one entry of it)
    setattr   of, name, value: set an attribute of a module (the first layer's input_is_data)
    function  module ('dnn_misc' or 'dnn_im2col', the one beside the submission), name, args
    optimizer model {name: module number}, learning_rate, alpha, lambda_: the drivers' SGD over them
    step      first_input, learning_rate: one update from the last backward pass
    get_kept  of: send back what was kept under that number
    release   numbers: forget what was kept under them
    run_driver path, argv, cwd, classes, functions: run a driver whose dnn_misc is stand_in.py's: each
              module it makes, each call and each function is asked of the checker ({"callback": op},
              answered by {"answer": ...} or {"raised": [type, message]}) while the driver runs

An argument {"#": n} is what was kept under n; {"module_like": {key: array}} an object whose params
are those arrays. A request carries NumPy's random state when the checker holds it, and one that asks
(want_state) gets it back, so that the draws on both sides are one stream, as in a driver.
"""
import importlib.util
import inspect
import json
import os
import sys
import traceback
import types

HERE = os.path.dirname(os.path.abspath(__file__))
# The course's dnn_im2col.py beside us comes first, as the course's folder gives it to a dnn_misc.py;
# the submission's folder after (load).
sys.path[:] = [HERE] + [p for p in sys.path if p and os.path.abspath(p) != HERE]
import numpy as np  # noqa: E402

NUMERIC = 'biuf'  # the kinds of array that go back as arrays: bool, int, unsigned, float


def read_exactly(fd, size):
    data = bytearray(size)
    view, done = memoryview(data), 0
    while done < size:
        if hasattr(os, 'readv'):
            got = os.readv(fd, [view[done:]])
        else:  # Windows
            chunk = os.read(fd, size - done)
            got = len(chunk)
            view[done:done + got] = chunk
        if got == 0:
            raise EOFError
        done += got
    return data


def receive(fd):
    """The next message: (header, arrays)."""
    header = json.loads(read_exactly(fd, int.from_bytes(read_exactly(fd, 8), 'little')))
    arrays = []
    for dtype, shape in header.pop('arrays'):
        dtype = np.dtype(dtype)
        size = int(np.prod(shape)) * dtype.itemsize
        arrays.append(np.frombuffer(read_exactly(fd, size), dtype=dtype).reshape(shape))
    return header, arrays


def send(fd, header, arrays):
    header = dict(header, arrays=[[a.dtype.str, list(a.shape)] for a in arrays])
    text = json.dumps(header).encode()
    parts = [len(text).to_bytes(8, 'little'), text] + [memoryview(a).cast('B') for a in arrays if a.nbytes]
    if not hasattr(os, 'writev'):  # Windows
        parts = [b''.join(parts)]
    while parts:  # in as few writes as the pipe takes
        done = os.writev(fd, parts) if hasattr(os, 'writev') else os.write(fd, parts[0])
        while parts and done >= len(parts[0]):
            done -= len(parts[0])
            parts.pop(0)
        if parts and done:
            parts[0] = memoryview(parts[0])[done:]


def encode(value, arrays):
    """A value as JSON, its arrays appended to `arrays`."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC:
        arrays.append(np.ascontiguousarray(np.asarray(value)))
        return {'$': len(arrays) - 1}
    if isinstance(value, (list, tuple)):
        return {'seq': [encode(item, arrays) for item in value]}
    if isinstance(value, dict):
        return {'map': {str(k): encode(v, arrays) for k, v in value.items()}}
    return {'other': type(value).__name__}


class Answerer:
    def __init__(self):
        self.kept = {}  # number: a module or a kept result
        self.path = self.module = self.optimizer = self.im2col = None
        self.incoming = self.outgoing = None

    def decode(self, value, arrays):
        if isinstance(value, list):
            return [self.decode(item, arrays) for item in value]
        if not isinstance(value, dict):
            return value
        if '$' in value:
            return np.array(arrays[value['$']])  # a copy of its own, writable
        if '#' in value:
            return self.kept[value['#']]
        if 'module_like' in value:  # None: an object with no params, as relu
            params = value['module_like']
            if params is None:
                return types.SimpleNamespace()
            return types.SimpleNamespace(params={k: self.decode(v, arrays) for k, v in params.items()})
        return {k: self.decode(v, arrays) for k, v in value.items()}

    def where(self, error):
        """' at FILE:LINE (in FUNCTION)' for the deepest frame of the submission's file (or the
        dnn_im2col.py beside it), else ''."""
        files = (self.path, os.path.join(os.path.dirname(self.path or ''), 'dnn_im2col.py'))
        if isinstance(error, SyntaxError) and error.filename and os.path.abspath(error.filename) in files:
            return f' at {os.path.basename(self.path)}:{error.lineno}'
        frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename) in files]
        return f' at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} (in {frames[-1].name})' if frames else ''

    def do(self, op, arrays, out):
        """One operation; its answer (JSON), its arrays appended to `out`."""
        what = op['op']
        args = self.decode(op.get('args', []), arrays)
        kwargs = self.decode(op.get('kwargs', {}), arrays)
        if what == 'call':
            function = getattr(self.kept[op['of']], op['method'], None)
            if function is None:
                return {'missing': 'method'}
            result = function(*args, **kwargs)
            if 'as' in op:
                self.kept[op['as']] = result
                return None
            answer = {'result': encode(result, out)}
            if op.get('back_args'):
                try:
                    names = [p.name for p in inspect.signature(function).parameters.values()]
                except (TypeError, ValueError):
                    names = []
                answer.update(args=encode(args, out), names=names)
            return answer
        if what == 'load':
            self.path = os.path.abspath(op['path'])
            sys.path.append(os.path.dirname(self.path))
            spec = importlib.util.spec_from_file_location('dnn_misc', self.path)
            self.module = importlib.util.module_from_spec(spec)
            sys.modules['dnn_misc'] = self.module
            spec.loader.exec_module(self.module)
            return None
        if what == 'make':
            cls = getattr(self.module, op['class'], None)
            if cls is None:
                return {'missing': 'class'}
            self.kept[op['as']] = cls(*args, **kwargs)
            return None
        if what in ('get', 'set'):
            obj = self.kept[op['of']]
            if not hasattr(obj, op['name']):
                return {'missing': 'attribute'}
            value = getattr(obj, op['name'])
            if what == 'set':
                new, old = self.decode(op['value'], arrays), value.get(op['key']) if isinstance(value, dict) else None
                if op.get('in_place') and isinstance(old, np.ndarray) and old.shape == new.shape:
                    old[...] = new  # as the drivers update it: the module's own array
                else:
                    value[op['key']] = new
                return None
            if 'key' in op:
                try:
                    value = value[op['key']]
                except (KeyError, TypeError, IndexError):
                    return {'missing': 'entry'}
            return {'result': encode(value, out)}
        if what == 'setattr':
            setattr(self.kept[op['of']], op['name'], self.decode(op['value'], arrays))
            return None
        if what == 'function':
            module = self.module
            if op['module'] == 'dnn_im2col':
                if self.im2col is None:
                    self.im2col = load(os.path.join(os.path.dirname(self.path), 'dnn_im2col.py'), 'students_dnn_im2col')
                module = self.im2col
            function = getattr(module, op['name'], None)
            if function is None:
                return {'missing': 'function'}
            return {'result': encode(function(*args), out)}
        if what == 'optimizer':
            sgd = load(os.path.join(HERE, 'sgd.py'), 'sgd')
            model = {name: self.kept[number] for name, number in op['model'].items()}
            self.optimizer = sgd.SGD(model, op['learning_rate'], op['alpha'], op['lambda_'])
            return None
        if what == 'step':
            self.optimizer.learning_rate = op['learning_rate']
            self.optimizer.step(args[0] if args else None)
            return None
        if what == 'get_kept':
            return {'result': encode(self.kept[op['of']], out)}
        if what == 'run_driver':  # stand_in.py, beside this file, is the driver's dnn_misc
            driver = load(os.path.join(HERE, 'stand_in.py'), 'stand_in').Driver(
                lambda header, arrays: send(self.outgoing, header, arrays), lambda: receive(self.incoming), encode)
            return {'result': encode(driver.run(op), out)}
        if what == 'release':
            for number in op['numbers']:
                self.kept.pop(number, None)
            return None
        raise ValueError(f'no operation {what!r}')

    def answer(self, request, arrays):
        """The answers to a request's operations, up to the first that raised, and the random state."""
        if request.get('random_state'):
            keys, position, has_gauss, cached = request['random_state']
            np.random.set_state(('MT19937', arrays[keys['$']].astype(np.uint32), position, has_gauss, cached))
        out, answers = [], []
        for op in request['ops']:
            try:
                answers.append(self.do(op, arrays, out))
            except BaseException as error:  # SystemExit too: the submission's sys.exit ends a call, not us
                if isinstance(error, KeyboardInterrupt):
                    raise
                message = error.msg if isinstance(error, SyntaxError) else str(error)
                answers.append({'raised': [type(error).__name__, message[:2000], self.where(error)]})
                break
        if not request.get('want_state'):
            return {'answers': answers}, out
        _, keys, position, has_gauss, cached = np.random.get_state()
        state = [encode(keys, out), int(position), int(has_gauss), float(cached)]
        return {'answers': answers, 'random_state': state}, out


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv):
    incoming, outgoing = os.dup(0), os.dup(1)  # the channel, moved aside
    silent = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(silent, fd)
    sys.stdout = sys.stderr = open(os.devnull, 'w')
    np.seterr(all='ignore')
    answerer = Answerer()
    answerer.incoming, answerer.outgoing = incoming, outgoing
    while True:
        try:
            request, arrays = receive(incoming)
        except EOFError:
            return 0
        reply, out = answerer.answer(request, arrays)
        send(outgoing, reply, out)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
