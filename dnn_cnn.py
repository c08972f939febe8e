"""Q3.7-Q3.8: a convolutional network with one convolution on mnist_subset.

x (1x28x28) -> conv 5x5, 25 filters -> relu -> max-pool 2x2 -> flatten (4900)
  -> dropout -> linear 4900->10 -> softmax cross-entropy

    python3 dnn_cnn.py [--alpha 0.9] [--help for every flag]
"""
import sys

from harness.training import Network, main
from dnn_misc import conv_layer, dropout, flatten_layer, linear_layer, max_pool, relu, softmax_cross_entropy


def build_model(dropout_rate):
    return {
        'C1': conv_layer(num_input=1, num_output=25, filter_len=5, stride=1),
        'nonlinear1': relu(),
        'M1': max_pool(max_len=2, stride=2),
        'F1': flatten_layer(),
        'drop1': dropout(dropout_rate),
        'L1': linear_layer(4900, 10),
        'loss': softmax_cross_entropy(),
    }


def forward(model, x, is_train):
    c1 = model['C1'].forward(x)
    h1 = model['nonlinear1'].forward(c1)
    m1 = model['M1'].forward(h1)
    f1 = model['F1'].forward(m1)
    d1 = model['drop1'].forward(f1, is_train=is_train)
    a1 = model['L1'].forward(d1)
    return a1, (c1, h1, m1, f1, d1)


def backward(model, x, cache, grad_a1):
    c1, h1, m1, f1, d1 = cache
    grad_d1 = model['L1'].backward(d1, grad_a1)
    grad_f1 = model['drop1'].backward(f1, grad_d1)
    grad_m1 = model['F1'].backward(m1, grad_f1)
    grad_h1 = model['M1'].backward(h1, grad_m1)
    grad_c1 = model['nonlinear1'].backward(c1, grad_h1)
    model['C1'].backward(x, grad_c1)


CNN = Network(prefix='CNN', learning_rate=0.01, dropout_rate=0.5, step=10, as_images=True,
              build_model=build_model, forward=forward, backward=backward,
              eval_batch=20)

if __name__ == '__main__':
    sys.exit(main(CNN))
