"""`--pipeline`: the first epoch of Q3.3 to Q3.8 with the student's modules, through the course's networks
as our drivers train them (networks.py), against the course's figures (harness/course.py); a faithful
dnn_misc.py gives them (the CNN runs within harness/course.py's tolerance), and for one that does
not, the quick checks name the likeliest cause.

The figures are the checker's own. The student process trains, with the checker's data, minibatches
and random stream; the checker then reads the parameters that training left and evaluates them here,
with our modules, and no label of an evaluation enters the student process. Figures that are the
course's count once two checks, at points the operating system's randomness picks, have held: one
training step made again here from the parameters before it leaves the parameters handed back after
it; and the student's modules at test time, on a random batch, give what ours give with its
parameters. The grader compares the figures with a student's result files.
"""
import os
import random

import numpy as np

from harness import training
from harness.checker import modules, provided
from harness.checker.networks import network as course_network
from harness.checker.probe import Check, Failed, Probe, relative_error
from harness.course import BY_QUESTION, tolerance
from harness.evaluation import EpochEvaluation
from harness.flags import build_parser
from harness.sgd import SGD

SAME = 1e-6  # the largest relative error of numbers that are the same up to the order of sums

CAUSES = [  # (a quick check, what its failure means for the pipeline), most telling first
    (modules.linear_initialisation, "the initial weights are not drawn as the course's: "
                                    "np.random.normal(0, 0.1, shape), W before b"),
    (provided.dropout_draws, "dropout.forward does not draw one uniform number per entry in every training forward "
                             "(even at rate 0), so every later random draw moves"),
    (modules.dropout_forward, "the dropout mask is not np.random.uniform(0.0, 1.0, X.shape) >= r, scaled by 1 / (1 - r)"),
    (modules.linear_forward, 'linear_layer.forward is wrong'),
    (modules.linear_backward, 'a gradient of linear_layer is wrong'),
    (modules.relu_forward, 'relu.forward is wrong'),
    (modules.relu_backward, 'relu.backward is wrong'),
    (modules.dropout_backward, 'dropout.backward is wrong'),
]

_data = {}


def likeliest_cause(code):
    for check, cause in CAUSES:
        try:
            check(Probe(code, code.path))
        except Exception:
            return cause
    return ("random numbers are drawn in another order than the course's, or a module's numbers differ "
            "in a way the quick checks miss")


def course_data(as_images):
    if 'vectors' not in _data:  # read once: the images are the same arrays, reshaped
        from data_loader import load_mnist
        _data['vectors'] = load_mnist()
        _data['images'] = {split: (X.reshape(-1, 1, 28, 28), Y) for split, (X, Y) in _data['vectors'].items()}
    return _data['images' if as_images else 'vectors']


class RemoteClasses:
    """The student's classes, as networks.network asks for them: each makes a module in the student process."""

    def __init__(self, code):
        self.code = code

    def __getattr__(self, kind):
        def make(*args):
            module = self.code.make(kind, args)
            if module is None:
                raise Failed(f'{os.path.basename(self.code.path)} has no class {kind}')
            return module
        return make


class AuditedSGD:
    """The drivers' SGD in the student process (RemoteCode.optimizer), with the parameters read back
    around one step, `at`: after steps at - 1, at and at + 1, with NumPy's stream before and after
    step `at`, and its minibatch."""

    def __init__(self, code, model, learning_rate, alpha, lambda_, steps):
        code.optimizer(model, learning_rate, alpha, lambda_)
        self.code, self.model, self.learning_rate = code, model, learning_rate
        self.at, self.done = random.SystemRandom().randrange(2, steps - 1), 0
        self.params, self.states, self.batch = {}, {}, None

    def step(self, first_input=None):
        if self.done == self.at:
            forwards = [(module, args) for module, method, args, _ in self.code.calls if method == 'forward']
            self.batch = forwards[0][1][0], forwards[-1][1][1]  # the first module's input, the loss's labels
        self.code.step(self.learning_rate, first_input)
        self.done += 1
        if self.at - 1 <= self.done <= self.at + 1:
            self.params[self.done] = read_params(self.code, self.model)  # it waits: the stream comes back
            self.states[self.done] = np.random.get_state()


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
                raise Failed(f"{question} epoch 1: after training, {name}.params['{key}'] is {kind}, expected an "
                             f"array of shape {ours.shape}")
            model[name].params[key] = value.reshape(ours.shape)
    return model


def figures(network, model, data, B):
    """(training, validation accuracy) of the model, evaluated here, as our drivers evaluate."""
    return tuple(EpochEvaluation(network, model, data, B, background=False).measure(model)[1:3])


def settings(run, network):
    """The flags of the course's `run` for one epoch, as our drivers read them."""
    args = build_parser(network).parse_args(['--num_epoch', '1'])
    vars(args).update(run.flags)
    return args


def trained(network, args, optimizer):
    """The model and its optimizer after one epoch of `network` (the course's, made of our classes or
    of RemoteClasses), as our drivers train it, with the update `optimizer` makes. As in the course's
    drivers, a loss that is no longer finite stops nothing: the accuracies tell."""
    model, optimizer = training.new_training(network, args, optimizer)
    X, Y = course_data(network.as_images)['train']
    training.train_epoch(network, model, optimizer, X, Y, args.minibatch_size)
    return model, optimizer


