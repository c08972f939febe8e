"""The checker's end of the channel to one student process (harness/client.py), where the submission's
code runs: start it, send it requests, take back its answers as plain data.

Nothing that comes back is trusted: messages.py reads each message within set sizes, every array of an
answer becomes a float64 copy of our own before anything looks at it (a driver's calls keep their
dtypes: driver.Host), and an answer that is not what the client writes is Garbled, a FAIL that names
the call. A time limit holds each answer (`deadline`): past it, or when the process ends, the call
fails and the process is killed.
"""
try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
import os
import queue
import select
import shutil
import threading
import time

import numpy as np

from harness import messages
from harness.checker import launch
from harness.messages import Garbled

PIPE_BYTES = 1 << 20  # Linux's largest pipe for a user, by default: a training step's message whole
MAX_POSTED = 2  # requests sent without waiting whose answers are not yet taken


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


class Pipe:
    """What we read from one student process, with a deadline. Where select() cannot wait on a pipe
    (Windows), a thread reads it, and read() waits on that."""

    def __init__(self, fd):
        self.fd, self.chunks = fd, None
        if os.name == 'nt':
            self.chunks, self.held = queue.Queue(), b''
            threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        while True:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except OSError:
                chunk = b''
            self.chunks.put(chunk)
            if not chunk:
                return

    def read(self, size, deadline):
        """`size` bytes, or TimedOut past `deadline`, or EOFError if the process ended first."""
        if self.chunks is not None:
            return self._read_queued(size, deadline)
        data = bytearray(size)
        view, done = memoryview(data), 0
        while done < size:
            if not select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimedOut
            got = os.readv(self.fd, [view[done:]])
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


class StudentProcess:
    """The student process for the submission file at `path`, started at once; each answer is due by
    `deadline`. In the sandbox it sees the file's folder, `writable` folders and what it is shipped.
    `serve(callback, arrays)`, when set, answers the calls a driver it runs makes (driver.py)."""

    def __init__(self, path, limit=10.0, writable=()):
        self.path, self.deadline = os.path.abspath(path), time.monotonic() + limit  # the runner sets each check's
        self.numbers, self.posted, self.stream_away, self.serve = 0, [], False, None
        self.out_of_step = False  # after a garbled answer: the checks go on in a new process
        to_client, self.out = os.pipe()
        fd_in, from_client = os.pipe()
        self.pipe = Pipe(fd_in)
        for fd in (self.out, fd_in):  # a training step's message whole in the pipe: no ping-pong by pages
            try:
                fcntl.fcntl(fd, getattr(fcntl, 'F_SETPIPE_SZ', 1031), PIPE_BYTES)
            except (OSError, AttributeError):  # not Linux; no fcntl at all (Windows)
                pass
        self.process, self.shipped = launch.start(self.path, to_client, from_client, writable)
        os.close(to_client)
        os.close(from_client)

    def close(self):
        """Kill the process and all it started, and remove what it was shipped."""
        for fd in (self.pipe.fd, self.out):
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
        shutil.rmtree(self.shipped, ignore_errors=True)

    def how_it_ended(self):
        self.process.kill()
        status = self.process.wait()
        return f'killed by signal {-status}' if status < 0 else f'exit status {status}'

    def new_number(self):
        """A number that nothing in the process is kept under yet."""
        self.numbers += 1
        return self.numbers

    def send(self, header, arrays):
        messages.send(self.out, header, arrays)

    def request(self, ops, arrays, wait=True):
        """Send `ops` (encoded, their arrays in `arrays`); return their answers, each a value, None or
        Missing(what), in order. Raises Raised, Garbled, Ended or TimedOut.

        NumPy's random state goes with a request when the checker holds the stream, and comes back
        with the answer. With wait=False (a training step) the request goes without waiting, so that
        the checker makes the next one while the student process computes; the stream then stays
        there until the next request that waits, which first takes every answer still due."""
        header = {'ops': ops, 'want_state': wait}
        if not self.stream_away:
            header['random_state'] = messages.state(arrays)
        try:
            self.send(header, arrays)
            if not wait:
                self.stream_away = True
                self.posted.append(ops)
                self._raise(self._collect(MAX_POSTED))
                return None
            failure = self._collect(0)
            if not isinstance(failure, Garbled):
                answers = self._answers(ops, take_state=True)  # this request's reply, read even after a failure
        except (BrokenPipeError, EOFError):
            raise Ended(self.how_it_ended()) from None
        except Garbled:
            self.out_of_step = True
            raise
        self._raise(failure)
        return answers

    def _raise(self, failure):
        """Raise `failure`, if any; a garbled answer leaves the channel out of step (`out_of_step`)."""
        if isinstance(failure, Garbled):
            self.out_of_step = True
        if failure:
            raise failure

    def _collect(self, left):
        """Take the answers of the requests sent without waiting, until at most `left` are due; on one
        that failed, take all of them. Returns the first failure, or None."""
        failure = None
        while len(self.posted) > left:
            try:
                self._answers(self.posted.pop(0), missing_ok=False)
            except (Raised, Garbled) as error:
                failure, left = failure or error, 0
                if isinstance(error, Garbled):
                    break  # what follows in the pipe cannot be told apart
        return failure

    def _answers(self, ops, take_state=False, missing_ok=True):
        reply, arrays = self._next_reply()
        if not (isinstance(reply, dict) and isinstance(reply.get('answers'), list) and len(reply['answers']) <= len(ops)):
            raise Garbled('an answer that is not a list of answers')
        if take_state:
            messages.set_state(reply.get('random_state'), arrays)
            self.stream_away = False
        results = [answer_of(op, answer, arrays, missing_ok) for op, answer in zip(ops, reply['answers'])]
        if len(results) < len(ops):
            raise Garbled(f'no answer to {ops[len(results)]["op"]}')
        return results

    def _next_reply(self):
        """The next reply, (header, [float64 arrays]), after serving the driver's calls that come first."""
        while True:
            header, arrays = messages.receive(lambda size: self.pipe.read(size, self.deadline))
            if not (isinstance(header, dict) and 'callback' in header and self.serve):
                return header, [array.astype(np.float64) for array in arrays]
            self.serve(header['callback'], arrays)


def answer_of(op, answer, arrays, missing_ok=True):
    """One operation's answer as plain data: None, a value, Missing, or (result, arguments after the
    call, parameter names) for a call with back_args; raises Raised, or Garbled."""
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
    result = messages.decode(answer['result'], arrays)
    if op.get('back_args'):
        names = answer.get('names')
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            names = []
        return result, messages.decode(answer.get('args'), arrays), [n[:100] for n in names]
    return result
