"""What the homework does not name: the training loop, the evaluation, result files, the course's
runs and results, the checker's and the grader's internals.

Imported before NumPy loads (the drivers import it first), it asks NumPy's BLAS for one thread,
unless the user chose a number or the script that runs is an MLP driver (WHOLE_MACHINE).
BLAS threads wait for work busily, so beside them the evaluation that a CNN run makes on the second
CPU (evaluation.py) would slow both to a crawl, and a CNN's small products gain nothing from a
second thread. An MLP's time goes into the products with its 784 x 1000 first layer, which BLAS
shares among the CPUs; it then evaluates in line. Either way the products give the same numbers,
bit for bit (bench/RESULTS.md has the figures).
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository's top level
# What a students' handout's TODO raises until it is written (scripts/handout.py), as
# NotImplementedError('linear_layer.forward is not written yet ...'): the drivers and the checker say so in one line.
NOT_WRITTEN = ' is not written yet'

# OpenBLAS (NumPy's wheels), OpenMP builds, MKL (conda's NumPy), Apple's Accelerate.
BLAS_THREADS = ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS')

WHOLE_MACHINE = ('dnn_mlp.py', 'dnn_mlp_nononlinear.py')  # drivers that leave BLAS a thread per CPU
ASKED = {}  # the variables this process set, which harness.run_driver does not pass on to a driver

if 'numpy' not in sys.modules and os.path.basename((getattr(sys, 'argv', None) or [''])[0]) not in WHOLE_MACHINE:
    for _name in BLAS_THREADS:
        if _name not in os.environ:
            os.environ[_name] = ASKED[_name] = '1'


def blas_runs_one_thread():
    """Whether BLAS was asked for one thread: every variable that is set says 1, and one is set."""
    values = [os.environ[name] for name in BLAS_THREADS if name in os.environ]
    return bool(values) and all(value.strip() == '1' for value in values)
