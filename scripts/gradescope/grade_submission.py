"""Gradescope: grade ROOT/submission as scripts/grade.py grades a class, and write
ROOT/results/results.json with one test per rubric item and the total as the score.

    python3 scripts/gradescope/grade_submission.py ROOT      # run_autograder does, with ROOT=/autograder

Gradescope shows every output as Markdown ("md": the top-level output_format, test_output_format
and each test's own). A test's output is its verdict in bold and its points, then the check's
message verbatim in a fenced code block (messages hold code such as `grad.T @ X`, `|`, `*`, `_`,
`<` and backticks); the grader's own sentence at the top is escaped. The notes that cost no points
(rubric.unscored_notes: the assignment's rules a file breaks, and failed checks with no item of
their own) go in the top-level output, beneath the status, so that the tests stay one per rubric
item and a note never shows as a failed test beside the scored ones.

The staff's own points (build.py --overrides, harness/grader/overrides.py) are applied to the
submission they name, with their reason in the item's output.

Whatever goes wrong, a valid results.json is written: a grading that fails is one failed test,
with the reason, and a score of 0.
"""
import json
import os
import re
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT_S, MEMORY_MB = 240.0, 2048  # per check run; Gradescope's container has about 10 minutes in all
MARKDOWN = {'output_format': 'md', 'test_output_format': 'md'}  # the top-level output's, and every test's
RULES = "**The assignment's rules**"


def fenced(text):
    """`text` verbatim in a fenced code block, its fence longer than any run of backticks in it."""
    text = str(text).rstrip('\n')
    fence = '`' * max(3, 1 + max((len(run) for run in re.findall('`+', text)), default=0))
    return f'{fence}text\n{text}\n{fence}'


def escaped(text):
    """One line of the grader's own prose, with the characters Markdown would read as markup escaped."""
    return re.sub(r'([\\`*_\[\]<>|#~])', r'\\\1', ' '.join(str(text).split()))


def item_output(verdict, message, score, points, override=None):
    """A test's Markdown: the verdict in bold and the points (and why, where the staff set them), then
    the message, if any, as it was."""
    from harness.grader.rubric import staff_note
    head = f'**{verdict}**: {score} of {points} points' + (f', {escaped(staff_note(override))}' if override else '')
    return f'{head}\n\n{fenced(message)}' if message else head


def staff_points(root, items):
    """{item: (points, reason)} that the staff's overrides (build.py --overrides) give this submission,
    named in them by its student's email before the @ (name.number at OSU) or SID, as Gradescope's
    submission_metadata.json has them."""
    from harness.grader import overrides
    path = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'overrides.csv')
    if not os.path.isfile(path):
        return {}
    table = overrides.read(path, items)
    try:
        with open(os.path.join(root, 'submission_metadata.json'), encoding='utf-8') as f:
            users = json.load(f).get('users') or []
    except (OSError, ValueError, AttributeError):
        return {}
    names = {str(user.get(key) or '').split('@')[0].strip().lower() for user in users if isinstance(user, dict)
             for key in ('email', 'sid')} - {''}
    return {item: points for submission, given in table.items() if submission.lower() in names
            for item, points in given.items()}


def rules_output(notes):
    """The notes that cost no points, for the top-level output: each its own paragraph of one block."""
    if not notes:
        return f'{RULES}: none broken.'
    return f"{RULES} (they cost no points here; the course staff see them):\n\n" + fenced('\n\n'.join(notes))


def results(root):
    """The results.json of the submission in ROOT/submission, as a dict."""
    from harness.grader import rubric, sandbox
    from harness.grader.grading import grade_submission

    items = rubric.load()
    submission = os.path.join(root, 'submission')
    staff = staff_points(root, items)  # read before the submission's code runs
    isolation = sandbox.choose(timeout=TIMEOUT_S, memory_mb=MEMORY_MB)
    graded, status, _ = grade_submission(submission, isolation)
    row = rubric.score(items, graded, staff)
    tests = []
    for number, (name, points, kind, what) in enumerate(items, start=1):
        verdict, message = rubric.verdict(graded, kind, what)
        tests.append({'name': name, 'number': str(number), 'score': row[name], 'max_score': points,
                      'status': 'passed' if row[name] == points else 'failed', 'output_format': 'md',
                      'output': item_output(verdict, message, row[name], points,
                                            staff[name] if name in staff else None)})
    run = escaped(f"{status}. The submission was {isolation.describe()}"
                  + ('.' if isolation.bwrap else "; Gradescope's container isolates it."))
    return {'score': row['total'], 'tests': tests, **MARKDOWN,
            'output': f'{run}\n\n{rules_output(rubric.unscored_notes(items, graded))}'}


def main(argv):
    root = argv[1] if len(argv) > 1 else '/autograder'
    path = os.path.join(root, 'results', 'results.json')
    started = time.monotonic()
    try:
        report = results(root)
    except BaseException as error:  # anything at all: Gradescope shows a failed autograder without the file
        report = {'score': 0, 'output': 'The grader failed; please tell the course staff.', **MARKDOWN,
                  'tests': [{'name': 'grading', 'score': 0, 'max_score': 0, 'status': 'failed', 'output_format': 'md',
                             'output': '**The grader failed**: please tell the course staff.\n\n' + fenced(
                                 f'{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}')}]}
    report['execution_time'] = round(time.monotonic() - started, 1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(report, f, indent=1)
    os.replace(path + '.tmp', path)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
