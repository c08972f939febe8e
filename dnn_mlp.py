"""Q3.3-Q3.5: a multi-layer perceptron on mnist_subset.

x -> linear 784->1000 -> relu -> dropout -> linear 1000->10 -> softmax cross-entropy

    python3 dnn_mlp.py [--dropout_rate 0.5] [--help for every flag]
"""
import sys

from harness.training import Network, main
from dnn_misc import dropout, linear_layer, relu, softmax_cross_entropy


def build_model(dropout_rate):
    return {
        'L1': linear_layer(784, 1000),
        'nonlinear1': relu(),
        'drop1': dropout(dropout_rate),
        'L2': linear_layer(1000, 10),
        'loss': softmax_cross_entropy(),
    }


def forward(model, x, is_train):
    a1 = model['L1'].forward(x)
    h1 = model['nonlinear1'].forward(a1)
    d1 = model['drop1'].forward(h1, is_train=is_train)
    a2 = model['L2'].forward(d1)
    return a2, (a1, h1, d1)


def backward(model, x, cache, grad_a2):
    a1, h1, d1 = cache
    grad_d1 = model['L2'].backward(d1, grad_a2)
    grad_h1 = model['drop1'].backward(h1, grad_d1)
    grad_a1 = model['nonlinear1'].backward(a1, grad_h1)
    model['L1'].backward(x, grad_a1)


MLP = Network(prefix='MLP', learning_rate=0.01, dropout_rate=0.0, step=10, as_images=False,
              build_model=build_model, forward=forward, backward=backward,
              eval_batch=1000)

if __name__ == '__main__':
    sys.exit(main(MLP))
