"""Staff's own changes to the grades: a CSV staff write and grade.py only reads (--overrides).

    submission,item,points,reason
    park.7,Q3.2 relu.backward,5,regrade request: the mask is right; the checker's case was fixed later

A submission is named as its row of the grades' CSV names it, an item as its column does. Each row
sets that cell to its points (0 to the item's maximum), whatever the grading gave, on every rerun;
the reason is shown as the staff's wherever the points are: the CSV's notes, the feedback, Canvas's
import (the total) and Gradescope's results.json.
"""
import csv
import io

from harness.grader.rubric import as_number

HEADER = ['submission', 'item', 'points', 'reason']


class OverrideError(Exception):
    """The overrides file cannot be used; the message names the file, the line and the problem."""


def read(path, items, submissions=None):
    """{submission: {item: (points, reason)}} of the overrides file at `path`, each row checked
    against the rubric's `items` [(name, points, kind, what)] and, when given, the `submissions`
    being graded, {name staff may use: its submission, or a list of those it could be};
    OverrideError at the first row that is wrong."""
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8-sig')  # a spreadsheet's "CSV UTF-8" starts with a BOM
    except OSError as error:
        raise OverrideError(f'{path}: {error.strerror}') from None
    except UnicodeDecodeError:
        raise OverrideError(f'{path}: not UTF-8 text; save it as "CSV UTF-8"') from None
    table = list(csv.reader(io.StringIO(text, newline='')))
    if not table or [cell.strip() for cell in table[0]] != HEADER:
        raise OverrideError(f"{path}: line 1 must be the header {','.join(HEADER)}")
    maxima = {name: points for name, points, _, _ in items}
    found = {}
    for line, row in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(HEADER):
            raise OverrideError(f'{path}: line {line}: expected 4 cells ({", ".join(HEADER)}), got {len(row)}')
        submission, item, points, reason = (cell.strip() for cell in row)
        where = f'{path}: line {line}'
        if submissions is not None:
            if submission not in submissions:
                raise OverrideError(f'{where}: no submission {submission!r} in this class')
            if isinstance(submissions[submission], list):
                raise OverrideError(f"{where}: {submission!r} may be any of the submissions "
                                    f"{', '.join(submissions[submission])}; name it by its Canvas ID")
            submission = submissions[submission]
        if item not in maxima:
            raise OverrideError(f'{where}: no rubric item {item!r}; the items are {", ".join(maxima)}')
        value = as_number(points)
        if value is None or not 0 <= value <= maxima[item]:
            raise OverrideError(f'{where}: points must be a number from 0 to {maxima[item]} for {item!r}, '
                                f'got {points!r}')
        if not reason:
            raise OverrideError(f'{where}: no reason given for {submission} {item!r}')
        if item in found.get(submission, {}):
            raise OverrideError(f'{where}: {submission} {item!r} is set twice')
        found.setdefault(submission, {})[item] = (value, reason)
    return found
