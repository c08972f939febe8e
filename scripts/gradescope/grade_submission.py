"""Gradescope: grade ROOT/submission as scripts/grade.py grades a class, and write
ROOT/results/results.json with one test per rubric item and the total as the score.

    python3 scripts/gradescope/grade_submission.py ROOT      # run_autograder does, with ROOT=/autograder

Whatever goes wrong, a valid results.json is written: a grading that fails is one failed test,
with the reason, and a score of 0.
"""
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

TIMEOUT_S, MEMORY_MB = 240.0, 2048  # per check run; Gradescope's container has about 10 minutes in all


def results(root):
    """The results.json of the submission in ROOT/submission, as a dict."""
    from harness.grader import rubric, sandbox
    from harness.grader.grading import grade_submission

    items = rubric.load()
    submission = os.path.join(root, 'submission')
    isolation = sandbox.choose(timeout=TIMEOUT_S, memory_mb=MEMORY_MB)
    graded, status, _ = grade_submission(submission, isolation)
    row = rubric.score(items, graded)
    tests = []
    for number, (name, points, kind, what) in enumerate(items, start=1):
        verdict, message = rubric.verdict(graded, kind, what)
        tests.append({'name': name, 'number': str(number), 'score': row[name], 'max_score': points,
                      'status': 'passed' if row[name] == points else 'failed', 'output': f'{verdict}: {message}'})
    return {'score': row['total'], 'tests': tests,
            'output': f"{status}. The submission was {isolation.describe()}"
                      + ('.' if isolation.bwrap else "; Gradescope's container isolates it.")}


def main(argv):
    root = argv[1] if len(argv) > 1 else '/autograder'
    path = os.path.join(root, 'results', 'results.json')
    started = time.monotonic()
    try:
        report = results(root)
    except BaseException as error:  # anything at all: Gradescope shows a failed autograder without the file
        report = {'score': 0, 'output': 'The grader failed; please tell the course staff.',
                  'tests': [{'name': 'grading', 'score': 0, 'max_score': 0, 'status': 'failed',
                             'output': f'{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}'}]}
    report['execution_time'] = round(time.monotonic() - started, 1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(report, f, indent=1)
    os.replace(path + '.tmp', path)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
