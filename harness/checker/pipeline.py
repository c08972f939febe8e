"""`--pipeline`: the first epoch of Q3.3 to Q3.8 with the student's modules, through the course's networks
as our drivers train them (networks.py), against the course's figures (harness/course.py); a faithful
dnn_misc.py gives them (the CNN runs within harness/course.py's tolerance), and for one that does
not, the quick checks name the likeliest cause.

The figures are the checker's own. The student process trains, with the checker's data, minibatches
and random stream; the checker then reads the parameters that training left and evaluates them here,
with our modules (key.py; in a students' handout, which holds no answer, the student's own, once
they pass their checks): no label of an evaluation enters the student process. Figures that are the
course's count once audit.py's checks hold. The grader compares them with a student's result files.
"""

from harness import training
from harness.checker import assigned, key, provided
from harness.checker.audit import AuditedSGD, check_start, check_step, check_test_time, reference_model
from harness.checker.networks import network as course_network
from harness.checker.probe import Check, Failed, Probe
from harness.checker.process import Ended, TimedOut
from harness.course import BY_QUESTION, tolerance
from harness.evaluation import EpochEvaluation
from harness.flags import build_parser
from harness.sgd import SGD

CAUSES = [  # (a quick check, what its failure means for the pipeline), most telling first
    (assigned.linear_initialisation, "the initial weights are not drawn as the course's: "
                                    "np.random.normal(0, 0.1, shape), W before b"),
    (provided.dropout_draws, "dropout.forward does not draw one uniform number per entry in every training forward "
                             "(even at rate 0), so every later random draw moves"),
    (assigned.dropout_forward, "the dropout mask is not np.random.uniform(0.0, 1.0, X.shape) >= r, scaled by 1 / (1 - r)"),
    (assigned.linear_forward, 'linear_layer.forward is wrong'),
    (assigned.linear_backward, 'a gradient of linear_layer is wrong'),
    (assigned.relu_forward, 'relu.forward is wrong'),
    (assigned.relu_backward, 'relu.backward is wrong'),
    (assigned.dropout_backward, 'dropout.backward is wrong'),
]

_data = {}


def likeliest_cause(code):
    for check, cause in CAUSES:
        try:
            check(Probe(code, code.path))
        except (TimedOut, Ended):
            raise
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
    """The student's classes, as networks.network asks for them: each makes a module in the student
    process (Probe.make: FAIL naming a class it lacks)."""

    def __init__(self, code):
        self.probe = Probe(code, code.path)

    def __getattr__(self, kind):
        return lambda *args: self.probe.make(kind, *args)


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
    model, _ = trained(network, args, lambda model, *flags: SGD(model, *flags, add_momentum=dnn_misc.add_momentum))
    return figures(network, model, course_data(network.as_images), args.minibatch_size)


def remote_epoch(run, code):
    """The figures of one epoch of `run` trained with the student's modules in the student process
    (RemoteCode), evaluated here; and a function that raises Failed unless they are what its training
    and its own evaluation give (to be called when the figures are the course's)."""
    ours = course_network(run.driver, key.modules(code.path))
    network = course_network(run.driver, RemoteClasses(code))
    args = settings(run, network)
    data = course_data(network.as_images)
    steps = len(data['train'][0]) // args.minibatch_size
    model, sgd = trained(network, args, lambda model, *flags: AuditedSGD(code, model, *flags, steps=steps))
    mine = reference_model(ours, args, sgd.params[steps], run.question)
    got = figures(ours, mine, data, args.minibatch_size)
    return got, lambda: (check_start(run, ours, sgd, args), [check_step(run, ours, sgd, args, at) for at in sgd.audited],
                         check_test_time(run, code, network, model, ours, mine, data))


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
