"""Grade a class: each submission's points on the assignment's rubric, as a CSV for the gradebook.

    python3 scripts/grade.py SUBMISSIONS [-j N] [--out grades.csv] [--rubric FILE] [--feedback DIR]
                             [--timeout S] [--memory MB] [--require-sandbox]

SUBMISSIONS is the learning-management system's download: a folder of zips named
HW_6_code_NAME.NUMBER.zip (the submission is NAME.NUMBER) and/or folders, one per submission,
its files at the top or in one folder inside. A zip whose members would land outside its folder,
are symbolic links or would expand past 200 MB is not unpacked; its row says why.

Each submission's dnn_misc.py is checked by hw5_dnn_check.py (--pipeline), its dnn_cnn_2.py by
the driver checks (with our modules), and each result file is compared with the course's and, in
epoch 1, with what the submission's own code gives. That code runs on a scratch copy, in a
bubblewrap sandbox where bwrap runs (harness/sandbox.py), else as a plain process after a
warning (with --require-sandbox, an error), with a time and a memory limit. The rubric
(scripts/rubric.json, or --rubric) turns the verdicts into points. The CSV has a first row 'points possible', then one row per submission:
its points per item, the total, a status ('graded', or why it could not be) and notes (the reason
for every lost point). With --feedback, each student gets a Markdown file of every check; beside
the CSV, NAME-same-code.md lists the submissions that hand in the same code.
"""
import argparse
import concurrent.futures
import csv
import io
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import rubric, same_code, sandbox, unpack  # noqa: E402
from harness.grading import grade_submission  # noqa: E402
from harness.result_files import write_atomically, write_or_rescue  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='grade.py', description=__doc__.splitlines()[0])
    parser.add_argument('submissions', help='a folder of zips and/or folders, one per submission')
    parser.add_argument('-j', type=int, default=1, metavar='N', help='submissions graded at a time')
    parser.add_argument('--out', default='grades.csv', help='the CSV to write')
    parser.add_argument('--rubric', default=rubric.DEFAULT, metavar='FILE', help='points per item (JSON)')
    parser.add_argument('--feedback', metavar='DIR', help='write a feedback file per submission here')
    parser.add_argument('--timeout', type=float, default=300.0, metavar='S', help='time limit per check run')
    parser.add_argument('--memory', type=int, default=2048, metavar='MB', help='memory limit per submission')
    parser.add_argument('--require-sandbox', action='store_true',
                        help='refuse to grade where bubblewrap cannot sandbox the submissions')
    args = parser.parse_args(argv)
    for wrong, message in [(args.j < 1, f'argument -j: must be an integer >= 1, got {args.j}'),
                           (not args.timeout > 0, f'argument --timeout: must be > 0 seconds, got {args.timeout:g}'),
                           (args.memory < 256, f'argument --memory: must be at least 256 MB, got {args.memory}')]:
        if wrong:
            parser.error(message)
    if not os.path.isdir(args.submissions):
        parser.error(f'{args.submissions}: no such folder')
    try:
        args.items = rubric.load(args.rubric)
    except rubric.RubricError as error:
        parser.error(f'--rubric {error}')
    args.entries = unpack.submissions(args.submissions)
    if not args.entries:
        parser.error(f'{args.submissions}: no submissions in it (zips or folders)')
    out = os.path.abspath(args.out)
    hide = [args.submissions, os.path.dirname(out), out, same_code_path(out)] + ([args.feedback] if args.feedback else [])
    try:
        args.sandbox = sandbox.choose(hide, args.require_sandbox, args.timeout, args.memory)
    except sandbox.Unavailable as error:
        parser.exit(2, f'grade.py: error: {error} (--require-sandbox)\n')
    return args


def same_code_path(out):
    """NAME-same-code.md beside the CSV NAME.csv."""
    return os.path.splitext(out)[0] + '-same-code.md'


def unique(ids):
    """The ids, a repeated one numbered: chao.209, chao.209 (2)."""
    seen, out = {}, []
    for name in ids:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f'{name} ({seen[name]})')
    return out


def grade_all(args, ids):
    """{submission: its CSV row} and {submission: what grade found}, and {submission: {file: text}}."""
    maximum = rubric.possible(args.items)['total']
    rows, graded_by, texts = {}, {}, {}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        futures = {pool.submit(grade_submission, path, args.sandbox): submission
                   for submission, (_, path) in zip(ids, args.entries)}
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            submission = futures[future]
            graded_by[submission], status, texts[submission] = future.result()
            rows[submission] = {'submission': submission, **rubric.score(args.items, graded_by[submission]),
                                'status': status}
            elapsed = time.monotonic() - started
            print(f"[{done}/{len(ids)}] {submission}: {rows[submission]['total']} of {maximum} points "
                  f"({elapsed:.0f} s so far, about {elapsed / done * (len(ids) - done):.0f} s left)",
                  file=sys.stderr, flush=True)
    return rows, graded_by, texts


def write_files(args, rows, graded_by, groups):
    """The same-code report beside the CSV, and the feedback files. Returns 0, or 1 with a line."""
    same_path = same_code_path(args.out)
    try:
        write_atomically(same_path, lambda f: f.write('\n'.join(same_code.report(groups)) + '\n'))
        if args.feedback:
            os.makedirs(args.feedback, exist_ok=True)
            for submission, row in rows.items():
                text = rubric.feedback(submission, args.items, row, graded_by[submission])
                name = re.sub(r'[^A-Za-z0-9._-]', '_', submission) + '.md'
                write_atomically(os.path.join(args.feedback, name), lambda f, text=text: f.write(text))
    except OSError as error:
        print(f'grade.py: error: cannot write {error.filename or "a file"}: {error.strerror}', file=sys.stderr)
        return 1
    print(f'wrote {args.out} and {same_path}' + (f', and feedback in {args.feedback}' if args.feedback else ''),
          file=sys.stderr)
    return 0


def main(argv=None):
    args = parse_args(argv)
    warning = '' if args.sandbox.bwrap else 'warning: '
    print(f'grade.py: {warning}the submissions are {args.sandbox.describe()}', file=sys.stderr, flush=True)
    rows, graded_by, texts = grade_all(args, unique([name for name, _ in args.entries]))
    columns = ['submission'] + [name for name, _, _, _ in args.items] + ['total', 'status', 'notes']
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=columns)
    writer.writeheader()
    writer.writerow(rubric.possible(args.items))
    writer.writerows(rows[submission] for submission in sorted(rows))
    groups = same_code.groups(texts)
    maximum = rubric.possible(args.items)['total']
    print('| submission | total | status |\n|---|---|---|')
    for submission in sorted(rows):
        print(f"| {submission} | {rows[submission]['total']} of {maximum} | {rows[submission]['status']} |")
    print('\n' + '\n'.join(same_code.report(groups)[2:]))
    print(f'\nThe submissions were {args.sandbox.describe()}.')
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    except OSError:
        pass  # write_or_rescue says why the table cannot go there, and keeps it
    if write_or_rescue(args.out, lambda f: f.write(table.getvalue()), 'grade.py', 'the table', text=table.getvalue()):
        return 1
    return write_files(args, rows, graded_by, groups)


if __name__ == '__main__':
    sys.exit(main())
