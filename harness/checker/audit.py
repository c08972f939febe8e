"""What makes a pipeline's figures count: the checks that the parameters the student process hands
back are those its training left, and that its own evaluation is what they give (pipeline.py).

The student process trains with its modules; the checker reads back the parameters before the first
step and around two steps, the last and one the operating system's randomness picks (AuditedSGD).
The parameters before the first step must be the course's initial draws (check_start); each audited
step, made again here with our modules from the parameters before it, must leave those handed back
after it, from NumPy's stream there (check_step); and the student's modules at test time, on a
random batch of each split, must give what ours give with its parameters (check_test_time).
"""
import random

import numpy as np

from harness.checker.networks import CHAINS, layer_forward
from harness.checker.probe import Failed, relative_error

SAME = 1e-6  # the largest relative error of numbers that are the same up to the order of sums


class AuditedSGD:
    """The drivers' SGD in the student process (RemoteCode.optimizer), with the parameters read back
    before the first step and around two steps, the last and one the operating system's randomness
    picks: after the step before each, and after it (`params`, by the count of steps done), with
    NumPy's stream there (`states`) and each audited step's minibatch (`batches`)."""

    def __init__(self, code, model, learning_rate, alpha, lambda_, steps):
        code.optimizer(model, learning_rate, alpha, lambda_)
        self.code, self.model, self.learning_rate, self.done = code, model, learning_rate, 0
        self.audited = sorted({random.SystemRandom().randrange(1, steps - 1), steps - 1})
        self.reads = {at + d for at in self.audited for d in (-1, 0, 1)}
        self.params, self.states, self.batches = {}, {}, {}
        self.read()

    def read(self):
        self.params[self.done] = read_params(self.code, self.model)  # it waits: the stream comes back
        self.states[self.done] = np.random.get_state()

    def step(self, first_input=None):
        if self.done in self.audited:
            forwards = [args for _, method, args, _ in self.code.calls if method == 'forward']
            self.batches[self.done] = forwards[0][0], forwards[-1][1]  # the first module's input, the loss's labels
        self.code.step(self.learning_rate, first_input)
        self.done += 1
        if self.done in self.reads:
            self.read()


def read_params(code, model):
    """{module name: what its params are} of the modules whose course's class has params."""
    names = [name for name, module in model.items() if module.kind in ('linear_layer', 'conv_layer')]
    return dict(zip(names, code.request([{'op': 'get', 'of': model[name].number, 'name': 'params'} for name in names])))


def reference_model(network, args, params, question):
    """The course's `network` made of our modules, with the run's flags `args` and the parameters
    `params` of the student's."""
    state = np.random.get_state()
    model = network.build_model(args.dropout_rate)  # its initial draws, forgotten at once
    np.random.set_state(state)
    for name, theirs in params.items():
        for key, ours in model[name].params.items():
            value = theirs.get(key) if isinstance(theirs, dict) else None
            flat = ours.ndim == 2 and ours.shape[0] == 1 and getattr(value, 'shape', None) == ours.shape[1:]
            if not (isinstance(value, np.ndarray) and (value.shape == ours.shape or flat)):
                kind = f'of shape {value.shape}' if isinstance(value, np.ndarray) else f'a {type(value).__name__}'
                raise Failed(f"{question} epoch 1: {name}.params['{key}'], read back in training, is {kind}, "
                             f"expected an array of shape {ours.shape}")
            model[name].params[key] = value.reshape(ours.shape)
    return model


def check_start(run, network, sgd, args):
    """FAIL unless the parameters handed back before the first step are the course's initial draws."""
    state = np.random.get_state()
    np.random.seed(args.random_seed)
    initial = network.build_model(args.dropout_rate)
    np.random.set_state(state)
    for name, module in reference_model(network, args, sgd.params[0], run.question).items():
        for key, param in getattr(module, 'params', {}).items():
            error = relative_error(param, initial[name].params[key])
            if not error < SAME:
                raise Failed(f"{run.question} epoch 1: its training does not start from the course's initial weights, "
                             f"yet its parameters give the course's figures: {name}.params['{key}'] before the first "
                             f"step is not np.random.normal(0, 0.1) drawn as the course draws it (max relative error "
                             f"{error:.2e})")


def check_step(run, network, sgd, args, at):
    """FAIL unless step `at`, made here from the parameters the student process handed back before it
    (and the step before, for the velocity) and NumPy's stream there, gives what it handed back after it.
    The draws themselves are not compared: a dropout that draws nothing at rate 0 trains as the course's."""
    previous, before, after = (reference_model(network, args, sgd.params[at + d], run.question) for d in (-1, 0, 1))
    state = np.random.get_state()
    np.random.set_state(sgd.states[at])
    x, y = sgd.batches[at]
    scores, cache = network.forward(before, x, True)
    before['loss'].forward(scores, y)
    network.backward(before, x, cache, before['loss'].backward(scores, y))
    np.random.set_state(state)
    for name, module in before.items():
        for key, param in getattr(module, 'params', {}).items():
            g = module.gradient[key].reshape(param.shape) + args.lambda_ * param
            velocity = param - previous[name].params[key]
            expected = param + args.alpha * velocity - args.learning_rate * g if args.alpha > 0 else param - args.learning_rate * g
            error = relative_error(after[name].params[key] - param, expected - param)
            if not error < SAME:
                raise Failed(f"{run.question} epoch 1: the parameters it hands back are not what its training steps "
                             f"leave: step {at + 1}, made again from the parameters before it, gives {name}.params"
                             f"['{key}'] other values (max relative error {error:.2e})")


def check_test_time(run, code, network, model, ours, mine, data):
    """FAIL unless the student's modules, at test time on a random batch of each split, give what ours give
    with its parameters on the same inputs; the FAIL names the first module where the two part. An output
    of another shape than ours is never fed to our modules."""
    pick = random.SystemRandom()
    for split in ('train', 'valid'):
        X = data[split][0]
        x = X[sorted(pick.sample(range(len(X)), min(network.eval_batch, len(X))))]
        scores, inputs = network.forward(model, x, False)
        outputs = code.values(inputs[1:] + [scores])
        if not (isinstance(outputs, list) and len(outputs) == len(inputs)):
            raise Failed(f'{run.question} epoch 1: its test-time outputs came back as something else than a list')
        our_scores, our_inputs = ours.forward(mine, x, False)
        for (name, kind, *_), fed, output, shape in zip(CHAINS[run.driver][1], [x] + outputs, outputs,
                                                        [a.shape for a in our_inputs[1:] + [our_scores]]):
            if not (isinstance(output, np.ndarray) and output.shape == shape):
                got = f'shape {output.shape}' if isinstance(output, np.ndarray) else \
                    f'a {getattr(output, "type_name", type(output).__name__)}'
                raise Failed(f"{run.question} epoch 1: at test time {name}.forward gives {got}, the course's shape {shape}")
            error = relative_error(output, layer_forward(mine[name], kind, fed, False))
            if not error < SAME:
                raise Failed(f"{run.question} epoch 1: its evaluation is not what its trained parameters give: at test "
                             f"time {name}.forward ({kind}) gives other numbers than the course's on the same input "
                             f"(max relative error {error:.2e})")
