"""The checks behind hw5_dnn_check.py: each module of a dnn_misc.py called as the drivers call it.

What the grader uses of the checker, besides its JSON report: the verdicts, and how a student
process is started in the sandbox it chooses (launch.py).
"""
from harness.checker.launch import PROC, Launcher, as_root, student_uid, student_user

VERDICTS = ('PASS', 'WARN', 'FAIL')  # a check's verdicts, best first
__all__ = ['VERDICTS', 'PROC', 'Launcher', 'as_root', 'student_uid', 'student_user']
