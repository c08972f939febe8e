"""The seven configurations in PyTorch, written the way a PyTorch user writes them: the benchmark's
point of comparison.

The layers are torch.nn modules (Linear, Conv2d, ReLU, MaxPool2d, Flatten, Dropout), the update is
torch.optim.SGD(lr, momentum, weight_decay) with StepLR, float64 on the CPU with as many threads as
the machine has cores, minibatch 5, and evaluation under model.eval() and torch.no_grad() in the
batch size that is fastest for it (EVAL_BATCH, measured by `python3 bench/torch_nets.py`). The
same networks start from the same weights (our drivers' build_model under seed 2). Its dropout
draws from PyTorch's generator, and its momentum is PyTorch's (v = m v + g), so its accuracies are
not ours; the work per epoch is the same. Only the benchmark imports this; PyTorch is never a
dependency of the library.
"""
import os
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from configs import CONFIGS, setup  # noqa: E402

# Samples per forward pass when evaluating: the fastest of 5, 50, 100, 200, 500, 1000 and 5000 here
# (`python3 bench/torch_nets.py`, bench/RESULTS.md).
EVAL_BATCH = {'dnn_mlp': 500, 'dnn_mlp_nononlinear': 1000, 'dnn_cnn': 50, 'dnn_cnn_2': 100}


def torch_model(name, model, rate):
    """The network `name` ('dnn_mlp', ...) as torch.nn.Sequential, its weights those of our `model`."""
    def linear(layer):
        torch_layer = nn.Linear(*layer.params['W'].shape)
        torch_layer.weight.data = torch.from_numpy(layer.params['W'].T.copy())
        torch_layer.bias.data = torch.from_numpy(layer.params['b'].reshape(-1).copy())
        return torch_layer

    def conv(layer):
        out, inputs, size, _ = layer.params['W'].shape
        torch_layer = nn.Conv2d(inputs, out, size, padding=(size - 1) // 2)
        torch_layer.weight.data = torch.from_numpy(layer.params['W'].copy())
        torch_layer.bias.data = torch.from_numpy(layer.params['b'].reshape(-1).copy())
        return torch_layer

    if name == 'dnn_mlp':
        layers = [linear(model['L1']), nn.ReLU(), nn.Dropout(rate), linear(model['L2'])]
    elif name == 'dnn_mlp_nononlinear':
        layers = [linear(model['L1']), nn.Dropout(rate), linear(model['L2'])]
    else:
        layers = [conv(model['C1']), nn.ReLU(), nn.MaxPool2d(2, 2)]
        if name == 'dnn_cnn_2':
            layers += [conv(model['C2']), nn.ReLU(), nn.MaxPool2d(2, 2)]
        layers += [nn.Flatten(), nn.Dropout(rate), linear(model['L1'])]
    return nn.Sequential(*layers)


def accuracy(model, X, Y, batch):
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(X[i:i + batch]).argmax(1) == Y[i:i + batch]).sum()) for i in range(0, len(X), batch))
    return correct / len(X)


def prepared(question, epochs):
    """(driver name, network, args, the torch model, {split: (X, Y) tensors}, seconds to load the data)."""
    from data_loader import load_mnist

    torch.set_num_threads(os.cpu_count())
    name = next(m for q, m, _ in CONFIGS if q == question)
    network, args = setup(question, epochs)
    start = time.perf_counter()
    data = load_mnist(as_images=network.as_images)
    tensors = {split: (torch.from_numpy(X), torch.from_numpy(Y[:, 0])) for split, (X, Y) in data.items()}
    load_s = time.perf_counter() - start
    np.random.seed(args.random_seed)
    torch.manual_seed(args.random_seed)
    model = torch_model(name, network.build_model(args.dropout_rate), args.dropout_rate)
    return name, network, args, model, tensors, load_s


def train_torch(question, epochs):
    """Train one configuration in PyTorch; seconds per epoch for training and evaluation, as in bench.py."""
    import resource

    name, network, args, model, tensors, load_s = prepared(question, epochs)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate, momentum=args.alpha,
                                weight_decay=args.lambda_)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=network.step, gamma=0.1)
    loss_function = nn.CrossEntropyLoss()
    X, Y = tensors['train']
    B = args.minibatch_size
    start, eval_s, record = time.perf_counter(), 0.0, []
    for _ in range(epochs):
        model.train()
        order = torch.from_numpy(np.random.permutation(len(X)))
        for i in range(len(X) // B):
            batch = order[i * B:(i + 1) * B]
            optimizer.zero_grad()
            loss_function(model(X[batch]), Y[batch]).backward()
            optimizer.step()
        schedule.step()
        t1 = time.perf_counter()
        accuracy(model, *tensors['train'], EVAL_BATCH[name])
        record.append(accuracy(model, *tensors['valid'], EVAL_BATCH[name]))
        eval_s += time.perf_counter() - t1
    total = time.perf_counter() - start
    return {'load_s': load_s, 'total_s': total / epochs, 'eval_s': eval_s / epochs,
            'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'val': record}


def main():
    """Microseconds per sample of the PyTorch evaluation of each network at several batch sizes,
    alternating, as bench/eval_batches.py measures ours: the median of 5 repeats."""
    import statistics
    sizes = [5, 50, 100, 200, 500, 1000, 5000]
    for question in ('q33', 'q36', 'q37', 'q310'):
        name, _, _, model, tensors, _ = prepared(question, 1)
        X, Y = tensors['train']
        micros = {size: [] for size in sizes}
        for _ in range(5):
            for size in sizes:
                start = time.perf_counter()
                accuracy(model, X, Y, size)
                micros[size].append((time.perf_counter() - start) / len(X) * 1e6)
        print(f'{question} ({name}), PyTorch, us per sample (EVAL_BATCH {EVAL_BATCH[name]}): '
              + ', '.join(f'{size}: {statistics.median(values):.1f}' for size, values in micros.items()), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
