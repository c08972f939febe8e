"""The rubric: points per item, read from a file staff can copy and edit (scripts/rubric.json is
the assignment's), and what a graded submission earns of each, with the reason for every lost point.

An item is earned by a verdict of PASS or WARN from what it names:
- 'check MODULE.CHECK': a check of hw5_dnn_check.py on the dnn_misc.py (linear_layer.backward, ...);
- 'result FILE': a result file (present, the course's, and made by the code handed in);
- 'driver CHECK': the dnn_cnn_2.py, checked with our modules: 'network', or a TODO ('TODO (2)');
- 'rule RULE FILE': one of the assignment's rules (rules.py): 'collaboration dnn_misc.py',
  'imports dnn_cnn_2.py', 'given code dnn_misc.py' (with grade.py --template).
A rule, or a check, that fails with no item of its own costs nothing, and is a note all the same.
"""
import json
import os

from harness import REPO

DEFAULT = os.path.join(REPO, 'scripts', 'rubric.json')
KINDS = ('check', 'result', 'driver', 'rule')
EARNS = ('PASS', 'WARN')


class RubricError(Exception):
    """The rubric file is missing or malformed; the message names the file and the problem."""


def load(path=DEFAULT):
    """[(name, points, kind, what)] of the rubric file at `path`, or RubricError."""
    try:
        with open(path) as f:
            rubric = json.load(f)
    except OSError as error:
        raise RubricError(f'{path}: {error.strerror}') from None
    except ValueError as error:
        raise RubricError(f'{path}: not valid JSON ({error})') from None
    items = rubric.get('items') if isinstance(rubric, dict) else None
    if not isinstance(items, list) or not items:
        raise RubricError(f'{path}: expected an object with a non-empty list "items"')
    loaded = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or sorted(item) != ['earned_by', 'name', 'points']:
            raise RubricError(f'{path}: item {number} must have exactly "name", "points" and "earned_by"')
        name, points, earned_by = item['name'], item['points'], item['earned_by']
        kind, _, what = str(earned_by).partition(' ')
        if not isinstance(name, str) or not name.strip() or name in [n for n, _, _, _ in loaded]:
            raise RubricError(f'{path}: item {number} needs a name of its own, got {name!r}')
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not points >= 0:
            raise RubricError(f'{path}: item {name!r}: points must be a number >= 0, got {points!r}')
        if kind not in KINDS or not what:
            raise RubricError(f"{path}: item {name!r}: earned_by must be 'check MODULE.CHECK', 'result FILE', "
                              f"'driver CHECK' or 'rule RULE FILE', got {earned_by!r}")
        loaded.append((name, as_points(points), kind, what))
    return loaded


def verdict(graded, kind, what):
    """(verdict, message) of what an item names, in a graded submission; FAIL with the reason when
    it has none (the file did not load, the zip was refused)."""
    return graded[kind].get(what, ('FAIL', graded['missing'].get(kind, 'not checked')))


def score(items, graded, overrides=None):
    """The row of one graded submission: {item name: points, 'total', 'notes', 'overridden'}. `graded`
    maps each kind to {what: (verdict, message)}; what it lacks is lost, with the reason
    graded['missing'] gives. `overrides`, {item name: (points, reason)}, are the staff's: their
    points stand, whatever the verdict, and their reason is the item's note."""
    overrides = overrides or {}
    row, notes = {}, []
    for name, points, kind, what in items:
        found, message = verdict(graded, kind, what)
        row[name] = points if found in EARNS else 0
        if name in overrides:
            graded_points, row[name] = row[name], overrides[name][0]
            notes.append(f'{name}: {row[name]} of {points}, {staff_note(overrides[name])} (graded {graded_points}'
                         + (f': {message})' if graded_points != points else ')'))
        elif found not in EARNS and points:
            notes.append(f'{name}: 0 of {points}: {message}')
    row['total'] = as_points(sum(row[name] for name, _, _, _ in items))
    row['notes'] = '; '.join(notes + unscored_notes(items, graded))
    row['overridden'] = '; '.join(name for name, _, _, _ in items if name in overrides)
    return row


def staff_note(override):
    """How an item's points set by staff are explained, wherever they are shown."""
    return f'set by the course staff: {override[1]}'


def unscored_notes(items, graded):
    """A note for each rule that fails, and each check of the modules that fails with no item of its
    own (the given dropout.forward, ...), unless an item already lost points for it: they cost
    nothing, but staff see them on the row."""
    noted = {(kind, what) for _, points, kind, what in items if points}
    notes = []
    for kind in ('check', 'rule'):
        for what, (found, message) in graded.get(kind, {}).items():
            if found == 'FAIL' and (kind, what) not in noted and not what.startswith('pipeline.'):
                notes.append(f'{what}: {message}' + (' (no points of its own)' if kind == 'check' else ''))
    return notes


def possible(items):
    """The first row of the table (Otter's convention): each item's maximum and their total."""
    row = {name: points for name, points, _, _ in items}
    row.update(submission='points possible', total=as_points(sum(points for _, points, _, _ in items)),
               status='', notes='')
    return row


def feedback(submission, items, row, graded, overrides=None):
    """A student's feedback, in Markdown: the points per item and why (the staff's reason where
    `overrides`, {item name: (points, reason)}, set them), then every check."""
    overrides = overrides or {}
    total = possible(items)['total']
    lines = [f'# {submission}: {row["total"]} of {total} points', '', f'Status: {row["status"]}', '',
             '| item | points | of | why not all |', '|---|---|---|---|']
    for name, points, kind, what in items:
        found, message = verdict(graded, kind, what)
        why = staff_note(overrides[name]) if name in overrides else '' if found == 'PASS' else message
        lines.append(f"| {name} | {row[name]} | {points} | {_cell(why)} |")
    lines += ['', '## Every check', '']
    for kind in KINDS:
        for what, (found, message) in graded[kind].items():
            lines.append(f'- {found} {kind} {what}: {message}')
    return '\n'.join(lines) + '\n'


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def as_number(text):
    """Points written as text: 5 as 5, 2.5 as 2.5; None for what is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return as_points(value) if abs(value) != float('inf') and value == value else None


def as_points(value):
    """5.0 as 5, 2.5 as 2.5: points as staff write them."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
