"""In the student process, the dnn_misc that a driver imports when the checker runs it (client.py's
run_driver): its classes make nothing and compute nothing here. Each module made, each forward and
backward call and each add_momentum is asked of the checker, which computes it with the recorder's
modules (harness/checker/driver.py) and notes it; the driver gets back arrays of its own.

Arrays the checker gave the driver go back by their numbers when the driver passes them on, so that
the checker sees which result each argument is, as the course's wiring says it should be. A
stand-in module holds its params, which the driver's update changes in place and which go with each
of its calls, and the gradient of its last backward. Like client.py, it imports nothing of ours but
messages.py, the channel's format, beside it.
"""
import os
import runpy
import sys
import traceback
import types

import numpy as np

import messages


class StandIn:
    """A module the driver made, by the number the checker knows it by."""
    stand_in_number = None


class Driver:
    """One run of a driver, over the channel: `send(header, arrays)` and `receive()`."""

    def __init__(self, send, receive):
        self.send, self.receive = send, receive
        self.numbered = {}  # id: (number, array) of each array the checker gave, kept alive so ids stay unique

    def run(self, op):
        """Run the driver at op['path'] as a script in op['cwd'] (what it prints goes nowhere); the error
        it stopped with: None, or 'NameError: ... at dnn_cnn_2.py:120'."""
        path = os.path.abspath(op['path'])
        dnn_misc = types.ModuleType('dnn_misc')
        dnn_misc.np = np
        for kind in op['classes']:
            setattr(dnn_misc, kind, self.stand_in(kind))
        for name in op['functions']:
            setattr(dnn_misc, name, lambda *args, name=name: self.ask({'op': 'function', 'name': name,
                                                                       'args': list(args)}))
        sys.modules['dnn_misc'], sys.argv, error = dnn_misc, [path, *op['argv']], None
        sys.path.insert(0, os.path.dirname(path))
        try:
            os.chdir(op['cwd'])
            runpy.run_path(path, run_name='__main__')
        except SystemExit as stop:
            if stop.code not in (None, 0):
                error = stop.code if isinstance(stop.code, str) else f'SystemExit: {stop.code}'
        except Exception as failure:
            lines = [f for f in traceback.extract_tb(failure.__traceback__) if os.path.abspath(f.filename) == path]
            where = f' at {os.path.basename(path)}:{lines[-1].lineno}' if lines else ''
            error = ' '.join(f'{type(failure).__name__}: {failure}'.split())[:160] + where
        return error

    def stand_in(self, kind):
        """The class that stands for the course's `kind`."""
        driver = self

        class Module(StandIn):
            def __init__(self, *args, **kwargs):
                made = driver.ask({'op': 'make', 'class': kind, 'args': list(args), 'kwargs': kwargs})
                self.stand_in_number = made['number']
                for name in ('params', 'gradient'):
                    if name in made:
                        setattr(self, name, made[name])

            def forward(self, *args, **kwargs):
                return driver.call(self, 'forward', args, kwargs)

            def backward(self, *args, **kwargs):
                return driver.call(self, 'backward', args, kwargs)

        Module.__name__ = Module.__qualname__ = kind
        return Module

    def call(self, module, method, args, kwargs):
        """A stand-in's call, made in the checker with the module's params as the driver left them."""
        op = {'op': 'call', 'of': module.stand_in_number, 'method': method, 'args': list(args), 'kwargs': kwargs}
        if hasattr(module, 'params'):
            op['params'] = module.params
        answer = self.ask(op)
        if 'gradient' in answer:
            module.gradient = answer['gradient']
        return answer['result']

    def ask(self, op):
        """Ask the checker ({"callback": op}), and wait for its answer ({"answer": ..., "numbers": [[index
        of an array, its number], ...]}), or raise what its module raised ({"raised": [type, message]}):
        the driver's error, at its line. The arrays it gives are new ones of ours, noted by number."""
        out = []
        self.send({'callback': messages.encode(op, out, self.number_of)}, out)
        header, arrays = self.receive()
        if 'raised' in header:
            kind, message = header['raised']
            raise type(kind, (Exception,), {})(message)
        arrays = [np.array(array) for array in arrays]
        for index, number in header['numbers']:
            self.numbered[id(arrays[index])] = (number, arrays[index])
        return messages.decode(header['answer'], arrays)

    def number_of(self, value):
        """The number the checker knows `value` by: an array it gave, a module it made; or None."""
        if isinstance(value, np.ndarray):
            number, array = self.numbered.get(id(value), (None, None))
            return number if array is value else None
        return value.stand_in_number if isinstance(value, StandIn) else None
