"""Look inside a trained network: its first layer's filters, its confusion matrix, its mistakes.

    python3 dnn_cnn.py --alpha 0.9 --save_model m.npz
    python3 scripts/show_model.py m.npz [--output_dir DIR] [--data FILE]

Writes three PNGs beside each other, named after the model file (m_filters.png,
m_confusion.png, m_mistakes.png), in DIR (default: the model file's folder):
- the first layer's filters as small images: the 25 5x5 filters of the CNNs;
  for the MLP and the linear model, the weights into the first 25 hidden units,
  each a 28x28 image;
- the confusion matrix on the validation split, with each digit's accuracy;
- validation images the network gets wrong, each with its true label, the
  label it gave and the probability it gave that label.
Needs matplotlib (requirements-plot.txt).
"""
import argparse
import json
import os
import sys
import zipfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from data_loader import DEFAULT_DATA, DataError, load_mnist  # noqa: E402
from dnn_misc import softmax  # noqa: E402
from harness.result_files import check_can_write, write_or_rescue  # noqa: E402

DRIVERS = {'MLP': ('dnn_mlp', 'MLP'), 'LR': ('dnn_mlp_nononlinear', 'LR'), 'CNN': ('dnn_cnn', 'CNN'),
           'CNN2': ('dnn_cnn_2', 'CNN2')}
GRID = 25  # filters and mistakes shown, five by five


class ModelError(Exception):
    """The file is not a model saved by the drivers' --save_model."""


def load_model(path):
    """(network, flags, model dict with the saved parameters) from a --save_model file."""
    import importlib
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in saved.files}
    except FileNotFoundError:
        raise ModelError(f'{path}: no such file') from None
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ModelError(f'{path}: not a saved model ({error})') from None
    prefix = str(arrays.pop('network', ''))
    if prefix not in DRIVERS or 'flags' not in arrays:
        raise ModelError(f'{path}: not a model saved by the drivers\' --save_model')
    flags = json.loads(str(arrays.pop('flags')))
    module_name, variable = DRIVERS[prefix]
    network = getattr(importlib.import_module(module_name), variable)
    model = network.build_model(flags['dropout_rate'])
    expected = {f'{name}.{key}': value.shape for name, module in model.items() if hasattr(module, 'params')
                for key, value in module.params.items()}
    if {key: value.shape for key, value in arrays.items()} != expected:
        raise ModelError(f'{path}: its parameters do not fit the {prefix} network')
    for key, value in arrays.items():
        name, param = key.split('.')
        model[name].params[param] = value
    return network, flags, model


def predict(network, model, X):
    """Probabilities (N, 10) of each class for the images or rows X, dropout off."""
    chunks = [softmax(network.forward(model, X[i:i + 100], False)[0]) for i in range(0, len(X), 100)]
    return np.concatenate(chunks)


def first_layer_images(network, model):
    """(images, title): the filters or the weights of the first layer, as 2-D images."""
    if network.as_images:
        W = model['C1'].params['W']  # (25, 1, 5, 5)
        return W[:GRID, 0], f'The {len(W)} filters of the first convolution (5x5)'
    W = model['L1'].params['W']  # (784, 1000): column u is what hidden unit u looks for
    return W[:, :GRID].T.reshape(-1, 28, 28), f'Weights into the first {GRID} of {W.shape[1]} hidden units (28x28)'


def draw_grid(plt, images, titles, title, cmap):
    figure, axes = plt.subplots(5, 5, figsize=(7.5, 8.25))
    for ax in axes.flat:
        ax.axis('off')
    for ax, image, label in zip(axes.flat, images, titles):
        limit = np.abs(image).max() or 1.0
        ax.imshow(image, cmap=cmap, vmin=-limit if cmap == 'RdBu_r' else 0, vmax=limit)
        ax.set_title(label, fontsize=8)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure


def draw_confusion(plt, labels, predicted, title):
    counts = np.bincount(labels * 10 + predicted, minlength=100).reshape(10, 10)  # [true, predicted]
    figure, ax = plt.subplots(figsize=(7, 6.25))
    ax.imshow(counts, cmap='Blues')
    for i in range(10):
        for j in range(10):
            ax.text(j, i, counts[i, j], ha='center', va='center', fontsize=8,
                    color='white' if counts[i, j] > counts.max() / 2 else 'black')
    accuracy = counts.diagonal() / np.maximum(counts.sum(axis=1), 1)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_yticklabels([f'{d}  ({a:.0%})' for d, a in enumerate(accuracy)])
    ax.set_xlabel('predicted digit')
    ax.set_ylabel('true digit (its accuracy)')
    ax.set_title(title, fontsize=11)
    figure.tight_layout()
    return figure


def draw_all(plt, network, flags, model, X, Y):
    """{'filters', 'confusion', 'mistakes': the figure} of a trained network on the split X, Y."""
    prob = predict(network, model, X)
    labels, predicted = Y[:, 0], prob.argmax(axis=1)
    run = (f"{network.prefix}, lr {flags['learning_rate']}, momentum {flags['alpha']}, dropout {flags['dropout_rate']}, "
           f"{flags['num_epoch']} epoch{'s' * (flags['num_epoch'] != 1)}")
    images, title = first_layer_images(network, model)
    wrong = np.flatnonzero(predicted != labels)[:GRID]
    return {
        'filters': draw_grid(plt, images, [str(i + 1) for i in range(len(images))], f'{title}\n{run}', 'RdBu_r'),
        'confusion': draw_confusion(plt, labels, predicted, f'Validation split: accuracy '
                                                            f'{np.mean(predicted == labels):.3f}\n{run}'),
        'mistakes': draw_grid(plt, X[wrong].reshape(-1, 28, 28),
                              [f'{labels[i]} read as {predicted[i]} ({prob[i, predicted[i]]:.2f})' for i in wrong],
                              f'The first {len(wrong)} of {np.sum(predicted != labels)} validation mistakes: '
                              f'true read as predicted (probability)\n{run}', 'gray_r'),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog='show_model.py', description=__doc__.splitlines()[0])
    parser.add_argument('model', help='a file written by a driver\'s --save_model')
    parser.add_argument('--output_dir', help="where the PNGs go (default: the model file's folder)")
    parser.add_argument('--data', default=DEFAULT_DATA, help='the mnist_subset JSON file')
    args = parser.parse_args(argv)
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print(f'{parser.prog}: error: matplotlib is not installed; pip install -r requirements-plot.txt',
              file=sys.stderr)
        return 1
    stem = os.path.splitext(os.path.basename(args.model))[0]
    folder = args.output_dir or os.path.dirname(os.path.abspath(args.model))
    paths = {kind: os.path.join(folder, f'{stem}_{kind}.png') for kind in ('filters', 'confusion', 'mistakes')}
    try:
        network, flags, model = load_model(args.model)
        for path in paths.values():
            check_can_write(path)
        X, Y = load_mnist(args.data, as_images=network.as_images)['valid']
    except (ModelError, DataError) as error:
        print(f'{parser.prog}: error: {error}', file=sys.stderr)
        return 1
    except OSError as error:
        print(f'{parser.prog}: error: cannot write into {folder}: {error.strerror or error}', file=sys.stderr)
        return 1

    figures = draw_all(plt, network, flags, model, X, Y)
    status = 0
    for kind, figure in figures.items():
        status |= write_or_rescue(paths[kind], lambda f: figure.savefig(f, format='png', dpi=100), parser.prog,
                                  f'the {kind} picture', binary=True)
        if status == 0:
            print(f'wrote {paths[kind]}')
    return status


if __name__ == '__main__':
    sys.exit(main())
