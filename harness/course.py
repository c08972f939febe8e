"""The course's seven runs, and the results its students handed in (FACTS.md, "Reference points").

Those results were made from the course's data file, data/mnist_subset.json; 13 to 20 students'
public repositories agree on each file at every epoch, and so do our drivers with our modules.
"""
from collections import namedtuple

Run = namedtuple('Run', 'question name label driver flags epoch1 epoch30')

# epoch1 and epoch30: the course's (training, validation) accuracy after that epoch.
RUNS = [
    Run('Q3.3', 'MLP_lr0.01_m0.0_w0.0_d0.0.json', 'MLP', 'dnn_mlp', {}, (0.919, 0.908), (0.9994, 0.941)),
    Run('Q3.4', 'MLP_lr0.01_m0.0_w0.0_d0.5.json', 'MLP, dropout 0.5', 'dnn_mlp', {'dropout_rate': 0.5},
        (0.9118, 0.919), (0.9952, 0.952)),
    Run('Q3.5', 'MLP_lr0.01_m0.0_w0.0_d0.95.json', 'MLP, dropout 0.95', 'dnn_mlp', {'dropout_rate': 0.95},
        (0.8394, 0.852), (0.9306, 0.93)),
    Run('Q3.6', 'LR_lr0.01_m0.0_w0.0_d0.0.json', 'MLP without relu', 'dnn_mlp_nononlinear', {},
        (0.888, 0.886), (0.9708, 0.906)),
    Run('Q3.7', 'CNN_lr0.01_m0.0_w0.0_d0.5.json', 'CNN', 'dnn_cnn', {}, (0.8962, 0.913), (0.9776, 0.976)),
    Run('Q3.8', 'CNN_lr0.01_m0.9_w0.0_d0.5.json', 'CNN, momentum 0.9', 'dnn_cnn', {'alpha': 0.9},
        (0.9492, 0.955), (0.997, 0.988)),
    Run('Q3.10', 'CNN2_lr0.001_m0.9_w0.0_d0.5.json', 'two-conv CNN, momentum 0.9', 'dnn_cnn_2', {'alpha': 0.9},
        (0.9056, 0.913), (0.9946, 0.99)),
]
BY_QUESTION = {run.question: run for run in RUNS}
BY_NAME = {run.name: run for run in RUNS}

# The MLP and LR runs match the course's exactly; a CNN's sums may run in another order, which can
# move an accuracy by a sample or two, so a CNN figure may differ by this much (more means a bug).
CNN_TOLERANCE = 0.003


def tolerance(name):
    """How far a result file's accuracies may lie from the course's: 0 for the MLP and LR runs."""
    return CNN_TOLERANCE if name.startswith('CNN') else 0.0
