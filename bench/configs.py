"""The seven question configurations, and how to set one up as its script would."""
import importlib

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

    The driver is imported first, as running it would: a CNN driver chooses the BLAS threads
    before NumPy loads (blas_threads.py).
    """
    module_name, flags = next((m, f) for q, m, f in CONFIGS if q == question)
    driver = importlib.import_module(module_name)
    import dnn_training

    network = next(v for v in vars(driver).values() if isinstance(v, dnn_training.Network))
    args = dnn_training.build_parser(network).parse_args([])
    vars(args).update(flags, num_epoch=epochs)
    return network, args
