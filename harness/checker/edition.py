"""Which copy of the checker this is: the answer key's (this repository) or a students' handout's.

scripts/handout.py writes the handout's own version of this file; nothing else changes it.
"""

# None in the answer key, where the repository's dnn_misc.py holds the answer and the checks compute
# with it. In a handout, the path (from the top level) of the handout's dnn_misc.py as handed out,
# kept inside the checker: its given modules are what the checks compute with, and the five methods
# students write come from the student's own file, once they pass their checks.
HANDED_OUT = None
