"""`--pipeline`: the first epoch of Q3.3 to Q3.8 with the student's modules, through the course's networks
as our drivers train them (networks.py).

The course's students got, on the course's data, 0.919 / 0.908 (Q3.3),
0.9118 / 0.919 (Q3.4, dropout 0.5), 0.8394 / 0.852 (Q3.5), 0.888 / 0.886
(Q3.6), 0.8962 / 0.913 (Q3.7) and 0.9492 / 0.955 (Q3.8), training / validation
accuracy (harness/course.py). A faithful dnn_misc.py gives these (the CNN runs
within harness/course.py's tolerance); anything else changed a number or a random
draw, and the quick checks name the likeliest cause. Each check also reports
the figures it saw, which the grader compares with a student's result files.
"""

import os

from harness.checker import given, student
from harness.checker.probe import Failed, Probe
from harness.course import BY_QUESTION, tolerance
from harness.evaluation import EpochEvaluation

QUESTIONS = ['Q3.3', 'Q3.4', 'Q3.5', 'Q3.6', 'Q3.7', 'Q3.8']  # the runs our drivers make from dnn_misc.py alone

CAUSES = [  # (a quick check, what its failure means for the pipeline), most telling first
    (student.linear_initialisation, "the initial weights are not drawn as the course's: "
                                    "np.random.normal(0, 0.1, shape), W before b"),
    (given.dropout_draws, "dropout.forward does not draw one uniform number per entry in every training forward "
                          "(even at rate 0), so every later random draw moves"),
    (student.dropout_forward, "the dropout mask is not np.random.uniform(0.0, 1.0, X.shape) >= r, scaled by 1 / (1 - r)"),
    (student.linear_forward, 'linear_layer.forward is wrong'),
    (student.linear_backward, 'a gradient of linear_layer is wrong'),
    (student.relu_forward, 'relu.forward is wrong'),
    (student.relu_backward, 'relu.backward is wrong'),
    (student.dropout_backward, 'dropout.backward is wrong'),
]

_data = {}


def likeliest_cause(module, path):
    for check, cause in CAUSES:
        try:
            check(module, Probe(module, path))
        except Exception:
            return cause
    return ("random numbers are drawn in another order than the course's, or a module's numbers differ "
            "in a way the quick checks miss")


class RemoteClasses:
    """The student's classes, as networks.network asks for them: each makes a module in the student
    process, whose forward and backward calls go with the training step's request."""

    def __init__(self, student, path):
        self.student, self.path = student, path

    def __getattr__(self, kind):
        def make(*args):
            module = self.student.make(kind, args)
            if module is None:
                raise Failed(f'{os.path.basename(self.path)} has no class {kind}')
            return module
        return make


def trained_epoch(run, classes, optimizer):
    """(training, validation accuracy) after one epoch of the course's `run`, as our drivers train it:
    the course's network made of `classes` (ours, or RemoteClasses), the update `optimizer` makes.
    As in the course's drivers, a loss that is no longer finite stops nothing: the accuracies tell."""
    from harness.checker.networks import network as course_network
    from harness.flags import build_parser

    from harness import training
    from data_loader import load_mnist

    network = course_network(run.driver, classes)
    args = build_parser(network).parse_args(['--num_epoch', '1'])
    vars(args).update(run.flags)
    if 'vectors' not in _data:  # read once: the images are the same arrays, reshaped
        _data['vectors'] = load_mnist()
        _data['images'] = {split: (X.reshape(-1, 1, 28, 28), Y) for split, (X, Y) in _data['vectors'].items()}
    data = _data['images' if network.as_images else 'vectors']
    model, optimizer = training.new_training(network, args, optimizer)
    training.train_epoch(network, model, optimizer, *data['train'], args.minibatch_size)
    evaluation = EpochEvaluation(network, model, data, args.minibatch_size, background=False)
    _, train_accuracy, validation_accuracy, _ = evaluation.measure(model)
    return train_accuracy, validation_accuracy


def first_epoch(process, probe, question):
    """Train for one epoch as `question` does, with the student's modules, in the student process:
    the loop, the data, the random draws between steps and the accuracies are the checker's."""
    run = BY_QUESTION[question]
    train, val = run.epoch1
    got = trained_epoch(run, RemoteClasses(process, probe.path), process.optimizer)
    probe.figures = {'train': got[0], 'val': got[1]}
    if max(abs(got[0] - train), abs(got[1] - val)) > tolerance(run.name) + 1e-12:
        raise Failed(f'{question} epoch 1 gives training / validation accuracy {got[0]} / {got[1]}, the course\'s '
                     f'{train} / {val}; likeliest cause: {likeliest_cause(process, probe.path)}')
    if got == (train, val):
        return f'epoch 1: {train} / {val}, as the course\'s'
    return f"epoch 1: {got[0]} / {got[1]}, within {tolerance(run.name)} of the course's {train} / {val}"


CHECKS = [('pipeline', f'{question} epoch 1{detail}',
           lambda module, probe, question=question: first_epoch(module, probe, question))
          for question, detail in [('Q3.3', ''), ('Q3.4', ' (dropout 0.5)'), ('Q3.5', ' (dropout 0.95)'),
                                   ('Q3.6', ' (no relu)'), ('Q3.7', ' (CNN)'), ('Q3.8', ' (CNN, momentum)')]]
