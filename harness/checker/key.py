"""The modules the checker computes with, where a check needs numbers of its own: the given modules
(conv_layer, max_pool, the losses, ...) and the five methods students write.

In the answer key (edition.HANDED_OUT is None), both are this repository's dnn_misc.py. In a students'
handout (scripts/handout.py), which holds no answer, the given modules come from the handout's
dnn_misc.py as handed out, kept inside the checker, and linear_layer, relu and dropout from the
student's own file once they pass their checks: there a pipeline's figures and a driver's checks
rest on the student's modules, and until those pass, say why they cannot run yet.
"""
import os
import types

from harness import REPO
from harness.checker import edition
from harness.checker.probe import Failed, import_file

STUDENTS = ('linear_layer', 'relu', 'dropout')  # the classes whose methods students write

GIVEN = import_file('given_dnn_misc', os.path.join(REPO, edition.HANDED_OUT or 'dnn_misc.py'))
IM2COL = import_file('given_dnn_im2col', os.path.join(REPO, 'dnn_im2col.py'))
_theirs = {}  # path: the modules made of the student's file there, or the Failed that says why not


def answer_key():
    """Whether this checker is the answer key's, whose own dnn_misc.py holds the five methods."""
    return edition.HANDED_OUT is None


def modules(path):
    """The modules to compute with: ours in the answer key; in a handout, the given modules and the
    student's classes of the dnn_misc.py at `path`, or Failed saying why they cannot be used yet."""
    if answer_key():
        return GIVEN
    path = os.path.abspath(path)
    if path not in _theirs:
        _theirs[path] = _students(path)
    if isinstance(_theirs[path], Failed):
        raise _theirs[path]
    return _theirs[path]


def _students(path):
    """The given modules with the student's classes, once the checks of what students write pass."""
    from harness.checker import assigned
    from harness.checker.runner import run_checks
    name = os.path.basename(path)
    for check, result in run_checks(path, assigned.CHECKS, lambda kind: 10.0):
        if result['verdict'] == 'FAIL':
            return Failed(f"cannot run yet: it computes with your {name}, as this checker holds no answer, and "
                          f"{check.module}.{check.name} FAILs its check there ({result['message']})")
    try:
        theirs = import_file('students_dnn_misc', path)
    except Exception as error:  # it passed its checks in a student process, but does not load here
        return Failed(f'cannot run yet: {name} does not load in the checker ({type(error).__name__}: {error})')
    found = types.SimpleNamespace(**vars(GIVEN))
    for class_name in STUDENTS:
        setattr(found, class_name, getattr(theirs, class_name))
    return found


def for_driver(driver_path, modules_path=None):
    """The dnn_misc.py a driver's checks compute with in a handout: the one given with --modules, else
    the one beside the driver, else the handout's."""
    beside = os.path.join(os.path.dirname(os.path.abspath(driver_path)), 'dnn_misc.py')
    return modules_path or (beside if os.path.isfile(beside) else os.path.join(REPO, 'dnn_misc.py'))
