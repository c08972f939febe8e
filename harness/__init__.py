"""What the homework does not name: the training loop, the evaluation, result files, the course's
runs and results, the checker's and the grader's internals.

Imported before NumPy loads (the drivers import it first), it asks NumPy's BLAS for one thread,
unless the user chose a number. BLAS threads wait for work busily, so beside them the evaluation
that a CNN run makes on the second CPU (evaluation.py) would slow both to a crawl; and the
networks' products, at minibatches of 5, gain nothing from a second thread.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository's top level

# OpenBLAS (NumPy's wheels), OpenMP builds, MKL (conda's NumPy), Apple's Accelerate.
BLAS_THREADS = ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS')

if 'numpy' not in sys.modules:
    for _name in BLAS_THREADS:
        os.environ.setdefault(_name, '1')


def blas_runs_one_thread():
    """Whether BLAS was asked for one thread: every variable that is set says 1, and one is set."""
    values = [os.environ[name] for name in BLAS_THREADS if name in os.environ]
    return bool(values) and all(value.strip() == '1' for value in values)
