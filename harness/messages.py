"""The messages between the checker and the student process: one format, used by both sides. The checker
imports this file; it is copied beside client.py, which imports nothing else of ours. It needs NumPy only.

A message is its header's length (8 bytes, little-endian), the header (JSON), then the bytes of each
array that the header lists under "arrays" ([dtype, shape] each, in order). In the JSON, null, booleans,
numbers, strings and lists stand for themselves, and every object but an operation (encode_op) is a tag of one key: {"$": i} is the
i-th array, {"#": n} what the receiving side keeps under the number n, {"map": {...}} a dict, and
{"other": name} a value of no other kind, by its type's name.

What the checker reads is not trusted (receive, decode): a header of at most MAX_HEADER bytes, arrays
of numeric dtypes only and at most MAX_ARRAY bytes in all as float64, values nested at most MAX_DEPTH
deep, numbers by the name they were kept under, NumPy's random state as NumPy keeps it (state); anything
else is Garbled.
"""
import json
import math
import os

import numpy as np

DTYPES = {np.dtype(d).str for d in ('?', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8')}
MAX_HEADER = 16 << 20  # bytes of one header
MAX_ARRAY = 1 << 30  # bytes of one message's arrays, as float64 (what the checker makes of them)
MAX_DEPTH = 32  # of nested lists and dicts


class Garbled(Exception):
    """What was read is not this format: the message says how."""


class Other:
    """A value that is no number, string, array, list or dict: only its type's name crosses."""

    def __init__(self, type_name):
        self.type_name = type_name


def encode(value, arrays, number_of=lambda value: None):
    """`value` as JSON, its arrays appended to `arrays` (an array already among the last few is sent
    once: a minibatch goes to three calls); number_of(value) is the number the other side keeps it
    under, or None."""
    number = number_of(value)
    if number is not None:
        return {'#': number}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.str in DTYPES:
        for index in range(len(arrays) - 1, max(-1, len(arrays) - 5), -1):
            if arrays[index] is value:
                return {'$': index}
        arrays.append(value if value.flags.c_contiguous else np.ascontiguousarray(value))
        return {'$': len(arrays) - 1}
    if isinstance(value, (list, tuple)):
        return [encode(item, arrays, number_of) for item in value]
    if isinstance(value, dict):
        return {'map': {str(key): encode(item, arrays, number_of) for key, item in value.items()}}
    return {'other': type(value).__name__}


def encode_op(op, arrays, number_of=lambda value: None):
    """An operation of a request: a plain object whose fields are encoded values."""
    return {key: encode(value, arrays, number_of) for key, value in op.items()}


def decode(value, arrays, kept=None, depth=0):
    """A value read from JSON, its arrays taken from `arrays` as they are, {"#": n} as kept[n]."""
    if depth > MAX_DEPTH:
        raise Garbled('a value nested too deep')
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(item, arrays, kept, depth + 1) for item in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        if tag == '$' and type(inner) is int and 0 <= inner < len(arrays):
            return arrays[inner]
        if tag == '#' and type(inner) is int and kept is not None and inner in kept:
            return kept[inner]
        if tag == 'map' and isinstance(inner, dict):
            return {key: decode(item, arrays, kept, depth + 1) for key, item in inner.items()}
        if tag == 'other' and isinstance(inner, str):
            return Other(inner[:100])
    raise Garbled('a value that is none of a number, a string, an array, a list, a dict or None')


def send(fd, header, arrays):
    """One message, in as few writes as the pipe takes: each wakes the other side."""
    header = dict(header, arrays=[[a.dtype.str, list(a.shape)] for a in arrays])
    text = json.dumps(header).encode()
    parts = [len(text).to_bytes(8, 'little'), text] + [memoryview(a).cast('B') for a in arrays if a.nbytes]
    if not hasattr(os, 'writev'):  # Windows
        parts = [b''.join(parts)]
    while parts:
        done = os.writev(fd, parts) if hasattr(os, 'writev') else os.write(fd, parts[0])
        while parts and done >= len(parts[0]):
            done -= len(parts[0])
            parts.pop(0)
        if parts and done:
            parts[0] = memoryview(parts[0])[done:]


def read_exactly(fd, size):
    """`size` bytes from fd; EOFError if it ends first."""
    data = bytearray(size)
    view, done = memoryview(data), 0
    while done < size:
        chunk = os.read(fd, size - done)
        if not chunk:
            raise EOFError
        view[done:done + len(chunk)] = chunk
        done += len(chunk)
    return data


def receive(read):
    """(header, [arrays]) of the next message, checked as it is read; read(size) gives size bytes."""
    size = int.from_bytes(read(8), 'little')
    if size > MAX_HEADER:
        raise Garbled(f'a header of {size} bytes')
    try:
        header = json.loads(read(size))
        specs = header.pop('arrays')
        assert isinstance(specs, list)
    except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError, AssertionError, RecursionError):
        raise Garbled('a header that is not JSON with its arrays') from None
    for spec in specs:
        if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str) and spec[0] in DTYPES
                and isinstance(spec[1], list) and len(spec[1]) <= 8 and all(type(n) is int and n >= 0 for n in spec[1])):
            raise Garbled(f'an array described as {str(spec)[:80]}')
    elements = sum(math.prod(shape) for _, shape in specs)
    if elements * 8 > MAX_ARRAY:
        raise Garbled(f'arrays of {elements} numbers in one message')
    return header, [np.frombuffer(read(math.prod(shape) * np.dtype(dtype).itemsize), dtype=dtype).reshape(shape)
                    for dtype, shape in specs]


def state(arrays):
    """NumPy's random state as it crosses, its keys appended to `arrays`."""
    _, keys, position, has_gauss, cached = np.random.get_state()
    return [encode(keys, arrays), int(position), int(has_gauss), float(cached)]


def set_state(value, arrays):
    """Make `value` (state's) NumPy's random state, or raise Garbled if it is not one."""
    try:
        keys, position, has_gauss, cached = value
        keys = decode(keys, arrays)
        assert isinstance(keys, np.ndarray) and keys.shape == (624,) and np.all((keys >= 0) & (keys < 2 ** 32))
        assert type(position) is int and 0 <= position <= 624 and has_gauss in (0, 1) and math.isfinite(cached)
        np.random.set_state(('MT19937', keys.astype(np.uint32), position, has_gauss, float(cached)))
    except (AssertionError, TypeError, ValueError, OverflowError):
        raise Garbled('a random state that is not NumPy\'s') from None
