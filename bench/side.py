"""Seconds per training step with the side thread (side_thread.py) and without, block by block.

    python3 bench/side.py q310 --steps 1500 --block 20
    python3 bench/side.py q310 --evaluating 19   # beside a process evaluating at niceness 19

One training run of the driver's own steps (`dnn_training.training_step`),
with no evaluation beside it: the steps go in blocks that switch between a
side thread and none (in line), so that both see the same stretch of a noisy
machine. Both give the same numbers, so one model goes on through all
the blocks. With --evaluating N, a forked process evaluates the model
without a pause meanwhile, niced by N (train() nices its evaluation process
by dnn_evaluation.NICENESS). Prints the median seconds per step of each, and the median and
quartiles of the ratios of neighbouring blocks, side thread over in line.
"""
import argparse
import multiprocessing
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from blocks import print_per_step, ratio_summary  # noqa: E402
from configs import CONFIGS, setup  # noqa: E402


def evaluate_forever(evaluate, network, model, X, Y, niceness):
    """An evaluation process that never pauses: the model as it was forked, over X and Y, again and again."""
    os.nice(niceness)
    while True:
        evaluate(network, model, X, Y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('question', choices=[q for q, module, _ in CONFIGS if module.startswith('dnn_cnn')])
    parser.add_argument('--steps', type=int, default=1500, help='training steps in all (default 1500)')
    parser.add_argument('--block', type=int, default=20, help='steps per block (default 20)')
    parser.add_argument('--evaluating', type=int, metavar='NICENESS',
                        help='evaluate without a pause in a process beside training, niced by NICENESS')
    args = parser.parse_args()

    network, run = setup(args.question, 1)  # first: a CNN driver chooses the BLAS threads before NumPy loads
    import numpy as np

    import dnn_evaluation
    import dnn_training
    from data_loader import load_mnist
    from side_thread import IN_LINE, SideThread

    X, Y = load_mnist(as_images=True)['train']
    model, optimizer = dnn_training.new_training(network, run)
    B = run.minibatch_size
    seconds = {'in line': [], 'side thread': []}
    evaluating = None
    if args.evaluating is not None:  # forked before the side thread starts: a fork copies no thread
        evaluating = multiprocessing.get_context('fork').Process(
            target=evaluate_forever, args=(dnn_evaluation.evaluate, network, model, X[:1000], Y[:1000], args.evaluating), daemon=True)
        evaluating.start()
    side = SideThread()
    try:
        order, taken = np.random.permutation(len(X)), 0
        for block in range(args.steps // args.block):
            kind = ('in line', 'side thread')[(block + block // 2) % 2]  # in, side, side, in, in, side, ...
            beside = side if kind == 'side thread' else IN_LINE
            start = time.perf_counter()
            for _ in range(args.block):
                if taken + B > len(X):
                    order, taken = np.random.permutation(len(X)), 0
                batch = order[taken:taken + B]
                taken += B
                dnn_training.training_step(network, model, optimizer, X[batch], Y[batch], beside)
            seconds[kind].append((time.perf_counter() - start) / args.block)
    finally:
        side.close()
        if evaluating is not None:
            evaluating.terminate()
    print_per_step(args.question, seconds)
    beside = '' if args.evaluating is None else f', beside an evaluation niced by {args.evaluating}'
    print(f"{args.question}{beside}, side thread / in line: {ratio_summary(seconds['side thread'], seconds['in line'])} "
          f'({len(seconds["in line"])} pairs of blocks of {args.block} steps)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
