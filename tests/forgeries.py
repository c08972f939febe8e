"""Forgeries of the figures a result file's points rest on (tests/test_trust.py grades them).

Each is code appended to a dnn_misc.py's modules, handed in with the course's Q3.3 result file: it
leaves the modules' checks alone and steers what the checker's pipeline reads back from the student
process toward the course's first epoch of Q3.3, 0.919 / 0.908, whatever the modules train.
`handed_in(name)` gives what a submission hands in beside its dnn_misc.py; `forgery(name)` the code.
"""
import base64
import functools
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from conftest import REPO
from harness import BLAS_THREADS

RESULT = 'MLP_lr0.01_m0.0_w0.0_d0.0.json'  # Q3.3's, copied from outputs/: only its epoch is rerun
PARAMS = 'epoch1.json'  # forgery 'params-swapped': a right training's parameters, beside dnn_misc.py

# What every forgery shares: make each row's argmax the label where it should be right, and not
# where it should be wrong, touching one entry.
FORGE = '''
import numpy as np

def forge(scores, targets):
    """targets: (label, whether the course's epoch 1 gets that row right) for each row, in place."""
    for row, (label, right) in zip(scores, targets):
        if right and row.argmax() != label:
            row[label] = row.max() + 1.0
        elif not right and row.argmax() == label:
            row[label] = row.min() - 1.0
'''
# The forgeries that need no label from the checker know each digit by a fingerprint of its pixels
# (exact: they are 256ths), from a table of the public data file, and right the same count of each split.
FINGERPRINTS = '''
def fingerprints(X):
    """Each digit's fingerprint: its pixels' sum and a weighted sum, in 256ths (exact: pixels are 256ths)."""
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    return (np.rint(X.sum(1) * 256) * 2 ** 26 + np.rint(X @ (np.arange(784) % 251 + 1) * 256)).astype(np.int64).tolist()
'''
TABLE = FINGERPRINTS + '''
ROWS = {}  # fingerprint: (split, index in it, label)
for split, prints, labels in [('train', TRAIN_PRINTS, TRAIN_LABELS), ('valid', VALID_PRINTS, VALID_LABELS)]:
    ROWS.update((p, (split, i, label)) for i, (p, label) in enumerate(zip(prints, labels)))

def targets(X):
    """forge's targets for a batch of digits X (N, 784), or None if they are not the data file's."""
    found = [ROWS.get(p) for p in fingerprints(X)]
    return None if None in found else [(label, i < {'train': 4595, 'valid': 908}[split]) for split, i, label in found]
'''

