"""What grades: a class's submissions unpacked (unpack.py, canvas.py), each graded from the checker's
report on a scratch copy (grading.py) with its code in the sandbox (sandbox.py), scored on the
rubric (rubric.py), with the assignment's rules (rules.py), the same-code report (same_code.py) and
Canvas's gradebook (gradebook.py)."""
