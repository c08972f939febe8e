"""The course's four networks, as the checker knows them, whichever drivers sit at the top level.

A student copies their dnn_cnn_2.py over ours, and may hand in the course's own dnn_mlp.py,
dnn_cnn.py and dnn_mlp_nononlinear.py beside it, so the checker never takes the course's networks
from the files at the top level. Each network here is what FACTS.md's table says it is: its modules
in order, then the loss, wired as a chain. Each forward gets the output before it (dropout is told
whether it trains), and each backward gets the input its forward got and the grad after it.
tests/test_networks.py checks that our drivers build and wire exactly these, with the same numbers.
"""

from harness.training import Network

RATE = 'dropout_rate'  # stands for build_model's argument

_CNN = [('C1', 'conv_layer', 1, 25, 5, 1), ('nonlinear1', 'relu'), ('M1', 'max_pool', 2, 2)]
_CNN_TOP = [('F1', 'flatten_layer'), ('drop1', 'dropout', RATE)]
CHAINS = {  # driver: (its Network's settings, its modules before the loss: (name, class, *arguments))
    'dnn_mlp': (dict(prefix='MLP', learning_rate=0.01, dropout_rate=0.0, step=10, as_images=False, eval_batch=1000),
                [('L1', 'linear_layer', 784, 1000), ('nonlinear1', 'relu'), ('drop1', 'dropout', RATE),
                 ('L2', 'linear_layer', 1000, 10)]),
    'dnn_mlp_nononlinear': (dict(prefix='LR', learning_rate=0.01, dropout_rate=0.0, step=10, as_images=False,
                                 eval_batch=1000),
                            [('L1', 'linear_layer', 784, 1000), ('drop1', 'dropout', RATE),
                             ('L2', 'linear_layer', 1000, 10)]),
    'dnn_cnn': (dict(prefix='CNN', learning_rate=0.01, dropout_rate=0.5, step=10, as_images=True, eval_batch=20),
                _CNN + _CNN_TOP + [('L1', 'linear_layer', 4900, 10)]),
    'dnn_cnn_2': (dict(prefix='CNN2', learning_rate=0.001, dropout_rate=0.5, step=30, as_images=True, eval_batch=10),
                  _CNN + [('C2', 'conv_layer', 25, 25, 3, 1), ('nonlinear2', 'relu'), ('M2', 'max_pool', 2, 2)]
                  + _CNN_TOP + [('L1', 'linear_layer', 1225, 10)]),
}


def layer_forward(module, kind, x, is_train):
    """A module's forward as a network calls it: dropout is told whether it trains."""
    return module.forward(x, is_train=is_train) if kind == 'dropout' else module.forward(x)


def network(driver, dnn_misc):
    """The training.Network of the course's `driver` ('dnn_cnn_2'), made of the classes of the module
    `dnn_misc` (ours, a student's, or the recorder's)."""
    settings, layers = CHAINS[driver]

    def build_model(dropout_rate):
        model = {name: getattr(dnn_misc, kind)(*(dropout_rate if a == RATE else a for a in arguments))
                 for name, kind, *arguments in layers}
        model['loss'] = dnn_misc.softmax_cross_entropy()
        return model

    def forward(model, x, is_train):
        inputs = []
        for name, kind, *_ in layers:
            inputs.append(x)
            x = layer_forward(model[name], kind, x, is_train)
        return x, inputs

    def backward(model, x, inputs, grad):
        for (name, *_), X in zip(reversed(layers), reversed(inputs)):
            grad = model[name].backward(X, grad)

    return Network(build_model=build_model, forward=forward, backward=backward, **settings)
