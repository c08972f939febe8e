"""The seven question configurations, and how to set one up as its script would."""
import importlib
import os
import sys

CONFIGS = [  # (question, driver module, flags that differ from its defaults)
    ('q33', 'dnn_mlp', {}),
    ('q34', 'dnn_mlp', {'dropout_rate': 0.5}),
    ('q35', 'dnn_mlp', {'dropout_rate': 0.95}),
    ('q36', 'dnn_mlp_nononlinear', {}),
    ('q37', 'dnn_cnn', {}),
    ('q38', 'dnn_cnn', {'alpha': 0.9}),
    ('q310', 'dnn_cnn_2', {'alpha': 0.9}),
]


def setup(question, epochs):
    """(network, args) of a question: the driver's own defaults and the question's flags, `epochs` epochs.

    The driver is imported first, with sys.argv[0] its script, as running it would: its harness
    asks BLAS for the driver's threads before NumPy loads (harness/__init__.py).
    """
    module_name, flags = next((m, f) for q, m, f in CONFIGS if q == question)
    sys.argv[0] = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), module_name + '.py')
    driver = importlib.import_module(module_name)
    from harness.flags import build_parser
    from harness import training

    network = next(value for value in vars(driver).values() if isinstance(value, training.Network))
    args = build_parser(network).parse_args([])
    vars(args).update(flags, num_epoch=epochs)
    return network, args
