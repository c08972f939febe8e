"""The submission's code as the checks call it: its modules, made and called in its student process
(process.py), and the drivers' SGD run there over them.

A check's call waits for its answer. A pipeline's calls do not: its modules' forward and backward
calls are queued, their results kept in the student process under numbers (Kept), and each training
step goes as one request with its update, without waiting; what a step kept is released with it.
"""
from harness import messages
from harness.checker.process import Missing, StudentProcess


class Kept:
    """A result kept in the student process under its number; values() fetches it."""

    def __init__(self, number):
        self.number = number


class RemoteModule(Kept):
    """A module made in the student process: its number there and its class's name. Its forward and
    backward calls are queued (a pipeline's), their results Kept."""

    def __init__(self, code, number, kind):
        object.__setattr__(self, 'code', code)
        super().__init__(number)
        self.kind = kind

    def forward(self, *args, **kwargs):
        return self.code.queue_call(self, 'forward', args, kwargs)

    def backward(self, *args, **kwargs):
        return self.code.queue_call(self, 'backward', args, kwargs)

    def __setattr__(self, name, value):
        """An attribute set on the module (training sets `input_is_data` on the first) is set there too."""
        if name not in ('number', 'kind'):
            self.code.queue({'op': 'setattr', 'of': self.number, 'name': name, 'value': value})
        object.__setattr__(self, name, value)


def number_of(value):
    return value.number if isinstance(value, Kept) else None


class RemoteCode:
    """The code of the submission file at `path`, in a student process of its own (see StudentProcess)."""

    def __init__(self, path, limit=10.0):
        self.process = StudentProcess(path, limit)
        self.path = self.process.path
        self.queued, self.queued_arrays = [], []  # operations sent with the next request, and their arrays
        self.calls = []  # the queued calls since the last release: (module, method, args, the number of the result)

    def close(self):
        self.process.close()

    def request(self, ops, wait=True):
        """Send the queued operations, then `ops`; the answers to `ops`."""
        arrays, queued = self.queued_arrays, self.queued
        self.queued, self.queued_arrays = [], []
        answers = self.process.request(queued + [messages.encode_op(op, arrays, number_of) for op in ops], arrays, wait)
        return answers and answers[len(queued):]

    def queue(self, op):
        """Send `op` with the next request, encoded now, with the arrays as they are now."""
        self.queued.append(messages.encode_op(op, self.queued_arrays, number_of))

    def queue_call(self, module, method, args, kwargs):
        """A call whose result stays in the student process (Kept), sent with the next request."""
        kept = Kept(self.process.new_number())
        self.queue({'op': 'call', 'of': module.number, 'method': method, 'args': list(args), 'kwargs': kwargs,
                    'as': kept.number})
        self.calls.append((module, method, args, kept.number))
        return kept

    def values(self, kept):
        """The values of these Kept results; they and every call's result are then released."""
        numbers, calls, self.calls = [k.number for k in kept], self.calls, []
        return self.request([{'op': 'values', 'of': numbers},
                             {'op': 'release', 'of': numbers + [number for *_, number in calls]}])[0]

    def load(self):
        self.request([{'op': 'load', 'path': self.path}])

    def make(self, kind, args=(), kwargs=None):
        """A module of the submission's class `kind`, or None if it has none."""
        module = RemoteModule(self, self.process.new_number(), kind)
        answer = self.request([{'op': 'make', 'class': kind, 'args': list(args), 'kwargs': kwargs or {},
                                'as': module.number}])[0]
        return None if isinstance(answer, Missing) else module

    def make_object(self, **attributes):
        """A plain object with these attributes in the student process (a module as add_momentum reads it)."""
        made = Kept(self.process.new_number())
        self.request([{'op': 'object', 'attributes': attributes, 'as': made.number}])
        return made

    def call(self, module, method, args=(), kwargs=None, back_args=False):
        """The result of module.method(*args, **kwargs); with back_args, also (the arguments after the
        call, the method's parameter names). Missing('method') if it has no such method."""
        return self.request([{'op': 'call', 'of': module.number, 'method': method, 'args': list(args),
                              'kwargs': kwargs or {}, 'back_args': back_args}])[0]

    def get(self, module, name, key=None):
        op = {'op': 'get', 'of': module.number, 'name': name}
        return self.request([op if key is None else dict(op, key=key)])[0]

    def set(self, module, name, key, value, in_place=False):
        """module.name[key] = value, or with in_place its array's values; Missing if it has no `name`."""
        return self.request([{'op': 'set', 'of': module.number, 'name': name, 'key': key, 'value': value,
                              'in_place': in_place}])[0]

    def function(self, module, name, args):
        """module.name(*args), module 'dnn_misc' (the submission) or 'dnn_im2col' (the one beside it)."""
        return self.request([{'op': 'function', 'module': module, 'name': name, 'args': list(args)}])[0]

    def optimizer(self, model, learning_rate, alpha, lambda_):
        """Make the drivers' SGD (harness/sgd.py) over the model's modules in the student process: the
        parameters, their gradients and the velocities never cross."""
        self.queue({'op': 'optimizer', 'args': [model, learning_rate, alpha, lambda_]})

    def step(self, learning_rate, first_input=None):
        """One update of that SGD, with the training step's queued calls, sent without waiting; what the
        step kept is released with it."""
        calls, self.calls = self.calls, []
        self.request([{'op': 'step', 'args': [] if first_input is None else [first_input],
                       'learning_rate': learning_rate}, {'op': 'release', 'of': [number for *_, number in calls]}],
                     wait=False)
