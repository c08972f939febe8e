"""harness/grader/summary.py: the class at a glance, on a class made up here (no grading run).

    .venv/bin/python -m tests.test_summary outputs/grading-summary.png   # the README's picture, of this class
"""
import os
import sys

import pytest

from harness.course import RUNS
from harness.grader import rubric, same_code, summary

ITEMS = rubric.load()
RESULT = {run.question: run.name for run in RUNS}
CHECKS = ['linear_layer.forward', 'linear_layer.backward', 'linear_layer.initialisation', 'relu.forward',
          'relu.backward', 'dropout.forward', 'dropout.backward', 'dropout.backward at test time']
RELU = ('relu.backward(X, grad) on a case worked by hand is wrong: max relative error 3.57e-01 where |X| is '
        'small and the gradient should pass unchanged, elementwise\nexpected [[0.5, 0.0]], got [[0.25, 0.0]]')
Q310 = "epoch 1 reads 0.457 / 0.462, but the submission's dnn_cnn_2.py and modules give 0.101 / 0.098: not made by " \
       "the code handed in"
REFUSED = "refused: member '../../escaped.py' would land outside the folder"


def all_right():
    """What grade finds in a submission that earns every point."""
    return {'check': {what: ('PASS', 'max relative error 1.67e-10') for what in CHECKS},
            'driver': {'network': ('PASS', "built as the course's"), 'training pass': ('PASS', 'each forward ...'),
                       'accuracy passes': ('PASS', 'both passes ...'),
                       **{f'TODO ({i})': ('PASS', "wired as the course's") for i in range(2, 6)}},
            'result': {name: ('PASS', None) for name in RESULT.values()},
            'rule': {'collaboration dnn_misc.py': ('PASS', 'lists: none')}, 'missing': {}}


def failing(graded, kind, message, *whats):
    for what in whats:
        graded[kind][what] = ('FAIL', message)
    return graded


def broken_relu(message=RELU):
    """relu.backward wrong: every result file but Q3.6 (no relu) is not made by the code."""
    graded = failing(all_right(), 'check', message, 'relu.backward')
    relu_runs = [RESULT[q] for q in ('Q3.3', 'Q3.4', 'Q3.5', 'Q3.7', 'Q3.8')]
    failing(graded, 'result', "epoch 1 reads 0.919 / 0.908, but the submission's modules give 0.112 / 0.103: not "
                              "made by the code handed in", *relu_runs)
    return failing(graded, 'result', Q310, RESULT['Q3.10'])


def made_up_class():
    """(rows, graded_by, groups) of twelve submissions, rows made as grade.py's grade_all makes them."""
    accumulates = failing(all_right(), 'check', "linear_layer.gradient['b'] adds up from one backward call to the next",
                          'linear_layer.backward')
    failing(accumulates, 'result', "epoch 1 reads 0.919 / 0.908, but the submission's modules give 0.8984 / 0.893: "
                                   "not made by the code handed in", *RESULT.values())
    miswired = failing(all_right(), 'driver', 'TODO (3): nonlinear2.backward is never called in the training pass',
                       'training pass', 'TODO (3)')
    failing(miswired, 'result', Q310.replace('0.101 / 0.098', '0.447 / 0.45'), RESULT['Q3.10'])
    empty = {'check': {}, 'driver': {}, 'result': {name: ('FAIL', 'missing') for name in RESULT.values()}, 'rule': {},
             'missing': {'check': 'no dnn_misc.py in the submission', 'driver': 'no dnn_cnn_2.py in the submission'}}
    halfway = broken_relu('relu.backward(X, grad) returns grad unchanged where X < 0')
    failing(halfway, 'driver', 'TODO (5): M2.forward is never called in the accuracy pass',
            'accuracy passes', 'TODO (5)')
    no_list = failing(all_right(), 'rule', 'no list of whom the student discussed the homework with',
                      'collaboration dnn_misc.py')
    warn = all_right()
    warn['check']['linear_layer.backward'] = ('WARN', 'max relative error 2.1e-04: looser than expected')
    graded_by = {'right.1': all_right(), 'warn.2': warn,
                 'accumulates.3': accumulates, 'miswired.4': miswired, 'copy.5': all_right(),
                 'climbs.6': {**{kind: {} for kind in rubric.KINDS}, 'missing': dict.fromkeys(rubric.KINDS, REFUSED)},
                 'brokenrelu.7': broken_relu(), 'brokenrelu.8': broken_relu(), 'late.9': all_right(),
                 'empty.10': empty, 'nolist.11': no_list, 'halfway.12': halfway}
    rows = {}
    for number, (submission, graded) in enumerate(graded_by.items(), start=1):
        status = REFUSED if submission == 'climbs.6' else 'graded'
        row = rubric.score(ITEMS, graded)
        rows[submission] = {'submission': submission, 'canvas_id': str(2000 + number),
                            'late': 'late' if submission in ('late.9', 'halfway.12') else '', **row, 'status': status}
    texts = {submission: {'dnn_misc.py': f'x = {number}\n', 'dnn_cnn_2.py': f'y = {number}\n'}
             for number, submission in enumerate(graded_by) if submission not in ('climbs.6', 'empty.10')}
    texts['copy.5']['dnn_misc.py'] = '# mine\n' + texts['right.1']['dnn_misc.py']
    return rows, graded_by, same_code.groups(texts)