def ours_epoch(run, dnn_misc):
    """(training, validation accuracy) after one epoch of `run` with the modules of `dnn_misc`, here."""
    network = course_network(run.driver, dnn_misc)
    args = settings(run, network)
    model, _ = trained(network, args, SGD)
    return figures(network, model, course_data(network.as_images), args.minibatch_size)


def remote_epoch(run, code):
    """The figures of one epoch of `run` trained with the student's modules in the student process
    (RemoteCode), evaluated here; and a function that raises Failed unless they are what its training
    and its own evaluation give (to be called when the figures are the course's)."""
    network = course_network(run.driver, RemoteClasses(code))
    args = settings(run, network)
    data = course_data(network.as_images)
    steps = len(data['train'][0]) // args.minibatch_size
    model, sgd = trained(network, args, lambda model, *flags: AuditedSGD(code, model, *flags, steps=steps))
    ours = course_network(run.driver, provided.reference)
    mine = reference_model(ours, args, read_params(code, model), run.question)
    got = figures(ours, mine, data, args.minibatch_size)
    return got, lambda: (check_step(run, ours, sgd, args), check_test_time(run, code, network, model, ours, mine, data))


def check_step(run, network, sgd, args):
    """FAIL unless step `sgd.at`, made here from the parameters the student process handed back before
    it (and the step before, for the velocity), gives what it handed back after it, with the same draws."""
    previous, before, after = (reference_model(network, args, sgd.params[sgd.at + d], run.question) for d in (-1, 0, 1))
    state = np.random.get_state()
    np.random.set_state(sgd.states[sgd.at])
    x, y = sgd.batch
    scores, cache = network.forward(before, x, True)
    before['loss'].forward(scores, y)
    network.backward(before, x, cache, before['loss'].backward(scores, y))
    drawn = np.random.get_state()
    np.random.set_state(state)
    same_draws = np.array_equal(drawn[1], sgd.states[sgd.at + 1][1]) and drawn[2:] == sgd.states[sgd.at + 1][2:]
    for name, module in before.items():
        for key, param in getattr(module, 'params', {}).items():
            g = module.gradient[key].reshape(param.shape) + args.lambda_ * param
            velocity = param - previous[name].params[key]
            expected = param + args.alpha * velocity - args.learning_rate * g if args.alpha > 0 else param - args.learning_rate * g
            error = relative_error(after[name].params[key] - param, expected - param)
            if not (error < SAME and same_draws):
                raise Failed(f"{run.question} epoch 1: the parameters it hands back are not what its training steps "
                             f"leave: step {sgd.at + 1}, made again from the parameters before it, gives {name}.params"
                             f"['{key}'] other values (max relative error {error:.2e})"
                             + ('' if same_draws else ' and draws other random numbers'))


def check_test_time(run, code, network, model, ours, mine, data):
    """FAIL unless the student's modules, at test time on a random batch of each split, give what ours give
    with its parameters on the same inputs; the FAIL names the first module where the two part."""
    pick = random.SystemRandom()
    for split in ('train', 'valid'):
        X = data[split][0]
        x = X[sorted(pick.sample(range(len(X)), min(network.eval_batch, len(X))))]
        scores, inputs = network.forward(model, x, False)
        outputs = code.values(inputs[1:] + [scores])
        if not (isinstance(outputs, list) and len(outputs) == len(inputs)):
            raise Failed(f'{run.question} epoch 1: its test-time outputs came back as something else than a list')
        for (name, module), fed, output in zip(list(mine.items())[:-1], [x] + outputs, outputs):
            if not (isinstance(fed, np.ndarray) and isinstance(output, np.ndarray)):
                raise Failed(f'{run.question} epoch 1: at test time {name}.forward gives a '
                             f'{getattr(output, "type_name", type(output).__name__)}, not an array')
            expected = module.forward(fed, is_train=False) if module.__class__.__name__ == 'dropout' else module.forward(fed)
            error = relative_error(output, expected) if output.shape == expected.shape else float('inf')
            if not error < SAME:
                raise Failed(f"{run.question} epoch 1: its evaluation is not what its trained parameters give: at test "
                             f"time {name}.forward ({module.__class__.__name__}) gives other numbers than the course's "
                             f"on the same input (max relative error {error:.2e})")


def first_epoch(probe, question):
    """Train for one epoch as `question` does, with the student's modules, in the student process."""
    run = BY_QUESTION[question]
    train, val = run.epoch1
    got, verify = remote_epoch(run, probe.code)
    if max(abs(got[0] - train), abs(got[1] - val)) > tolerance(run.name) + 1e-12:
        probe.figures = {'train': got[0], 'val': got[1]}
        raise Failed(f'{question} epoch 1 gives training / validation accuracy {got[0]} / {got[1]}, the course\'s '
                     f'{train} / {val}; likeliest cause: {likeliest_cause(probe.code)}')
    verify()  # figures that are the course's, once they are its own
    probe.figures = {'train': got[0], 'val': got[1]}
    if got == (train, val):
        return f'epoch 1: {train} / {val}, as the course\'s'
    return f"epoch 1: {got[0]} / {got[1]}, within {tolerance(run.name)} of the course's {train} / {val}"


CHECKS = [Check('pipeline', f'{question} epoch 1{detail}',
                lambda probe, question=question: first_epoch(probe, question), 'pipeline')
          for question, detail in [('Q3.3', ''), ('Q3.4', ' (dropout 0.5)'), ('Q3.5', ' (dropout 0.95)'),
                                   ('Q3.6', ' (no relu)'), ('Q3.7', ' (CNN)'), ('Q3.8', ' (CNN, momentum)')]]
