"""`--pipeline`: the first epoch of Q3.3 and of Q3.4 with the student's modules, through our drivers.

The course's pipeline gives, on this data, 0.9208 / 0.883 (Q3.3) and
0.9116 / 0.884 (Q3.4, dropout 0.5), training / validation accuracy. A
faithful dnn_misc.py gives exactly these; anything else changed a number or
a random draw, and the quick checks name the likeliest cause.
"""
import os

from checker import given, student
from checker.probe import Failed, Probe

QUESTIONS = {'Q3.3': ({}, 0.9208, 0.883), 'Q3.4': ({'dropout_rate': 0.5}, 0.9116, 0.884)}

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


def first_epoch(module, probe, question):
    """Train the MLP for one epoch as `question` does, with the student's modules (imported as dnn_misc)."""
    import dnn_training
    from data_loader import load_mnist
    from dnn_mlp import MLP

    flags, train, val = QUESTIONS[question]
    args = dnn_training.build_parser(MLP).parse_args(['--num_epoch', '1'])
    vars(args).update(flags)
    if 'data' not in _data:
        _data['data'] = load_mnist()
    record = dnn_training.train(MLP, args, _data['data'], log=lambda *_: None)
    got = (record['train'][0], record['val'][0])
    if got != (train, val):
        raise Failed(f'{question} epoch 1 gives training / validation accuracy {got[0]} / {got[1]}, the course\'s '
                     f'pipeline {train} / {val}; likeliest cause: {likeliest_cause(module, probe.path)}')
    return f'epoch 1: {train} / {val}, as the course\'s pipeline'


def q33(module, probe):
    return first_epoch(module, probe, 'Q3.3')


def q34(module, probe):
    return first_epoch(module, probe, 'Q3.4')


CHECKS = [
    ('pipeline', 'Q3.3 epoch 1', q33),
    ('pipeline', 'Q3.4 epoch 1 (dropout 0.5)', q34),
]