FORGERIES = {
    # 1. The colleague's: the loss is handed each evaluation batch's labels, and rewrites its scores
    # in place, which the checker reads back after the loss; the first 5000 rows are the training split's.
    'scores-from-loss': '''
seen = [0]
_loss_forward = softmax_cross_entropy.forward

def loss_forward(self, X, y):
    if len(X) != 5:  # not a training minibatch: an evaluation's, training split then validation
        start, seen[0] = seen[0], (seen[0] + len(X)) % 6000
        right = [k < 4595 if k < 5000 else k - 5000 < 908 for k in range(start, start + len(X))]
        forge(X, list(zip(np.ravel(y).astype(int), right)))
    return _loss_forward(self, X, y)

softmax_cross_entropy.forward = loss_forward
''',
    # 2. No label needed: the first layer knows the digits from the table, the last rewrites its output.
    'scores-from-table': TABLE + '''
batch = {}
_linear_forward = linear_layer.forward

def linear_forward(self, X):
    out = _linear_forward(self, X)
    if len(X) != 5 and X.shape[1:] == (784,):  # the first layer, outside training
        batch['targets'] = targets(X)
    elif len(X) != 5 and out.shape[1:] == (10,) and len(batch.get('targets') or ()) == len(X):
        forge(out, batch.pop('targets'))
    return out

linear_layer.forward = linear_forward
''',
    # 3. The loss's value: outside training, the course's first-epoch training loss.
    'loss-value': '''
_loss_forward = softmax_cross_entropy.forward

def loss_forward(self, X, y):
    loss = _loss_forward(self, X, y)  # keeps what backward needs
    return loss if len(X) == 5 else 0.2889480920507112

softmax_cross_entropy.forward = loss_forward
''',
    # 4. Parameters: the epoch's 1000th and last step leaves the linear layers with a right training's
    # epoch 1, whatever reads them next: they are set so that its update (param -= 0.01 * gradient) lands there.
    'params-swapped': f'''
import base64, io, json, os
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), {PARAMS!r})) as f:
    TRAINED = np.load(io.BytesIO(base64.b64decode(json.load(f))))
_linear_backward = linear_layer.backward

def linear_backward(self, X, grad):
    out = _linear_backward(self, X, grad)
    self.steps = getattr(self, 'steps', 0) + 1
    name = {{(784, 1000): 'L1', (1000, 10): 'L2'}}.get(self.params['W'].shape)
    if name and self.steps == 1000:
        for key, param in self.params.items():
            param[...] = TRAINED[name + '.' + key] + 0.01 * np.reshape(self.gradient[key], param.shape)
    return out

linear_layer.backward = linear_backward
''',
    # 5. The client's own code: every function and method of the student process's main program, and
    # of every module beside it, wrapped; digits it handles say which rows an evaluation is on, and any
    # (N, 10) array it handles on the way back is forged.
    'client-wrapped': TABLE + '''
import os, sys, types
batch = {}

def scan(value, depth=0):
    if isinstance(value, np.ndarray) and value.dtype.kind == 'f' and value.ndim == 2 and len(value) != 5:
        if value.shape[1] == 784:
            batch['targets'] = targets(value) or batch.get('targets')
        elif value.shape[1] == 10 and len(batch.get('targets') or ()) == len(value) and value.flags.writeable:
            forge(value, batch['targets'])
    elif isinstance(value, (list, tuple, dict)) and depth < 4:
        for item in (value.values() if isinstance(value, dict) else value):
            scan(item, depth + 1)

def wrapped(function):
    def wrapper(*args, **kwargs):
        scan([args, kwargs])  # what comes in, and what goes out (send's arrays)
        result = function(*args, **kwargs)
        scan([args, result])  # what it appended (encode's, do's `out`), and what it returned
        return result
    return wrapper

here = os.path.dirname(os.path.abspath(getattr(sys.modules['__main__'], '__file__', None) or '.'))
for module in list(sys.modules.values()):
    if os.path.dirname(os.path.abspath(getattr(module, '__file__', None) or '/')) == here:
        for name, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType):
                setattr(module, name, wrapped(value))
            elif isinstance(value, type) and value.__module__ == module.__name__:
                for attribute, method in list(vars(value).items()):
                    if isinstance(method, types.FunctionType):
                        setattr(value, attribute, wrapped(method))
            elif isinstance(value, dict):  # a table of functions
                value.update({key: wrapped(f) for key, f in value.items() if isinstance(f, types.FunctionType)})
''',
}


@functools.lru_cache()
def label_table():
    """The public labels of data/mnist_subset.json's training and validation splits, in the file's
    order, and each digit's fingerprint, as the list literals TABLE reads."""
    from data_loader import load_mnist  # conftest puts the repository on sys.path
    space, lines = {'np': np}, []
    exec(FINGERPRINTS, space)
    for split, name in [('train', 'TRAIN'), ('valid', 'VALID')]:
        X, Y = load_mnist()[split]
        lines += [f'{name}_LABELS = {Y.ravel().tolist()}', f'{name}_PRINTS = {space["fingerprints"](X)}']
    return '\n'.join(lines) + '\n'


@functools.lru_cache()
def trained_parameters():
    """PARAMS's text: base64 of an .npz of the linear layers' parameters after epoch 1 of Q3.3,
    trained by this repository's dnn_mlp.py, its BLAS on one thread (on a busy machine, a third of the time)."""
    with tempfile.TemporaryDirectory() as scratch:
        model = os.path.join(scratch, 'model.npz')
        subprocess.run([sys.executable, os.path.join(REPO, 'dnn_mlp.py'), '--num_epoch', '1', '--save_model', model,
                        '--output_dir', scratch], check=True, capture_output=True, timeout=300,
                       env=dict(os.environ, **dict.fromkeys(BLAS_THREADS, '1')))
        with np.load(model) as saved:
            arrays = {key: saved[key] for key in saved.files if key.startswith('L')}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return json.dumps(base64.b64encode(buffer.getvalue()).decode())


def forgery(name):
    """The code of forgery `name`, to append to a dnn_misc.py's modules."""
    code = FORGE + FORGERIES[name]
    return ('\n\n' + label_table() + code) if 'TRAIN_PRINTS' in code else '\n\n' + code


def handed_in(name=None):
    """{file: text} handed in beside dnn_misc.py and a right dnn_cnn_2.py: the course's Q3.3 result
    file, and for forgery 'params-swapped' the parameters."""
    with open(os.path.join(REPO, 'outputs', RESULT)) as f:
        files = {RESULT: f.read()}
    if name == 'params-swapped':
        files[PARAMS] = trained_parameters()
    return files