def test_the_rows_are_the_class_intended():
    rows, _, _ = made_up_class()
    assert {s: row['total'] for s, row in rows.items()} == {
        'right.1': 50, 'warn.2': 50, 'accumulates.3': 31, 'miswired.4': 46, 'copy.5': 50, 'climbs.6': 0,
        'brokenrelu.7': 33, 'brokenrelu.8': 33, 'late.9': 50, 'empty.10': 0, 'nolist.11': 50, 'halfway.12': 31}


def test_the_totals_leave_out_the_submissions_not_graded():
    rows, graded_by, groups = made_up_class()
    text = summary.markdown(ITEMS, rows, graded_by, groups, title='HW 6: the class at a glance')
    assert text.startswith('# HW 6: the class at a glance\n\n12 submissions: 11 graded, 1 not graded')
    assert '| 11 | 38.5 | 46 | 0 | 50 | 50 |' in text  # 424 / 11; the sixth of 0, 31, 31, 33, 33, 46, 50 x 5
    assert '  0-9 | # 1\n10-19 | 0\n20-29 | 0\n30-39 | #### 4\n40-50 | ###### 6\n' in text


def test_full_marks_per_item_in_the_rubrics_order():
    rows, graded_by, groups = made_up_class()
    lines = summary.markdown(ITEMS, rows, graded_by, groups).splitlines()
    table = lines[lines.index('| item | points | full marks | share |') + 2:][:len(ITEMS)]
    assert [line.split(' | ')[0][2:] for line in table] == [name for name, _, _, _ in ITEMS]
    assert '| Q3.2 relu.backward | 5 | 7 of 11 | 64% |' in table  # brokenrelu.7 and .8, halfway.12, empty.10
    assert '| Q3.2 linear_layer.backward | 5 | 9 of 11 | 82% |' in table  # a WARN earns
    assert '| Q3.6 | 2 | 9 of 11 | 82% |' in table and '| Q3.10 | 2 | 5 of 11 | 45% |' in table


def test_the_checks_failed_most_often():
    rows, graded_by, groups = made_up_class()
    lines = summary.markdown(ITEMS, rows, graded_by, groups).splitlines()
    table = lines[lines.index('| check | item | failed in | most common message (first line) |') + 2:]
    table = table[:table.index('')]
    assert len(table) == summary.TOP
    assert table[0] == f"| result {RESULT['Q3.10']} | Q3.10 | 6 of 11 | {Q310[:summary.WIDTH - 1]}… |"
    assert [line.split(' | ')[1] for line in table[1:6]] == ['Q3.3', 'Q3.4', 'Q3.5', 'Q3.7', 'Q3.8']
    relu = RELU.splitlines()[0][:summary.WIDTH - 1].replace('|', '\\|')  # the empty one's reason is rarer
    assert table[6] == f'| check relu.backward | Q3.2 relu.backward | 4 of 11 | {relu}… |'
    assert all(line.count(' | ') == 3 for line in table)  # the '|' of |X| escaped


def test_late_same_code_and_not_graded():
    rows, graded_by, groups = made_up_class()
    text = summary.markdown(ITEMS, rows, graded_by, groups)
    assert '- Late: 2 (halfway.12, late.9)\n' in text
    assert '- The same `dnn_misc.py`: 1 group, 2 submissions (copy.5, right.1)\n' in text
    assert '- The same `dnn_cnn_2.py`: none\n' in text
    assert text.endswith(f'- Not graded: 1\n  - climbs.6: {REFUSED}\n')


def test_the_failures_of_a_submission_include_what_has_no_verdict_but_not_the_pipeline():
    graded = {'check': {'pipeline.Q3.3 epoch 1': ('FAIL', 'did not run')}, 'driver': {}, 'result': {}, 'rule': {},
              'missing': {'check': 'no dnn_misc.py in the submission', 'driver': 'no dnn_cnn_2.py'}}
    failed = summary.failures(ITEMS, graded)
    assert failed['check', 'relu.backward'] == 'no dnn_misc.py in the submission'
    assert ('check', 'pipeline.Q3.3 epoch 1') not in failed and len(failed) == len(ITEMS)


def test_picture_writes_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    rows, _, _ = made_up_class()
    path = tmp_path / 'grades-summary.png'
    assert summary.picture(str(path), ITEMS, rows) is True
    data = path.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n' and 10_000 < len(data) < 500_000
    assert (int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')) == (1000, 400)
    assert os.listdir(tmp_path) == ['grades-summary.png']  # no temporary file left beside it


def test_picture_without_matplotlib_writes_nothing(tmp_path, monkeypatch):
    for name in [name for name in sys.modules if name.startswith('matplotlib.')] + ['matplotlib']:
        monkeypatch.setitem(sys.modules, name, None)  # what is imported already must not be found either
    rows, _, _ = made_up_class()
    assert summary.picture(str(tmp_path / 'grades-summary.png'), ITEMS, rows) is False
    assert os.listdir(tmp_path) == []


if __name__ == '__main__':
    made_rows = made_up_class()[0]
    if len(sys.argv) != 2 or not summary.picture(sys.argv[1], ITEMS, made_rows):
        sys.exit('usage: python -m tests.test_summary OUT.png (with matplotlib installed)')
    print(f'wrote {sys.argv[1]}')
