"""How many threads the BLAS under NumPy runs: chosen once, before NumPy loads.

The convolutional networks' matrix products are too small to gain from a
second BLAS thread, and BLAS threads wait for work busily: any other thread
running beside them slows both to a crawl. So the CNN drivers ask for one
BLAS thread, and dnn_training then evaluates each epoch on the second CPU
while the next epoch trains. The MLP drivers keep BLAS's own choice: their
784 x 1000 products do gain from two threads.

Standard library only: this must run before anything imports NumPy.
"""
import os
import sys

# OpenBLAS (NumPy's wheels), OpenMP builds, MKL (conda's NumPy), Apple's Accelerate.
VARIABLES = ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS')


def use_one():
    """Ask for one BLAS thread, unless the user chose a number or NumPy is already loaded (too late)."""
    if 'numpy' not in sys.modules:
        for name in VARIABLES:
            os.environ.setdefault(name, '1')


def is_one():
    """Whether BLAS was asked for one thread: every variable that is set says 1, and one is set."""
    values = [os.environ[name] for name in VARIABLES if name in os.environ]
    return bool(values) and all(value.strip() == '1' for value in values)
