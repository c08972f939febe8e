"""The seven configurations in PyTorch (eager, float64, CPU): the benchmark's point of comparison.

Same networks, same initial weights (our drivers' build_model under seed 2),
batch size 5, the same update rule written out by hand (weight decay, then
momentum), the learning-rate schedule, and evaluation in batches of 5. Only
the benchmark imports this; PyTorch is never a dependency of the library.
"""
import time

import numpy as np
import torch
import torch.nn.functional as F

from configs import CONFIGS, setup
from data_loader import load_mnist


def forward(name, p, x, rate, train):
    """Scores of network `name` ('dnn_mlp', ...) with parameters p for the batch x."""
    def drop(h):
        if not train:
            return h
        return h * ((torch.rand_like(h) >= rate).to(h.dtype) / (1.0 - rate))

    if name == 'dnn_mlp':
        return drop(torch.relu(x @ p['L1_W'] + p['L1_b'])) @ p['L2_W'] + p['L2_b']
    if name == 'dnn_mlp_nononlinear':
        return drop(x @ p['L1_W'] + p['L1_b']) @ p['L2_W'] + p['L2_b']
    h = F.max_pool2d(torch.relu(F.conv2d(x, p['C1_W'], p['C1_b'][:, 0], padding=2)), 2, 2)
    if name == 'dnn_cnn_2':
        h = F.max_pool2d(torch.relu(F.conv2d(h, p['C2_W'], p['C2_b'][:, 0], padding=1)), 2, 2)
    return drop(h.flatten(1)) @ p['L1_W'] + p['L1_b']


def train_torch(question, epochs):
    """Train one configuration in PyTorch; seconds per epoch for training and evaluation, as in bench.py."""
    import resource

    name = next(m for q, m, _ in CONFIGS if q == question)
    network, args = setup(question, epochs)
    start = time.perf_counter()
    data = load_mnist(as_images=network.as_images)
    tensors = {split: (torch.from_numpy(X), torch.from_numpy(Y[:, 0])) for split, (X, Y) in data.items()}
    load_s = time.perf_counter() - start

    lr, alpha, lambda_, rate = args.learning_rate, args.alpha, args.lambda_, args.dropout_rate
    np.random.seed(args.random_seed)
    torch.manual_seed(args.random_seed)
    model = network.build_model(rate)
    params = {f'{module_name}_{key}': torch.from_numpy(value.copy()).requires_grad_()
              for module_name, module in model.items() if hasattr(module, 'params')
              for key, value in module.params.items()}
    velocity = {key: torch.zeros_like(value) for key, value in params.items()}

    X, Y = tensors['train']
    B = args.minibatch_size
    train_s = eval_s = 0.0
    record = []
    for t in range(epochs):
        t0 = time.perf_counter()
        if t % network.step == 0 and t != 0:
            lr *= 0.1
        order = torch.from_numpy(np.random.permutation(len(X)))
        for i in range(len(X) // B):
            batch = order[i * B:(i + 1) * B]
            loss = F.cross_entropy(forward(name, params, X[batch], rate, True), Y[batch])
            grads = torch.autograd.grad(loss, list(params.values()))
            with torch.no_grad():
                for (key, p), g in zip(params.items(), grads):
                    g = g + lambda_ * p
                    if alpha > 0:
                        velocity[key].mul_(alpha).sub_(lr * g)
                        p.add_(velocity[key])
                    else:
                        p.sub_(lr * g)
        t1 = time.perf_counter()
        with torch.no_grad():
            for split in ('train', 'valid'):
                Xs, Ys = tensors[split]
                correct = sum(int((forward(name, params, Xs[i:i + B], rate, False).argmax(1) == Ys[i:i + B]).sum())
                              for i in range(0, len(Xs), B))
            record.append(correct / len(Xs))
        train_s += t1 - t0
        eval_s += time.perf_counter() - t1
    return {'load_s': load_s, 'total_s': (train_s + eval_s) / epochs, 'eval_s': eval_s / epochs,
            'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'val': record}
