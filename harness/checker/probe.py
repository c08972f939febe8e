"""What every check uses: call a student's module as the drivers do, compare what it gives, say where it failed.

A check is a function of the probe. It raises `Failed` with the line to print, or returns a short note
(its largest error) for a PASS; `probe.warn` turns a PASS into a WARN, for deviations the course's
pipeline tolerates.
"""
import importlib.util
import os
import sys
from typing import Callable, NamedTuple

import numpy as np

from harness.checker.process import Garbled, missing

TOLERANCE = 1e-6


def import_file(name, path, register=False):
    """The module in the Python file at `path`, imported under `name`; with `register`, entered in
    sys.modules before it runs, so that what imports `name` meanwhile gets it."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Failed(Exception):
    """A check failed; the message says what and where."""


class Check(NamedTuple):
    """One check: the module it names, what it checks, the function of the probe that checks it, its
    kind ('module', 'pipeline' or 'driver', which sets its time limit) and the TODOs it covers."""
    module: str
    name: str
    run: Callable
    kind: str = 'module'
    todos: tuple = ()


def numerical_gradient(f, x, h=1e-6):
    """Centred differences of the scalar f() with respect to every entry of x, perturbed in place."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        plus = f()
        x[i] = saved - h
        minus = f()
        x[i] = saved
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b):
    """max |a - b| over max(|a| + |b|): the error relative to the size of the whole array.

    An entry-by-entry ratio would blow up for entries near zero, where the
    finite differences' rounding error is as large as the entry itself.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f'shapes {a.shape} and {b.shape} differ')
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(a) + np.abs(b))
    if not np.isfinite(scale):  # a NaN or an infinity is wrong however large the rest
        return float('inf')
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else 0.0


class Probe:
    """One check's calls into a student's modules, in the student process (RemoteCode), and the
    warnings they earned."""

    def __init__(self, code, path, limit=10.0, modules=None):
        self.code = code
        self.path = os.path.abspath(path)
        self.limit, self.modules = limit, modules  # a driver's check: its time limit, the dnn_misc.py to train with
        self.warnings = []

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def make(self, class_name, *args):
        """An instance of the student's class, or FAIL naming what is missing."""
        module = self.code.make(class_name, args)
        if module is None:
            raise Failed(f'{os.path.basename(self.path)} has no class {class_name}')
        return module

    def call(self, obj, label, method, *args, **kwargs):
        """obj.method(*args, **kwargs), on arrays of its own; WARN if it changed one in place."""
        answer = self.code.call(obj, method, args, kwargs, back_args=True)
        if missing(answer, 'method'):
            raise Failed(f'{label} has no method {method}')
        if not (isinstance(answer, tuple) and len(answer) == 3):
            raise Garbled(f'an answer to {label}.{method} that is not its result')
        result, after, names = answer
        after = after if isinstance(after, list) else []
        for index, (sent, changed) in enumerate(zip(args, after)):
            if isinstance(sent, np.ndarray) and not (isinstance(changed, np.ndarray) and changed.shape == sent.shape
                                                     and np.array_equal(changed, sent)):
                name = names[index] if index < len(names) else f'number {index + 1}'
                self.warn(f"{label}.{method} changed its argument {name} in place (its results are right, and the "
                          f"drivers never use that argument again, so the course's pipeline gives the same numbers)")
        return result

    def value(self, obj, method, *args, **kwargs):
        """obj.method(*args, **kwargs), with no questions asked: a finite difference's forward."""
        answer = self.code.call(obj, method, args, kwargs)
        if missing(answer, 'method'):
            raise Failed(f'{obj.kind} has no method {method}')
        return answer

    def attribute(self, obj, label, name, key=None, default=Failed):
        """obj.name (or obj.name[key]), or FAIL naming what is missing (or `default`, when it has no `name`)."""
        value = self.code.get(obj, name, key)
        if missing(value, 'attribute'):
            if default is not Failed:
                return default
            raise Failed(f'{label} has no attribute {name}')
        if missing(value, 'entry'):
            raise Failed(f'{label}.{name} has no entry {key!r}')
        return value

    def set(self, obj, label, name, key, value, in_place=False):
        """obj.name[key] = value; with in_place, into the array it holds there (finite differences
        perturb a parameter as the drivers update it, in place)."""
        if missing(self.code.set(obj, name, key, value, in_place), 'attribute'):
            raise Failed(f'{label} has no attribute {name}')

    def compare(self, what, got, expected, flat_ok=False, tolerance=TOLERANCE, named=None):
        """FAIL unless `got` has expected's shape and values; with flat_ok, shape (D,) for (1, D) is a WARN.
        named: a function of (got, expected) that names the likeliest mistake, in words, or gives None
        (mistakes.naming); a FAIL it names says so after what is off."""
        expected = np.asarray(expected, dtype=float)
        if got is None:
            raise Failed(f'{what} is None, expected an array of shape {expected.shape}')
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            kind = getattr(got, 'type_name', type(got).__name__)
            raise Failed(f'{what} is a {kind}, expected an array of shape {expected.shape}') from None
        if got.shape != expected.shape:
            flat = flat_ok and expected.ndim == 2 and expected.shape[0] == 1 and got.shape == expected.shape[1:]
            if flat:
                error = relative_error(got.reshape(expected.shape), expected)
                if error < tolerance:
                    self.warn(f"{what} has shape {got.shape}, not {expected.shape}; its values are right, and the "
                              f"course's update broadcasts it, so the pipeline gives the same numbers")
                    return error
            plain = f'has shape {got.shape}, expected {expected.shape}'
            if flat:  # a shape the course tolerates: what is wrong is its values
                raise Failed(f"{what} {_named(named, got.reshape(expected.shape), expected, 'is wrong', plain)}")
            raise Failed(f'{what} {_named(named, got, expected, plain, plain)}')
        error = relative_error(got, expected)
        if not error < tolerance:
            plain = f'is wrong: max relative error {error:.2e}'
            raise Failed(f"{what} {_named(named, got, expected, 'is wrong', plain)}")
        return error

    def where(self, error):
        """' at FILE:LINE (in FUNCTION)' where the student's code raised `error`, as the student
        process saw it, else ''."""
        return getattr(error, 'where', '')


def _named(named, got, expected, head, plain):
    """'head: the mistake named' when `named` names one, else `plain`; a failure to name one is `plain`."""
    try:
        words = named(got, expected) if named else None
    except Exception:
        words = None
    return f'{head}: {words}' if words else plain
