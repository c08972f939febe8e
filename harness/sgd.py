"""Minibatch SGD with momentum and weight decay, over a model dict, as the course's drivers update."""
import numpy as np


class SGD:
    """For each parameter of each module, in the model dict's order: g = gradient + lambda * param;
    with alpha > 0, v = alpha * v - lr * g and param += v; with alpha = 0, param -= lr * g.
    Velocities start at zero (`add_momentum`: the course's, of the dnn_misc.py the drivers import,
    unless one is given; imported only then, so that the checker never loads that file)."""

    # Where a gradient stays zero (behind a unit that relu keeps off), a velocity decays by alpha at
    # every step into the subnormal numbers, below 2^-1022, which the CPU multiplies about a hundred
    # times more slowly, and stays there: after 7 epochs of Q3.8 the SGD step took 4 times as long.
    # So every FLUSH_EVERY steps velocities below FLUSH_BELOW become zero, which changes no parameter:
    # adding a number below 2^-900 to one above 1e-255 leaves it as it is.
    FLUSH_EVERY, FLUSH_BELOW = 100, 2.0 ** -900

    def __init__(self, model, learning_rate, alpha=0.0, lambda_=0.0, add_momentum=None):
        if add_momentum is None:
            from dnn_misc import add_momentum
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.lambda_ = lambda_
        self._steps = 0
        velocity = add_momentum(model)
        # One scratch array per parameter holds lr * g, so that a step allocates nothing. A velocity
        # is updated in place in its parameter's shape: the course's add_momentum shapes it as the
        # gradient, and a bias gradient of shape (D,) for a (1, D) bias is tolerated (a WARN).
        self._slots = [(module, key, velocity[name + '_' + key].reshape(param.shape), np.empty_like(param))
                       for name, module in model.items() if hasattr(module, 'params')
                       for key, param in module.params.items()]

    def step(self, first_input=None):
        """Update every parameter in place from the gradients of the last backward pass.

        first_input: None, or the minibatch (N, D) that the first module, a linear layer, was
        given. Its gradient's row is zero under every column of zeros, so with alpha = lambda = 0
        only the rows under nonzero columns change.
        """
        first_rows = None
        if first_input is not None and self.alpha == 0.0 and self.lambda_ == 0.0:
            first_rows = nonzero_column_runs(first_input)
        for number, (module, key, velocity, lr_g) in enumerate(self._slots):
            param, g = module.params[key], module.gradient[key]
            if number == 0 and first_rows is not None:
                for part in first_rows:  # elsewhere param -= lr * 0 would leave param as it is
                    # lr * g goes into the scratch's first rows, the same few each time, which stay
                    # in the cache: 0.6 ms a step of Q3.3 became 0.4 (bench/RESULTS.md).
                    rows = part.stop - part.start
                    param[part] -= np.multiply(self.learning_rate, g[part], out=lr_g[:rows])
                continue
            if self.lambda_ != 0.0:  # with lambda = 0 the decay adds exactly zero
                g = np.add(g, np.multiply(self.lambda_, param, out=lr_g), out=lr_g)
            np.multiply(self.learning_rate, g, out=lr_g)
            if self.alpha > 0.0:
                velocity *= self.alpha
                velocity -= lr_g
                param += velocity
            else:
                param -= lr_g
        self._steps += 1
        if self.alpha > 0.0 and self._steps % self.FLUSH_EVERY == 0:
            for _, _, velocity, _ in self._slots:
                velocity[np.abs(velocity) < self.FLUSH_BELOW] = 0.0


def nonzero_column_runs(x):
    """The runs of consecutive columns of x (N, D) that hold a nonzero, as slices. Where a column of
    the input is zero, so is that row of X^T grad: a first linear layer's dL/dW."""
    used = np.zeros(x.shape[1] + 2, dtype=bool)
    np.any(x, axis=0, out=used[1:-1])
    edges = np.flatnonzero(used[1:] != used[:-1])  # where runs start and stop
    return [slice(start, stop) for start, stop in zip(edges[0::2].tolist(), edges[1::2].tolist())]
