"""A second thread for single big NumPy calls that the layers next to them do not need.

In a backward pass, a convolution's weight gradient is one matrix product that
nothing below the layer needs: only the SGD step, after the whole chain. NumPy
multiplies matrices without holding Python's global lock, so in another thread
that product runs on the second CPU, at full speed, while this thread computes
the gradient with respect to the layer's input and the layers below it
(conv_layer.parameter_gradients and input_gradient). Likewise in a forward
pass, dropout's draws (one call to the generator, which also lets go of the
lock) need nothing from the layers before it, which draw nothing
(dropout.draw_ahead). The numbers are the very same: each call does what it
did, in the same order of draws, only at the same time as others.

train() evaluates each epoch on the second CPU while the next one trains, in a
process niced below training (dnn_evaluation.NICENESS): the system gives the
CPU over to this thread the moment it has a job. Beside an evaluation at
training's own priority (a thread, where there is no fork), a side thread
only slows training down, and all runs in line.
"""
import queue
import threading
from contextlib import contextmanager
from functools import partial


class InLine:
    """Both passes with no side thread: everything here, in order."""

    @contextmanager
    def beside(self, function, *args):
        """Runs function(*args), then the block."""
        function(*args)
        yield

    @contextmanager
    def backward(self, module, X, grad):
        """Yields dL/dX of module.backward(X, grad), the module's parameter gradients stored when the
        block ends: computed beside it when the module has the two halves of a backward
        (conv_layer.parameter_gradients and input_gradient); else the module's backward, in line."""
        halves = getattr(module, 'parameter_gradients', None), getattr(module, 'input_gradient', None)
        if None in halves:
            yield module.backward(X, grad)
            return
        parameter_gradients, input_gradient = halves
        with self.beside(parameter_gradients, X, grad):
            yield input_gradient(X, grad)

    @contextmanager
    def drawing(self, module, shape, is_train):
        """The block, and beside it (with a side thread) the draws of module's next training forward,
        on an input of `shape` (dropout.draw_ahead): nothing before that forward may draw."""
        yield

    def close(self):
        pass


IN_LINE = InLine()


class SideThread(InLine):
    """One thread beside this one, for one job at a time.

    cpu_free() tells, before each job, whether the second CPU is free for it; when it is not,
    or a module (a student's) has no halves of a backward or no draw_ahead, all runs in line.
    """

    def __init__(self, cpu_free=lambda: True):
        self._cpu_free = cpu_free
        self._jobs, self._done = queue.SimpleQueue(), queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name='side thread', daemon=True)
        self._thread.start()

    def _serve(self):
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except BaseException as error:  # raised again in the thread that waits for the job
                self._done.put(error)
            else:
                self._done.put(None)

    @contextmanager
    def beside(self, function, *args):
        """Runs function(*args) on the side thread while the block runs here, and waits for it when
        the block ends (raising its error, if any); while the CPU is not free, runs it first, in line."""
        if not self._cpu_free():
            with super().beside(function, *args):
                yield
            return
        self._jobs.put(partial(function, *args))
        try:
            yield
        finally:
            error = self._done.get()  # whatever happened here, the side thread is done with the arguments
        if error is not None:
            raise error

    @contextmanager
    def drawing(self, module, shape, is_train):
        draw_ahead = getattr(module, 'draw_ahead', None)
        if not is_train or draw_ahead is None:
            yield
            return
        with self.beside(draw_ahead, shape):
            yield

    def close(self):
        """End the thread, once its job, if any, is done."""
        self._jobs.put(None)
        self._thread.join()
