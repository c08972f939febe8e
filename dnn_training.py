"""What every driver shares: the command line, the SGD update, the epoch loop
and the result file (the evaluation after each epoch is in dnn_evaluation.py).

A driver supplies its network as three functions, `build_model`, `forward`
and `backward` (see `Network`), and calls `main`. Everything that happens
around the network, in the order the course pipeline does it, is here.
"""
import argparse
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from data_loader import DEFAULT_DATA, DataError, load_mnist
from dnn_evaluation import EpochEvaluation, evaluates_in_background, has_second_cpu
from dnn_misc import add_momentum
from result_files import check_can_write, write_or_rescue
from side_thread import IN_LINE, SideThread

REPO = os.path.dirname(os.path.abspath(__file__))
MAX_SEED = 2 ** 32 - 1  # what np.random.seed takes
DEFAULT_OUTPUT_DIR = os.path.join(REPO, 'outputs')


@dataclass
class Network:
    """One of the assignment's networks, as its driver defines it.

    build_model(dropout_rate) -> model dict, modules in the order of the
        network, the loss last under 'loss'; it makes the random draws of
        initialisation.
    forward(model, x, is_train, side=IN_LINE) -> (scores (N, 10), cache of
        the intermediate variables that `backward` needs).
    backward(model, x, cache, grad, side=IN_LINE) stores every parameter's
        gradient, given grad = dL/d(scores). Both keep the course's call
        pattern: each module's `backward(X, grad)` gets the X its `forward`
        got. With `side` (side_thread.py), train() lets a driver have work
        done in a second thread: Q3.10's backward, its second convolution's
        weight gradient; Q3.7's and Q3.8's forward, dropout's draws. The
        other drivers gain nothing from it and ignore it.
    eval_batch: samples per forward pass when evaluating. Evaluation draws no
        dropout masks, so any batch size gives the same accuracies
        (tests/test_drivers.py); the fastest is large for the MLPs (fewer,
        bigger matrix products) and small for the CNNs (activations stay in cache).
    """
    prefix: str
    learning_rate: float
    dropout_rate: float
    step: int
    as_images: bool
    build_model: Callable
    forward: Callable
    backward: Callable
    eval_batch: int


class SGD:
    """Minibatch SGD with momentum alpha and weight decay lambda, over a model dict.

    For each parameter: g = gradient + lambda * param; with alpha > 0,
    v = alpha * v - lr * g and param += v; with alpha = 0, param -= lr * g.
    Velocities start at zero (`add_momentum`). A module listing `gradient_rows`
    (a first linear layer, see dnn_misc) has only those rows of W updated when
    alpha = lambda = 0: on the others the update is exactly zero.
    """

    # Where a gradient stays zero (behind a unit that relu keeps off), the velocity decays by alpha
    # at every step, into the subnormal numbers below 2^-1022, which CPUs multiply a hundred times
    # more slowly; and it stays there, as alpha times the least of them rounds back to it. After
    # seven epochs of Q3.8 that is half of L1's velocities, and the SGD step takes four times as
    # long. So every FLUSH_EVERY steps, velocities below FLUSH_BELOW (too few steps away from the
    # subnormals to reach them at alpha = 0.9) become zero. Nothing else changes: adding a number
    # below 2^-900 to a parameter, or to a gradient step, larger than 2^-847 (1e-255) leaves it as it is.
    FLUSH_EVERY, FLUSH_BELOW = 100, 2.0 ** -900

    def __init__(self, model, learning_rate, alpha=0.0, lambda_=0.0):
        self.learning_rate = learning_rate
        self._steps = 0
        self.alpha = alpha
        self.lambda_ = lambda_
        velocity = add_momentum(model)
        # One scratch array per parameter holds lr * g, so that a step allocates nothing.
        self._slots = [(module, key, velocity[name + '_' + key], np.empty_like(param))
                       for name, module in model.items() if hasattr(module, 'params')
                       for key, param in module.params.items()]

    def step(self):
        """Update every parameter in place from the gradients of the last backward pass."""
        for module, key, velocity, lr_g in self._slots:
            param, g = module.params[key], module.gradient[key]
            rows = getattr(module, 'gradient_rows', None) if key == 'W' else None
            if rows is not None and self.alpha == 0.0 and self.lambda_ == 0.0:
                # Elsewhere g is exactly zero, and param -= lr * 0 leaves param as it is.
                for part in rows:
                    param[part] -= np.multiply(self.learning_rate, g[part], out=lr_g[part])
                continue
            # With lambda = 0 the decay term adds exactly zero: skip its two passes.
            if self.lambda_ != 0.0:
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


