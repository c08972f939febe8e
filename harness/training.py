"""What every driver shares: the epoch loop, in the course pipeline's order, and its command line.

A driver supplies its network as three functions, `build_model`, `forward` and `backward` (see
`Network`), and calls `main`. Everything that happens around the network is here: the flags
(flags.py), the data, the SGD update (sgd.py), the evaluation after each epoch (evaluation.py) and
the result file (result_files.py).
"""
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from data_loader import DataError, load_mnist
from harness import NOT_WRITTEN
from harness.evaluation import EpochEvaluation
from harness.flags import build_parser, result_name
from harness.result_files import check_can_write, write_or_rescue
from harness.sgd import SGD


@dataclass
class Network:
    """One of the assignment's networks, as its driver defines it.

    build_model(dropout_rate) -> model dict, modules in the order of the
        network, the loss last under 'loss'; it makes the random draws of
        initialisation.
    forward(model, x, is_train) -> (scores (N, 10), cache of the
        intermediate variables that `backward` needs).
    backward(model, x, cache, grad) stores every parameter's gradient, given
        grad = dL/d(scores). Both keep the course's call pattern: each
        module's `backward(X, grad)` gets the X its `forward` got.
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


def training_step(network, model, optimizer, x, y):
    """One SGD step on the minibatch x with labels y, in the course pipeline's order of calls."""
    scores, cache = network.forward(model, x, True)
    # The course's loss keeps what its backward needs from its forward, so both run.
    model['loss'].forward(scores, y)
    network.backward(model, x, cache, model['loss'].backward(scores, y))
    # With no momentum and no weight decay, a row of an MLP's first W changes only under a nonzero
    # pixel of the minibatch; most MNIST pixels are zero, so the step updates those rows alone.
    optimizer.step(None if network.as_images else x)


def new_training(network, args, optimizer=SGD):
    """The model and its optimizer as a run starts: the generator seeded, the model built (its
    initial draws), and the first layer told that its input is data. `optimizer` makes the
    optimizer as SGD does (the checker's pipeline makes it where the student's modules are)."""
    np.random.seed(args.random_seed)
    model = network.build_model(args.dropout_rate)
    # Nothing uses the gradient with respect to the data: our modules skip it when told so,
    # and a student's module ignores the flag.
    next(iter(model.values())).input_is_data = True
    return model, optimizer(model, args.learning_rate, args.alpha, args.lambda_)


def train_epoch(network, model, optimizer, X_train, Y_train, B):
    """One epoch of SGD steps over a new permutation of the training data, in minibatches of B;
    leftover samples that do not fill a minibatch are skipped."""
    idx = np.random.permutation(len(X_train))
    for i in range(len(X_train) // B):
        batch = idx[i * B:(i + 1) * B]
        training_step(network, model, optimizer, X_train[batch], Y_train[batch])


def train(network, args, data, log=print):
    """Train as the course pipeline does; return the record {'train': [...], 'val': [...]} of
    accuracies per epoch, and the trained model dict.

    Each epoch's evaluation may run on the second CPU while the next epoch trains (evaluation.py):
    its log lines then come one epoch later, with the same numbers.
    Raises FloatingPointError when the training loss stops being finite.
    """
    model, optimizer = new_training(network, args)
    (X_train, Y_train), B = data['train'], args.minibatch_size
    record, started, training_seconds = {'train': [], 'val': []}, time.perf_counter(), []

    def report(t, train_loss, train_acc, val_acc, eval_seconds):
        for line in [f'At epoch {t + 1}', f'Training loss at epoch {t + 1} is {train_loss}',
                     f'Training accuracy at epoch {t + 1} is {train_acc}',
                     f'Validation accuracy at epoch {t + 1} is {val_acc}']:
            log(line)
        if not math.isfinite(train_loss):
            raise FloatingPointError(f'the training loss is {train_loss} at epoch {t + 1}')
        record['train'].append(train_acc)
        record['val'].append(val_acc)
        trained = len(training_seconds)
        left = (time.perf_counter() - started) / trained * (args.num_epoch - trained)
        alongside = ' alongside the next epoch' if trained > t + 1 else ''
        log(f'(epoch {t + 1}: {training_seconds[t]:.1f} s training, {eval_seconds:.1f} s evaluating{alongside}; '
            f'about {left:.0f} s left)')

    # Leftover samples that do not fill a minibatch are skipped, in evaluation too.
    with EpochEvaluation(network, model, data, B) as evaluation:
        for t in range(args.num_epoch):
            epoch_start = time.perf_counter()
            if t % network.step == 0 and t != 0:
                optimizer.learning_rate = optimizer.learning_rate * 0.1
            train_epoch(network, model, optimizer, X_train, Y_train, B)
            training_seconds.append(time.perf_counter() - epoch_start)
            for epoch, results in evaluation.after_epoch(t, model, last=t == args.num_epoch - 1):
                report(epoch, *results)
    return record, model


def saved_model(network, args, model):
    """The arrays that --save_model writes: each parameter as 'MODULE.KEY', the network's prefix
    as 'network', and its flags as JSON in 'flags'."""
    flags = {key: value for key, value in vars(args).items() if key not in ('data', 'output_dir', 'save_model')}
    arrays = {f'{name}.{key}': value for name, module in model.items() if hasattr(module, 'params')
              for key, value in module.params.items()}
    return dict(arrays, network=np.array(network.prefix), flags=np.array(json.dumps(flags)))


class Terminated(Exception):
    """SIGTERM arrived: stop like Ctrl-C, with the exit status 143 of a terminated process."""


def _raise_terminated(signum, frame):
    raise Terminated


def main(network, argv=None):
    """Run a driver from the command line; returns the exit status."""
    parser = build_parser(network)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_terminated)
    # Ctrl-C interrupts even when the shell started us with SIGINT ignored (a job run with `&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _run(network, args, parser)
    except (KeyboardInterrupt, Terminated) as stop:
        print(f'{parser.prog}: interrupted; no result file was written.', file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130


def _run(network, args, parser):
    """main's work: check what can be checked, train, write the result (and the model)."""
    program = parser.prog
    path = os.path.join(args.output_dir, result_name(network.prefix, args))
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
    except NotImplementedError as error:  # a TODO of the students' handout, still as it was handed out
        if NOT_WRITTEN not in str(error):
            raise
        sys.exit(f'{program}: error: {error}: write it, then check it with python3 hw5_dnn_check.py. '
                 f'No result file was written.')  # its words go to stderr, and to the checker's driver run
    text = json.dumps(record)
    status = write_or_rescue(path, lambda f: f.write(text), program, "the finished run's result", text=text)
    if args.save_model:
        arrays = saved_model(network, args, model)
        status |= write_or_rescue(args.save_model, lambda f: np.savez(f, **arrays), program, 'the model', binary=True)
    if status == 0:
        print('Finish running!')
    return status
