"""Work in a second thread while the layers next to it go on (a convolution's parameter gradients,
dropout's draws): the same numbers as in line, in line for a student's module, errors that reach
the caller."""
import threading

import numpy as np
import pytest

import dnn_training
from conftest import generator_state
from dnn_cnn import CNN
from dnn_cnn_2 import CNN2
from dnn_misc import conv_layer, dropout
from side_thread import IN_LINE, SideThread
from test_drivers import run_args
from test_evaluation import small_split


@pytest.fixture
def side():
    side = SideThread()
    yield side
    side.close()


def conv_and_batch(seed=0):
    rng = np.random.RandomState(seed)
    np.random.seed(seed)
    module = conv_layer(num_input=3, num_output=4, filter_len=3, stride=1)
    X = rng.randn(5, 3, 8, 8)
    module.forward(X)
    return module, X, rng.randn(5, 4, 8, 8)


@pytest.mark.parametrize('stride, filter_len', [(1, 3), (1, 5), (2, 3), (1, 2)])
def test_the_two_halves_of_a_convolutions_backward_are_its_backward(stride, filter_len):
    rng = np.random.RandomState(1)
    module = conv_layer(num_input=2, num_output=3, filter_len=filter_len, stride=stride)
    X = rng.randn(4, 2, 9, 9)
    grad = rng.randn(*module.forward(X).shape)
    grad_X = module.backward(X, grad)
    whole = {key: value.copy() for key, value in module.gradient.items()}
    module.gradient = {key: np.zeros_like(value) for key, value in module.gradient.items()}
    module.parameter_gradients(X, grad)
    assert np.array_equal(module.input_gradient(X, grad), grad_X)
    assert all(np.array_equal(module.gradient[key], whole[key]) for key in whole)


def test_a_side_thread_gives_the_same_numbers_as_in_line(side):
    module, X, grad = conv_and_batch()
    with IN_LINE.backward(module, X, grad) as in_line:
        pass
    expected = {key: value.copy() for key, value in module.gradient.items()}
    with side.backward(module, X, grad) as beside:
        pass
    assert np.array_equal(beside, in_line)
    assert all(np.array_equal(module.gradient[key], expected[key]) for key in expected)


class Recorder(conv_layer):
    """A convolution that notes the thread each half of its backward runs in."""

    def __init__(self):
        super().__init__(num_input=3, num_output=4, filter_len=3, stride=1)
        self.threads = {}

    def parameter_gradients(self, X, grad):
        self.threads['parameters'] = threading.current_thread()
        super().parameter_gradients(X, grad)

    def input_gradient(self, X, grad):
        self.threads['input'] = threading.current_thread()
        return super().input_gradient(X, grad)


def test_the_parameter_gradients_run_in_the_side_thread_only_while_the_cpu_is_free():
    free = [True]
    side = SideThread(cpu_free=lambda: free[0])
    try:
        for cpu_free in (True, False):
            free[0] = cpu_free
            module, (_, X, grad) = Recorder(), conv_and_batch()
            with side.backward(module, X, grad):
                pass
            assert module.threads['input'] is threading.current_thread()
            assert (module.threads['parameters'] is threading.current_thread()) is not cpu_free
    finally:
        side.close()
    assert not side._thread.is_alive()


def test_a_module_with_a_backward_only_runs_in_line(side):
    class Students:  # the course's template has backward only
        def backward(self, X, grad):
            self.thread = threading.current_thread()
            return 2 * grad

    module = Students()
    with side.backward(module, None, np.ones(3)) as grad_X:
        assert module.thread is threading.current_thread()
    assert np.array_equal(grad_X, 2 * np.ones(3))


