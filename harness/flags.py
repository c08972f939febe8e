"""The drivers' command line: the assignment's flags, typed and range-checked, and the result file's name."""
import argparse
import math
import os

from data_loader import DEFAULT_DATA
from harness import REPO

MAX_SEED = 2 ** 32 - 1  # what np.random.seed takes
DEFAULT_OUTPUT_DIR = os.path.join(REPO, 'outputs')


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