def training_step(network, model, optimizer, x, y, side=IN_LINE):
    """One SGD step on the minibatch x with labels y, in the course pipeline's order of calls."""
    scores, cache = network.forward(model, x, True, side)
    # The course's loss keeps what its backward needs from its forward, so both run.
    model['loss'].forward(scores, y)
    network.backward(model, x, cache, model['loss'].backward(scores, y), side)
    optimizer.step()


def new_training(network, args):
    """The model and its optimizer as a run starts: the generator seeded, the model built (its
    initial draws), and the first layer told that its input is data."""
    np.random.seed(args.random_seed)
    model = network.build_model(args.dropout_rate)
    # Nothing uses the gradient with respect to the data: this repository's
    # modules skip it when told so, and a student's module ignores the flag.
    next(iter(model.values())).input_is_data = True
    return model, SGD(model, args.learning_rate, args.alpha, args.lambda_)


def train(network, args, data, log=print):
    """Train as the course pipeline does; return the record {'train': [...], 'val': [...]} of
    accuracies per epoch, and the trained model dict.

    Each epoch's evaluation may run in the background while the next epoch trains
    (`evaluates_in_background`): its log lines then come one epoch later, with the same numbers.
    Raises FloatingPointError when the training loss stops being finite.
    """
    model, optimizer = new_training(network, args)

    X_train, Y_train = data['train']
    X_valid, Y_valid = data['valid']
    B = args.minibatch_size
    num_batches = len(X_train) // B
    # Leftover samples that do not fill a minibatch are skipped, in evaluation too.
    X_eval, Y_eval = X_train[:num_batches * B], Y_train[:num_batches * B]
    X_valid, Y_valid = X_valid[:len(X_valid) // B * B], Y_valid[:len(Y_valid) // B * B]
    evaluation = EpochEvaluation(network, (X_eval, Y_eval), (X_valid, Y_valid),
                                 background=evaluates_in_background(network, model, X_valid[:B]))
    # Started after the evaluation's fork (which copies no thread), on the CPU the niced evaluation gives way on.
    side = SideThread(cpu_free=lambda: not evaluation.competes()) if has_second_cpu() else IN_LINE

    record = {'train': [], 'val': []}
    started = time.perf_counter()
    training_seconds = []

    def report(t, train_loss, train_acc, val_acc, eval_seconds):
        log(f'At epoch {t + 1}')
        log(f'Training loss at epoch {t + 1} is {train_loss}')
        log(f'Training accuracy at epoch {t + 1} is {train_acc}')
        log(f'Validation accuracy at epoch {t + 1} is {val_acc}')
        if not math.isfinite(train_loss):
            raise FloatingPointError(f'the training loss is {train_loss} at epoch {t + 1}')
        record['train'].append(train_acc)
        record['val'].append(val_acc)
        trained = len(training_seconds)
        left = (time.perf_counter() - started) / trained * (args.num_epoch - trained)
        alongside = ' alongside the next epoch' if trained > t + 1 else ''
        log(f'(epoch {t + 1}: {training_seconds[t]:.1f} s training, {eval_seconds:.1f} s evaluating{alongside}; '
            f'about {left:.0f} s left)')

    try:
        for t in range(args.num_epoch):
            epoch_start = time.perf_counter()
            if t % network.step == 0 and t != 0:
                optimizer.learning_rate = optimizer.learning_rate * 0.1
            idx = np.random.permutation(len(X_train))
            for i in range(num_batches):
                batch = idx[i * B:(i + 1) * B]
                training_step(network, model, optimizer, X_train[batch], Y_train[batch], side)
            training_seconds.append(time.perf_counter() - epoch_start)
            for epoch, results in evaluation.after_epoch(t, model, last=t == args.num_epoch - 1):
                report(epoch, *results)
    finally:
        side.close()
        evaluation.close()
    return record, model


def saved_model(network, args, model):
    """The arrays that --save_model writes: each parameter as 'MODULE.KEY', the network's prefix
    as 'network', and its flags as JSON in 'flags'."""
    flags = {key: value for key, value in vars(args).items() if key not in ('data', 'output_dir', 'save_model')}
    arrays = {f'{name}.{key}': value for name, module in model.items() if hasattr(module, 'params')
              for key, value in module.params.items()}
    return dict(arrays, network=np.array(network.prefix), flags=np.array(json.dumps(flags)))


def result_name(prefix, args):
    """The course's file name, e.g. MLP_lr0.01_m0.0_w0.0_d0.5.json."""
    return (f'{prefix}_lr{float(args.learning_rate)}_m{float(args.alpha)}'
            f'_w{float(args.lambda_)}_d{float(args.dropout_rate)}.json')


def _number(kind, low=None, high=None, low_open=False, high_open=False, what=None):
    """An argparse type: a finite number of `kind` within [low, high] (or open ends)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        ok = value is not None and math.isfinite(value)
        ok = ok and (low is None or value > low or (value == low and not low_open))
        ok = ok and (high is None or value < high or (value == high and not high_open))
        if not ok:
            raise argparse.ArgumentTypeError(f'{what}, got {text!r}')
        return value
    return parse


def build_parser(network):
    """The assignment's flags, typed and range-checked, plus --data and --output_dir."""
    parser = argparse.ArgumentParser(
        description=f'Train the {network.prefix} network on mnist_subset and write its accuracies per epoch.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add('--random_seed', type=_number(int, 0, MAX_SEED, what=f'must be an integer from 0 to {MAX_SEED}'), default=2,
        help="seed of NumPy's global generator; every question uses the default")
    add('--learning_rate', type=_number(float, 0, low_open=True, what='must be a finite number > 0'),
        default=network.learning_rate,
        help=f'initial learning rate, multiplied by 0.1 every {network.step} epochs '
             '(0.01 in Q3.3-Q3.8, 0.001 in Q3.10)')
    add('--alpha', type=_number(float, 0, 1, high_open=True, what='must be a number in [0, 1)'), default=0.0,
        help='momentum (0.9 in Q3.8 and Q3.10, 0 elsewhere)')
    add('--lambda', dest='lambda_', metavar='LAMBDA', type=_number(float, 0, what='must be a finite number >= 0'),
        default=0.0, help='weight decay (0 in every question)')
    add('--dropout_rate', type=_number(float, 0, 1, high_open=True, what='must be a number in [0, 1)'),
        default=network.dropout_rate,
        help='dropout rate r (0.5 in Q3.4, Q3.7, Q3.8 and Q3.10; 0.95 in Q3.5; 0 in Q3.3 and Q3.6)')
    add('--num_epoch', type=_number(int, 1, what='must be an integer >= 1'), default=30,
        help='number of training epochs (30 in every question)')
    add('--minibatch_size', type=_number(int, 1, what='must be an integer from 1 to the training-set size'),
        default=5, help='minibatch size B (5 in every question)')
    add('--data', default=DEFAULT_DATA, help='the mnist_subset JSON file (not in the assignment)')
    add('--output_dir', default=DEFAULT_OUTPUT_DIR,
        help='where the result JSON is written, created if missing (not in the assignment)')
    add('--save_model', metavar='PATH.npz',
        help='also write the trained parameters there, for scripts/show_model.py (not in the assignment)')
    return parser


class Terminated(Exception):
    """SIGTERM arrived: stop like Ctrl-C, with the exit status 143 of a terminated process."""


def _raise_terminated(signum, frame):
    raise Terminated


def main(network, argv=None):
    """Run a driver from the command line; returns the exit status."""
    parser = build_parser(network)
    args = parser.parse_args(argv)
    program = parser.prog
    signal.signal(signal.SIGTERM, _raise_terminated)
    # Ctrl-C interrupts even when the shell started us with SIGINT ignored (a job run with `&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    path = os.path.join(args.output_dir, result_name(network.prefix, args))
    try:
        for what, target in [('the result file', path), ('the model', args.save_model)]:
            try:
                if target:
                    check_can_write(target)
            except OSError as error:
                print(f'{program}: error: cannot write {what} {target}: {error.strerror or error}', file=sys.stderr)
                return 1
        try:
            data = load_mnist(args.data, as_images=network.as_images)
        except DataError as error:
            print(f'{program}: error: {error}', file=sys.stderr)
            return 1
        for split in ('train', 'valid'):  # both are evaluated in whole minibatches
            size = len(data[split][0])
            if args.minibatch_size > size:
                parser.error(f"argument --minibatch_size: must be at most the size of every evaluated split, "
                             f"but split '{split}' has {size} samples, got {args.minibatch_size}")
        try:
            # A diverging run overflows long before its loss is checked; the check says so once.
            with np.errstate(over='ignore', invalid='ignore', divide='ignore'):
                record, model = train(network, args, data)
        except FloatingPointError as error:
            print(f'{program}: error: training diverged: {error}; try a smaller --learning_rate. '
                  f'No result file was written.', file=sys.stderr)
            return 1
        text = json.dumps(record)
        status = write_or_rescue(path, lambda f: f.write(text), program, "the finished run's result", text=text)
        if args.save_model:
            arrays = saved_model(network, args, model)
            status |= write_or_rescue(args.save_model, lambda f: np.savez(f, **arrays), program, 'the model',
                                      binary=True)
        if status == 0:
            print('Finish running!')
        return status
    except (KeyboardInterrupt, Terminated) as stop:
        print(f'{program}: interrupted; no result file was written.', file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
