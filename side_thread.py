"""A second thread for a layer's parameter gradients while this one goes on down the backward chain.

In a backward pass, a convolution's weight gradient is one matrix product that
nothing below the layer needs: only the SGD step, after the whole chain. NumPy
multiplies matrices without holding Python's global lock, so in another thread
that product runs on the second CPU, at full speed, while this thread computes
the gradient with respect to the layer's input and the layers below it. The
numbers are the very same: each half of the backward pass does what it did,
only at the same time (conv_layer.parameter_gradients and input_gradient).

Only while the second CPU is free: train() evaluates each epoch there while the
next one trains, and a side thread beside that evaluation slows training down.
"""
import queue
import threading
from contextlib import contextmanager
from functools import partial


class InLine:
    """A backward pass with no side thread: each module's backward, here, in order."""

    @contextmanager
    def backward(self, module, X, grad):
        """Yields module.backward(X, grad): dL/dX, the module's parameter gradients stored."""
        yield module.backward(X, grad)

    def close(self):
        pass


IN_LINE = InLine()


class SideThread(InLine):
    """One thread beside this one, for the parameter gradients of one module at a time.

    cpu_free() tells, before each module, whether the second CPU is free for it; when it is
    not, or the module (a student's) has a backward only, the module runs in line.
    """

    def __init__(self, cpu_free=lambda: True):
        self._cpu_free = cpu_free
        self._jobs, self._done = queue.SimpleQueue(), queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name='parameter gradients', daemon=True)
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
    def backward(self, module, X, grad):
        """Yields dL/dX of module.backward(X, grad) while its parameter gradients are computed on the
        side thread; they are stored when the block ends (an error there is raised then)."""
        halves = getattr(module, 'parameter_gradients', None), getattr(module, 'input_gradient', None)
        if None in halves or not self._cpu_free():
            yield module.backward(X, grad)
            return
        parameter_gradients, input_gradient = halves
        self._jobs.put(partial(parameter_gradients, X, grad))
        try:
            yield input_gradient(X, grad)
        finally:
            error = self._done.get()  # whatever happened here, the side thread is done with X and grad
        if error is not None:
            raise error

    def close(self):
        """End the thread, once its job, if any, is done."""
        self._jobs.put(None)
        self._thread.join()