def test_an_error_in_the_side_thread_reaches_the_caller_when_the_block_ends(side):
    class Failing(Recorder):
        def parameter_gradients(self, X, grad):
            raise ValueError('shapes do not match')

    module, (_, X, grad) = Failing(), conv_and_batch()
    reached = []
    with pytest.raises(ValueError, match='shapes do not match'):
        with side.backward(module, X, grad):
            reached.append('the block')
    assert reached == ['the block']
    with side.backward(*conv_and_batch()):  # and the thread goes on serving
        pass


def test_an_error_in_the_block_waits_for_the_side_thread(side):
    finished = threading.Event()

    class Slow(Recorder):
        def parameter_gradients(self, X, grad):
            finished.wait(0.2)
            super().parameter_gradients(X, grad)
            finished.set()

    module, (_, X, grad) = Slow(), conv_and_batch()
    with pytest.raises(KeyError):
        with side.backward(module, X, grad):
            raise KeyError('below')
    assert finished.is_set()  # nothing still writes the gradients once the error is out


def test_draws_made_ahead_give_the_mask_a_forward_would_draw():
    X = np.random.RandomState(3).randn(5, 7)
    np.random.seed(4)
    in_line = dropout(0.5).forward(X, is_train=True)
    after_in_line = generator_state()
    np.random.seed(4)
    module = dropout(0.5)
    module.draw_ahead(X.shape)
    assert np.array_equal(module.forward(X, is_train=True), in_line)
    assert generator_state() == after_in_line  # nothing drawn twice
    module.forward(X, is_train=True)  # draws made ahead serve one forward: the next one draws its own
    assert generator_state() != after_in_line


def test_draws_made_ahead_for_another_shape_are_an_error():
    module = dropout(0.5)
    module.draw_ahead((5, 8))
    with pytest.raises(ValueError, match=r'shape \(5, 8\), not \(5, 7\)'):
        module.forward(np.ones((5, 7)), is_train=True)


class DrawRecorder(dropout):
    """A dropout that notes the thread its draws are made in."""

    def draw_ahead(self, shape):
        self.thread = threading.current_thread()
        super().draw_ahead(shape)


@pytest.mark.parametrize('cpu_free', [True, False])
def test_dropout_draws_beside_the_layers_before_it_only_while_the_cpu_is_free(cpu_free):
    side = SideThread(cpu_free=lambda: cpu_free)
    try:
        X = np.ones((5, 7))
        np.random.seed(4)
        expected = dropout(0.5).forward(X, is_train=True)
        np.random.seed(4)
        module = DrawRecorder(0.5)
        with side.drawing(module, X.shape, is_train=True):
            pass
        assert (module.thread is threading.current_thread()) is not cpu_free
        assert np.array_equal(module.forward(X, is_train=True), expected)
        before = generator_state()
        with side.drawing(module, X.shape, is_train=False):  # testing: nothing to draw
            pass
        assert generator_state() == before
    finally:
        side.close()


@pytest.mark.parametrize('network', [CNN, CNN2], ids=['CNN', 'CNN2'])
def test_training_with_a_side_thread_gives_the_same_record_and_weights(images, monkeypatch, network):
    data = small_split(images, 100, 20)
    runs = {}
    for second_cpu in (False, True):
        monkeypatch.setattr(dnn_training, 'has_second_cpu', lambda: second_cpu)
        monkeypatch.setattr(dnn_training, 'evaluates_in_background', lambda *_: second_cpu)
        started = []
        monkeypatch.setattr(dnn_training, 'SideThread', lambda **kwargs: started.append(1) or SideThread(**kwargs))
        record, model = dnn_training.train(network, run_args(network, num_epoch=2, alpha=0.9), data,
                                           log=lambda *_: None)
        assert len(started) == second_cpu
        runs[second_cpu] = record, {name: module.params['W'] for name, module in model.items() if hasattr(module, 'params')}
    assert runs[True][0] == runs[False][0]
    assert all(np.array_equal(runs[True][1][name], runs[False][1][name]) for name in runs[False][1])
    assert all(thread.name != 'side thread' for thread in threading.enumerate())
