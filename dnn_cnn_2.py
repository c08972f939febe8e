"""Q3.9-Q3.10: a convolutional network with two convolutions on mnist_subset.

x (1x28x28) -> conv 5x5, 25 filters -> relu -> max-pool 2x2
  -> conv 3x3, 25 filters -> relu -> max-pool 2x2 -> flatten (1225)
  -> dropout -> linear 1225->10 -> softmax cross-entropy

    python3 dnn_cnn_2.py [--alpha 0.9] [--help for every flag]
"""
import sys

from harness.training import Network, main
from dnn_misc import conv_layer, dropout, flatten_layer, linear_layer, max_pool, relu, softmax_cross_entropy


def build_model(dropout_rate):
    return {
        'C1': conv_layer(num_input=1, num_output=25, filter_len=5, stride=1),
        'nonlinear1': relu(),
        'M1': max_pool(max_len=2, stride=2),
        'C2': conv_layer(num_input=25, num_output=25, filter_len=3, stride=1),
        'nonlinear2': relu(),
        'M2': max_pool(max_len=2, stride=2),
        'F1': flatten_layer(),
        'drop1': dropout(dropout_rate),
        'L1': linear_layer(1225, 10),
        'loss': softmax_cross_entropy(),
    }


def forward(model, x, is_train):
    c1 = model['C1'].forward(x)
    h1 = model['nonlinear1'].forward(c1)
    m1 = model['M1'].forward(h1)
    c2 = model['C2'].forward(m1)
    h2 = model['nonlinear2'].forward(c2)
    m2 = model['M2'].forward(h2)
    f1 = model['F1'].forward(m2)
    d1 = model['drop1'].forward(f1, is_train=is_train)
    a1 = model['L1'].forward(d1)
    return a1, (c1, h1, m1, c2, h2, m2, f1, d1)


def backward(model, x, cache, grad_a1):
    c1, h1, m1, c2, h2, m2, f1, d1 = cache
    grad_d1 = model['L1'].backward(d1, grad_a1)
    grad_f1 = model['drop1'].backward(f1, grad_d1)
    grad_m2 = model['F1'].backward(m2, grad_f1)
    grad_h2 = model['M2'].backward(h2, grad_m2)
    grad_c2 = model['nonlinear2'].backward(c2, grad_h2)
    grad_m1 = model['C2'].backward(m1, grad_c2)
    grad_h1 = model['M1'].backward(h1, grad_m1)
    grad_c1 = model['nonlinear1'].backward(c1, grad_h1)
    model['C1'].backward(x, grad_c1)


CNN2 = Network(prefix='CNN2', learning_rate=0.001, dropout_rate=0.5, step=30, as_images=True,
               build_model=build_model, forward=forward, backward=backward,
               eval_batch=10)

if __name__ == '__main__':
    sys.exit(main(CNN2))
