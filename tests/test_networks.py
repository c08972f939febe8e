"""The checker's course networks (harness/checker/networks.py) are our drivers' networks: the same
modules in the same order, the same wiring, and the same numbers, step after step."""
import os
import sys

import numpy as np
import pytest

from conftest import REPO
import dnn_misc
from harness.checker.networks import CHAINS, network
from harness.checker.probe import import_file
from harness.checker.recorder import Recorder
from harness.checker.wiring import expected_wiring
from harness.sgd import SGD
from harness.training import Network, training_step


def our_network(driver, classes):
    """The Network of our driver `driver` at the top level, its modules made from `classes`."""
    saved = sys.modules['dnn_misc']
    sys.modules['dnn_misc'] = classes
    try:
        module = import_file(f'_ours_{driver}_{id(classes)}', os.path.join(REPO, driver + '.py'))
    finally:
        sys.modules['dnn_misc'] = saved
    return next(value for value in vars(module).values() if isinstance(value, Network))


def settings(net):
    return {key: getattr(net, key) for key in ('prefix', 'learning_rate', 'dropout_rate', 'step', 'as_images',
                                               'eval_batch')}


@pytest.mark.parametrize('driver', list(CHAINS))
def test_the_same_modules_built_and_wired(driver):
    wirings = []
    for make in (lambda classes: our_network(driver, classes), lambda classes: network(driver, classes)):
        recorder = Recorder(dnn_misc)
        net = make(recorder.dnn_misc())
        expected = expected_wiring(driver, net, recorder)
        wirings.append(([(b.name, b.kind, b.arguments) for b in expected.built], expected.training,
                         expected.evaluation, settings(net)))
    assert wirings[0] == wirings[1]
    assert len(wirings[0][1]) > 2 * len(CHAINS[driver][1])  # both passes of a training step were recorded


@pytest.mark.parametrize('driver', list(CHAINS))
def test_the_same_numbers_step_after_step(driver):
    ours, course = our_network(driver, dnn_misc), network(driver, dnn_misc)
    rng = np.random.RandomState(3)
    shape = (5, 1, 28, 28) if ours.as_images else (5, 784)
    batches = [(rng.rand(*shape) * (rng.rand(*shape) > 0.7), rng.randint(0, 10, (5, 1))) for _ in range(3)]
    params = []
    for net in (ours, course):
        np.random.seed(7)
        model = net.build_model(0.5)
        optimizer = SGD(model, 0.01, 0.9, 0.001)
        for x, y in batches:
            training_step(net, model, optimizer, x, y)
        scores, _ = net.forward(model, batches[0][0], False)
        params.append([scores] + [value for module in model.values() for value in getattr(module, 'params', {}).values()])
    assert len(params[0]) == len(params[1])
    assert all(np.array_equal(a, b) for a, b in zip(*params))
