"""Q3.6: the MLP of dnn_mlp.py without its relu, so a linear model (multinomial logistic regression).

x -> linear 784->1000 -> dropout -> linear 1000->10 -> softmax cross-entropy

    python3 dnn_mlp_nononlinear.py [--help for every flag]
"""
import sys

from harness.training import Network, main
from dnn_misc import dropout, linear_layer, softmax_cross_entropy


def build_model(dropout_rate):
    return {
        'L1': linear_layer(784, 1000),
        'drop1': dropout(dropout_rate),
        'L2': linear_layer(1000, 10),
        'loss': softmax_cross_entropy(),
    }


def forward(model, x, is_train):
    a1 = model['L1'].forward(x)
    d1 = model['drop1'].forward(a1, is_train=is_train)
    a2 = model['L2'].forward(d1)
    return a2, (a1, d1)


def backward(model, x, cache, grad_a2):
    a1, d1 = cache
    grad_d1 = model['L2'].backward(d1, grad_a2)
    grad_a1 = model['drop1'].backward(a1, grad_d1)
    model['L1'].backward(x, grad_a1)


LR = Network(prefix='LR', learning_rate=0.01, dropout_rate=0.0, step=10, as_images=False,
             build_model=build_model, forward=forward, backward=backward,
             eval_batch=1000)

if __name__ == '__main__':
    sys.exit(main(LR))
