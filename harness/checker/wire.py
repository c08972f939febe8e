"""The channel's wire, as the checker reads it: a message is its header's length (8 bytes,
little-endian), the header (JSON), then the bytes of each array the header lists under "arrays"
([dtype, shape] each, in order), an array standing in the JSON as {"$": its number}. client.py
writes the same format on the other side.

Nothing read here is trusted: a header is read up to MAX_HEADER bytes and must be JSON; an array
must be of a numeric dtype, at most MAX_ARRAY bytes, with a shape that its bytes fill; a value is
one of a number, a string, None, an array, a list, a dict and a type's name (Other). Anything else is
Garbled, a FAIL that names the call. Every array is a copy of our own before anything uses it.
"""
import json
import os
import queue
import select
import threading
import time

import numpy as np

DTYPES = {np.dtype(d).str for d in ('?', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8')}
MAX_HEADER = 16 << 20  # bytes of one header
MAX_ARRAY = 1 << 30  # bytes of one array
MAX_DEPTH = 32  # of nested lists and dicts in an answer
PIPE_BYTES = 1 << 20  # Linux's largest pipe for a user, by default


class Garbled(Exception):
    """An answer that is not what the client writes: the message says how."""


class Ended(Exception):
    """The student process ended (or was killed) before answering; the message says how."""


class TimedOut(Exception):
    """No answer within the time limit."""


class Raised(Exception):
    """The submission's code raised: its type, its message, and where in the submission's file."""

    def __init__(self, type_name, message, where):
        super().__init__(message)
        self.type_name, self.where = type_name, where


class Missing:
    """What the submission lacks: its answer when it has no such class, method, attribute, entry or function."""

    def __init__(self, what):
        self.what = what


def missing(value, what):
    """Whether `value` is the answer that the submission has no `what` ('class', 'method', ...)."""
    return isinstance(value, Missing) and value.what == what


class Other:
    """What came back that is no number and no array: only its type's name."""

    def __init__(self, type_name):
        self.type_name = type_name


class Handle:
    """What the student process keeps under a number (a module, a kept result): sent as {"#": number}."""
    number = None


class Numbered:
    """An array given to the driver with its number (Student.keep)."""

    def __init__(self, array, number):
        self.array, self.number = array, number


def encode(value, arrays):
    """`value` as JSON, its arrays appended to `arrays` (each once in a request)."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, Handle):
        return {'#': value.number}
    if isinstance(value, Numbered):  # an array given to a driver, with its number
        arrays.append(np.ascontiguousarray(value.array))
        return {'$': len(arrays) - 1, 'number': value.number}
    if isinstance(value, np.ndarray):  # once per request: a training step's minibatch goes to three calls
        for index, sent in enumerate(arrays[-4:], start=max(0, len(arrays) - 4)):
            if sent is value:
                return {'$': index}
        arrays.append(value if value.flags.c_contiguous else np.ascontiguousarray(value))
        return {'$': len(arrays) - 1}
    if isinstance(value, (list, tuple)):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict):
        return {k: encode(v, arrays) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value

def decode(value, arrays, depth=0):
    """An answer's value as plain data: None, bool, str, float, float64 ndarray, list, dict or Other."""
    if depth > MAX_DEPTH:
        raise Garbled('an answer nested too deep')
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
        if kind == '$' and isinstance(inner, int) and 0 <= inner < len(arrays):
            return arrays[inner]
        if kind == 'seq' and isinstance(inner, list):
            return [decode(v, arrays, depth + 1) for v in inner]
        if kind == 'map' and isinstance(inner, dict):
            return {k: decode(v, arrays, depth + 1) for k, v in inner.items()}
        if kind == 'other' and isinstance(inner, str):
            return Other(inner[:100])
    raise Garbled('an answer that is none of a number, an array, a list, a dict or None')


def decode_call(value, arrays, table, depth=0):
    """A driver's call as data: ints stay ints and arrays keep their dtype; {'#': n} is what was
    numbered n."""
    if depth > MAX_DEPTH:
        raise Garbled('a call nested too deep')
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, list):
        return [decode_call(v, arrays, table, depth + 1) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
        if kind == '$' and isinstance(inner, int) and 0 <= inner < len(arrays):
            return arrays[inner].copy()
        if kind == '#' and isinstance(inner, int) and inner in table:
            return table[inner]
        if kind == 'seq' and isinstance(inner, list):
            return [decode_call(v, arrays, table, depth + 1) for v in inner]
        if kind == 'map' and isinstance(inner, dict):
            return {k: decode_call(v, arrays, table, depth + 1) for k, v in inner.items()}
        if kind == 'other' and isinstance(inner, str):
            return Other(inner[:100])
    if isinstance(value, dict):
        return {k: decode_call(v, arrays, table, depth + 1) for k, v in value.items()}
    raise Garbled('a call with a value that is none of a number, an array, a list, a dict or None')


class Pipe:
    """The two file descriptors of one student process's channel: what we read, what we write.
    Where select() cannot wait on a pipe (Windows), a thread reads it, and read() waits on that."""

    def __init__(self, fd_in, out):
        self.fd_in, self.out = fd_in, out
        self.chunks = None
        if os.name == 'nt':
            self.chunks, self.held = queue.Queue(), b''
            threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        while True:
            try:
                chunk = os.read(self.fd_in, 1 << 20)
            except OSError:
                chunk = b''
            self.chunks.put(chunk)
            if not chunk:
                return

    def send(self, header, arrays):
        """One message, in as few writes as the pipe takes: each wakes the other side."""
        header = dict(header, arrays=[[a.dtype.str, list(a.shape)] for a in arrays])
        text = json.dumps(header).encode()
        parts = [len(text).to_bytes(8, 'little'), text] + [memoryview(a).cast('B') for a in arrays if a.nbytes]
        if not hasattr(os, 'writev'):  # Windows
            parts = [b''.join(parts)]
        while parts:
            done = os.writev(self.out, parts) if hasattr(os, 'writev') else os.write(self.out, parts[0])
            while parts and done >= len(parts[0]):
                done -= len(parts[0])
                parts.pop(0)
            if parts and done:
                parts[0] = memoryview(parts[0])[done:]

    def read(self, size, deadline):
        """`size` bytes, or TimedOut past `deadline`, or EOFError if the process ended first."""
        if self.chunks is not None:
            return self._read_queued(size, deadline)
        data = bytearray(size)
        view, done = memoryview(data), 0
        while done < size:
            if not select.select([self.fd_in], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimedOut
            got = os.readv(self.fd_in, [view[done:]])
            if got == 0:
                raise EOFError
            done += got
        return data

    def _read_queued(self, size, deadline):
        while len(self.held) < size:
            try:
                chunk = self.chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimedOut from None
            if not chunk:
                self.chunks.put(chunk)  # the end stays the end
                raise EOFError
            self.held += chunk
        data, self.held = bytearray(self.held[:size]), self.held[size:]
        return data

    def receive(self, deadline):
        """(header, [arrays]) of the next message, checked as it is read."""
        size = int.from_bytes(self.read(8, deadline), 'little')
        if size > MAX_HEADER:
            raise Garbled(f'a header of {size} bytes')
        try:
            header = json.loads(self.read(size, deadline))
            specs = header.pop('arrays')
            assert isinstance(specs, list)
        except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError, AssertionError):
            raise Garbled('a header that is not the client\'s JSON') from None
        arrays = []
        for spec in specs:
            if not (isinstance(spec, list) and len(spec) == 2 and spec[0] in DTYPES and isinstance(spec[1], list)
                    and len(spec[1]) <= 8 and all(isinstance(n, int) and n >= 0 for n in spec[1])):
                raise Garbled(f'an array described as {str(spec)[:80]}')
            dtype = np.dtype(spec[0])
            nbytes = int(np.prod(spec[1], dtype=np.int64)) * dtype.itemsize if spec[1] else dtype.itemsize
            if nbytes > MAX_ARRAY:
                raise Garbled(f'an array of {nbytes} bytes')
            raw = self.read(nbytes, deadline)
            arrays.append(np.frombuffer(raw, dtype=dtype).reshape(spec[1]))
        return header, arrays
