"""Seconds per training step with two dnn_misc.py files, in one process, block by block.

    python3 bench/modules_ab.py ../old/dnn_misc.py q310                # against this checkout's
    python3 bench/modules_ab.py ../old/dnn_misc.py q310 --new other/dnn_misc.py --blocks 80
    python3 bench/modules_ab.py ../old/dnn_misc.py q310 --evaluate    # test-time forward passes

One model of the question per file, each built from that file's modules under
the question's seed, with its own optimizer and its own copy of the
generator's state: both train on the same minibatches, in blocks of steps that
alternate (old, new, new, old, ...), so that both see the same stretch of a
noisy machine. Prints each file's median milliseconds per step, the median and
quartiles of the ratios of neighbouring blocks, new over old, and whether the
two models' parameters came out bit for bit the same. A file compared with
itself shows how even the two slots are. With --evaluate, a step is one
test-time forward pass of the driver's eval_batch samples, as the evaluation
after each epoch makes them.
"""
import argparse
import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [REPO, HERE]

from blocks import print_per_step, ratio_summary  # noqa: E402
from configs import CONFIGS, setup  # noqa: E402


def load(name, path):
    """The module in the file at `path`, under `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('old', help='the dnn_misc.py to compare against')
    parser.add_argument('question', choices=[q for q, _, _ in CONFIGS])
    parser.add_argument('--new', default=os.path.join(REPO, 'dnn_misc.py'), help="default: this checkout's")
    parser.add_argument('--blocks', type=int, default=80, help='pairs of blocks (default 80)')
    parser.add_argument('--block', type=int, default=20, help='steps per block (default 20)')
    parser.add_argument('--evaluate', action='store_true', help='time test-time forward passes, not training steps')
    args = parser.parse_args()

    network, run = setup(args.question, 1)  # first: the driver's harness asks BLAS for its threads before NumPy loads
    import numpy as np

    from harness import training
    from data_loader import load_mnist

    X, Y = load_mnist(as_images=network.as_images)['train']
    driver = vars(sys.modules[network.build_model.__module__])
    kinds = {'old': load('old_dnn_misc', args.old), 'new': load('new_dnn_misc', args.new)}
    models, optimizers, generators = {}, {}, {}
    for kind, modules in kinds.items():
        driver.update({name: getattr(modules, name) for name in list(driver) if hasattr(modules, name)})
        models[kind], optimizers[kind] = training.new_training(network, run)
        generators[kind] = np.random.get_state()

    seconds = {kind: [] for kind in kinds}
    batches = np.random.RandomState(0)
    for pair in range(args.blocks):
        steps = [batches.choice(len(X), run.minibatch_size, replace=False) for _ in range(args.block)]
        for kind in (('old', 'new') if pair % 2 == 0 else ('new', 'old')):
            np.random.set_state(generators[kind])
            start = time.perf_counter()
            for batch in steps:
                if args.evaluate:
                    network.forward(models[kind], X[batch[0]:batch[0] + network.eval_batch], False)
                else:
                    training.training_step(network, models[kind], optimizers[kind], X[batch], Y[batch])
            seconds[kind].append((time.perf_counter() - start) / args.block)
            generators[kind] = np.random.get_state()

    print_per_step(args.question, seconds)
    same = all(np.array_equal(module.params[key], models['new'][name].params[key])
               for name, module in models['old'].items() if hasattr(module, 'params') for key in module.params)
    print(f"{args.question}, new / old: {ratio_summary(seconds['new'], seconds['old'])} "
          f'({args.blocks} pairs of blocks of {args.block} steps); the same parameters at the end: {same}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
