"""A dnn_misc of our modules that notes what a driver does with it: each module made, and each call.

Its classes are our dnn_misc.py's, each wrapped so that making a module notes its class and
arguments, and each forward and backward call notes its arguments and its result. Whether a
call got what the network's wiring gives it is decided later (driver.py), by which call
produced each argument: arrays are told apart by identity, and all are kept alive meanwhile.

Where a call got another array than the wiring's, the recorder also makes it, on a copy of the
module, with the wiring's array, and notes whether the two came out the same: a deviation that
changes nothing (conv_layer.backward given its output in place of its input, of the same shape)
is then told apart from one that does.
"""
import copy
import inspect
import types

import numpy as np

CLASSES = ['linear_layer', 'relu', 'dropout', 'conv_layer', 'max_pool', 'flatten_layer',
           'softmax_cross_entropy', 'sigmoid_cross_entropy']


class Built:
    """One module made: its class name, its arguments by name, the module, and its name once known."""

    def __init__(self, kind, arguments, module):
        self.kind, self.arguments, self.module, self.name = kind, arguments, module, None

    def signature(self):
        """e.g. conv_layer(num_input=25, num_output=25, filter_len=3, stride=1)"""
        return f"{self.kind}({', '.join(f'{k}={v!r}' for k, v in self.arguments.items())})"


class Call:
    """One forward or backward call: the module made, the method, its arguments and its result."""

    def __init__(self, built, method, args, kwargs, result):
        self.built, self.method, self.args, self.kwargs, self.result = built, method, args, kwargs, result
        self.same_as_wired = None  # with another array than the wiring's: whether that one gives the same
        self.raised = None  # the error it raised, if it did


class Recorder:
    """The notes of one run. `wiring(call)`, when set, names the array the network's wiring gives
    a call at each array argument (or None), for the comparison on a copy."""

    def __init__(self, real):
        self.real = real
        self.built, self.calls = [], []
        self.wiring = None

    def dnn_misc(self):
        """A module object for dnn_misc: our functions, and our classes wrapped."""
        recorded = types.ModuleType('dnn_misc')
        for name, value in vars(self.real).items():
            if not name.startswith('__'):
                setattr(recorded, name, value)
        for name in CLASSES:
            setattr(recorded, name, self._wrapped(getattr(self.real, name)))
        return recorded

    def _wrapped(self, cls):
        recorder = self
        parameters = inspect.signature(cls.__init__)

        class Recorded(cls):
            def __init__(module, *args, **kwargs):
                super().__init__(*args, **kwargs)
                bound = parameters.bind(module, *args, **kwargs).arguments
                arguments = {k: v for k, v in list(bound.items())[1:]}  # all but self
                recorder.built.append(Built(cls.__name__, arguments, module))

            def forward(module, *args, **kwargs):
                return recorder._call(module, 'forward', super().forward, args, kwargs)

            def backward(module, *args, **kwargs):
                return recorder._call(module, 'backward', super().backward, args, kwargs)

        Recorded.__name__ = Recorded.__qualname__ = cls.__name__
        return Recorded

    def _call(self, module, method, function, args, kwargs):
        built = next(b for b in self.built if b.module is module)
        wired = self.wiring(built, method) if self.wiring else None
        deviates = wired is not None and any(w is not None and w is not a for w, a in zip(wired, args))
        before = copy.deepcopy(module) if deviates else None
        call = Call(built, method, args, kwargs, None)
        try:
            call.result = function(*args, **kwargs)
        except Exception as error:
            call.raised = short(f'{type(error).__name__}: {error}')
            raise
        finally:
            self.calls.append(call)
        if deviates:
            call.same_as_wired = _same_with(before, method, args, kwargs, wired, call.result, module)
        return call.result


def short(text, limit=160):
    """An error's text cut to one readable line."""
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _same_with(module, method, args, kwargs, wired, result, after):
    """Whether `module` (a copy from before the call) gives the same result and gradients when
    called with the wiring's arrays in place of the ones it got."""
    args = [w if w is not None else a for w, a in zip(wired, args)] + list(args[len(wired):])
    try:
        again = getattr(type(module).__mro__[1], method)(module, *args, **kwargs)
    except Exception:
        return False
    if not _equal(again, result):
        return False
    return all(_equal(module.gradient[key], after.gradient[key]) for key in getattr(after, 'gradient', {}))


def _equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and np.array_equal(a, b))
    return a == b
