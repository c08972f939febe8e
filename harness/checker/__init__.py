"""The checks behind hw5_dnn_check.py: each module of a dnn_misc.py called as the drivers call it."""

VERDICTS = ('PASS', 'WARN', 'FAIL')  # a check's verdicts, best first
