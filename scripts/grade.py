"""Grade a class: each submission's points on the assignment's rubric, as a CSV for the gradebook.

    python3 scripts/grade.py SUBMISSIONS [-j N] [--out grades.csv] [--rubric FILE] [--feedback DIR]
                             [--timeout S] [--memory MB] [--require-sandbox]
                             [--canvas GRADEBOOK.csv [--assignment TEXT] [--missing-zero]] [--template DIR]

SUBMISSIONS is the learning-management system's download: Canvas's submissions.zip (Carmen's
"Download Submissions"), or the folder it unpacks to, or a folder of zips named
HW_6_code_NAME.NUMBER.zip (the submission is NAME.NUMBER) and/or folders, one per submission,
its files at the top or in one folder inside. From Canvas, each student is one submission (their
last zip, else their loose files) with their Canvas ID and whether it came late. A zip whose
members would land outside its folder, are symbolic links or would expand past 200 MB is not
unpacked; its row says why. With --canvas GRADEBOOK.csv (the gradebook as Canvas exports it),
NAME-canvas.csv beside the CSV holds each student's total, ready for Canvas's import.

Each submission's dnn_misc.py is checked by hw5_dnn_check.py (--pipeline), its dnn_cnn_2.py by
the driver checks (with our modules), and each result file is compared with the course's and, in
epoch 1, with what the submission's own code gives. That code runs on a scratch copy, in a
bubblewrap sandbox where bwrap runs (harness/grader/sandbox.py), else as a plain process after a
warning (with --require-sandbox, an error), with a time and a memory limit. The rubric
(scripts/rubric.json, or --rubric) turns the verdicts into points. The CSV has a first row
'points possible', then one row per submission: its points per item, the total, a status
('graded', or why it could not be) and notes: the reason for every lost point, and each of the
assignment's rules a file breaks (harness/grader/rules.py: no list of whom the student discussed the
homework with, imports beyond the provided code's, and with --template the given code changed).
With --feedback, each student gets a Markdown file of every check; beside the CSV,
NAME-same-code.md lists the submissions that hand in the same code.
"""
import argparse
import ast
import concurrent.futures
import csv
import io
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness.grader import canvas, gradebook, rubric, same_code, sandbox, unpack  # noqa: E402
from harness.grader.grading import grade_submission  # noqa: E402
from harness.result_files import write_atomically, write_or_rescue  # noqa: E402


def build_parser():
    """The command line: the flags, their defaults and their help."""
    parser = argparse.ArgumentParser(prog='grade.py', description=__doc__.splitlines()[0])
    parser.add_argument('submissions', help="Canvas's submissions.zip or its folder, or a folder of zips and/or "
                                            "folders, one per submission")
    parser.add_argument('-j', type=int, default=1, metavar='N', help='submissions graded at a time')
    parser.add_argument('--out', default='grades.csv', help='the CSV to write')
    parser.add_argument('--rubric', default=rubric.DEFAULT, metavar='FILE', help='points per item (JSON)')
    parser.add_argument('--feedback', metavar='DIR', help='write a feedback file per submission here')
    parser.add_argument('--timeout', type=float, default=300.0, metavar='S', help='time limit per check run')
    parser.add_argument('--memory', type=int, default=2048, metavar='MB', help='memory limit per submission')
    parser.add_argument('--require-sandbox', action='store_true',
                        help='refuse to grade where bubblewrap cannot sandbox the submissions')
    parser.add_argument('--canvas', metavar='GRADEBOOK.csv',
                        help="Canvas's gradebook export: also write NAME-canvas.csv beside --out, for its import")
    parser.add_argument('--assignment', metavar='TEXT',
                        help="with --canvas: the gradebook's column to fill, by its id or words of its title "
                             "(default: the only assignment, else the one titled HW 6)")
    parser.add_argument('--missing-zero', action='store_true',
                        help='with --canvas: 0 for a student who handed in nothing (default: a blank cell)')
    parser.add_argument('--template', metavar='DIR',
                        help="the course's template files (dnn_misc.py, dnn_cnn_2.py): note any given code "
                             "changed outside the TODOs")
    return parser


def parse_args(parser, argv):
    """The flags, each checked on its own and against the others; a wrong one exits (status 2)
    before any file is read."""
    args = parser.parse_args(argv)
    for wrong, message in [(args.j < 1, f'argument -j: must be an integer >= 1, got {args.j}'),
                           (not args.timeout > 0, f'argument --timeout: must be > 0 seconds, got {args.timeout:g}'),
                           (args.memory < 256, f'argument --memory: must be at least 256 MB, got {args.memory}')]:
        if wrong:
            parser.error(message)
    if not (os.path.isdir(args.submissions) or (os.path.isfile(args.submissions)
                                                and args.submissions.lower().endswith('.zip'))):
        parser.error(f'{args.submissions}: no such folder or zip')
    if (args.assignment or args.missing_zero) and not args.canvas:
        parser.error('argument --assignment and --missing-zero: only with --canvas')
    return args


def load_inputs(args, parser):
    """Read what the flags name into args, in this order: the rubric (args.items), the templates
    (args.templates), the gradebook (args.gradebook, args.column), the submissions (args.entries,
    and args.made for main to remove), the sandbox (args.sandbox). One that cannot be used exits
    (status 2) as parse_args does."""
    args.items = load_rubric(args.rubric, parser)
    args.templates = load_templates(args.template, parser) if args.template else {}
    if args.canvas:
        args.gradebook, args.column = load_gradebook(args.canvas, args.assignment, args.out, parser)
    list_submissions(args, parser)
    args.sandbox = choose_sandbox(args, parser)


def load_rubric(path, parser):
    """The rubric's items, as rubric.load reads them."""
    try:
        return rubric.load(path)
    except rubric.RubricError as error:
        parser.error(f'--rubric {error}')


def load_templates(folder, parser):
    """{name: text} of the course's template files in the folder: one missing is left out, but not both."""
    templates = {}
    for name in ('dnn_misc.py', 'dnn_cnn_2.py'):
        try:
            with open(os.path.join(folder, name), encoding='utf-8') as f:
                templates[name] = f.read()
            ast.parse(templates[name])
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as error:
            parser.error(f'--template {os.path.join(folder, name)}: cannot be read as Python ({error})')
    if not templates:
        parser.error(f'--template {folder}: holds neither dnn_misc.py nor dnn_cnn_2.py')
    return templates


def load_gradebook(export, assignment, out, parser):
    """(the export as gradebook.read_export reads it, the index of the assignment's column)."""
    try:
        table = gradebook.read_export(export)
        column = gradebook.assignment_column(*table[:2], assignment)
    except gradebook.GradebookError as error:
        parser.error(f'--canvas {error}')
    if os.path.abspath(export) == canvas_path(os.path.abspath(out)):
        parser.error(f'--canvas {export}: that is the file the import would be written to; rename it')
    return table, column


def list_submissions(args, parser):
    """Set args.entries, the submissions to grade, and args.made, the folders unpacked for them:
    set before a download with nothing to grade exits, so that main removes those too."""
    try:
        args.entries, strangers, args.made = canvas.entries(args.submissions)
    except unpack.Refused as refused:
        parser.exit(2, f'grade.py: error: {args.submissions}: {refused}\n')
    if strangers:
        print(f"grade.py: warning: left out {len(strangers)} file(s) not named as Canvas names a download's "
              f"files: {', '.join(strangers)}", file=sys.stderr)
    if not args.entries:
        parser.error(f'{args.submissions}: no submissions in it (zips or folders)')


def choose_sandbox(args, parser):
    """Where the submissions' code runs: sandbox.choose, refused (status 2) under --require-sandbox."""
    try:  # the student processes see nothing of the class or the grades: nothing needs hiding
        return sandbox.choose(args.require_sandbox, args.timeout, args.memory)
    except sandbox.Unavailable as error:
        parser.exit(2, f'grade.py: error: {error} (--require-sandbox)\n')


def same_code_path(out):
    """NAME-same-code.md beside the CSV NAME.csv."""
    return os.path.splitext(out)[0] + '-same-code.md'


def canvas_path(out):
    """NAME-canvas.csv beside the CSV NAME.csv: the gradebook to import."""
    return os.path.splitext(out)[0] + '-canvas.csv'


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
        futures = {pool.submit(grade_submission, entry.path, args.sandbox, args.templates): (submission, entry)
                   for submission, entry in zip(ids, args.entries)}
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            submission, entry = futures[future]
            graded_by[submission], status, texts[submission] = future.result()
            row = rubric.score(args.items, graded_by[submission])
            row['notes'] = '; '.join(note for note in (row['notes'], entry.note) if note)
            rows[submission] = {'submission': submission, 'canvas_id': entry.canvas_id,
                                'late': 'late' if entry.late else '', **row, 'status': status}
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
    parser = build_parser()
    args = parse_args(parser, argv)
    args.made = []
    try:  # what canvas.entries unpacks goes, whatever exits after it: a usage error, a refused sandbox
        load_inputs(args, parser)
        return grade_class(args)
    finally:
        for folder in args.made:
            shutil.rmtree(folder, ignore_errors=True)


def grade_class(args):
    warning = '' if args.sandbox.bwrap else 'warning: '
    print(f'grade.py: {warning}the submissions are {args.sandbox.describe()}', file=sys.stderr, flush=True)
    rows, graded_by, texts = grade_all(args, unique([entry.id for entry in args.entries]))
    columns = (['submission', 'canvas_id', 'late'] + [name for name, _, _, _ in args.items]
               + ['total', 'status', 'notes'])
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
    unmatched = canvas_import(args, rows) if args.canvas else []
    if unmatched:
        print(f"\nIn no row of {args.canvas}: {', '.join(unmatched)}")
    print('\n' + '\n'.join(same_code.report(groups)[2:]))
    print(f'\nThe submissions were {args.sandbox.describe()}.')
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    except OSError:
        pass  # write_or_rescue says why the table cannot go there, and keeps it
    if write_or_rescue(args.out, lambda f: f.write(table.getvalue()), 'grade.py', 'the table', text=table.getvalue()):
        return 1
    if args.canvas and write_or_rescue(canvas_path(args.out), lambda f: f.write(args.import_text), 'grade.py',
                                       "Canvas's import", text=args.import_text):
        return 1
    return write_files(args, rows, graded_by, groups)


def canvas_import(args, rows):
    """Make args.import_text, the gradebook for Canvas's import, from the export and the rows: each
    student's total by Canvas ID, else by SIS Login ID (name.number). Returns the submissions that
    match no student of the export, each also named on stderr."""
    header, identity, students = args.gradebook
    by_id = {row['canvas_id']: row for row in rows.values() if row['canvas_id']}
    # A row from Canvas's download is its student's by ID alone; one from a folder of HW_6_code_NAME.NUMBER.zip
    # by its name.number, the SIS Login ID.
    by_login = {row['submission'].lower(): row for row in rows.values() if not row['canvas_id']}
    matched = set()

    def total_of(student):
        row = by_id.get(student.get('ID', '').strip()) or by_login.get(student.get('SIS Login ID', '').strip().lower())
        if row is None:
            return None
        matched.add(row['submission'])
        return row['total']

    maximum = rubric.possible(args.items)['total']
    possible = gradebook.points_possible(students, args.column)
    if possible is not None and _number(possible) != maximum:
        print(f"grade.py: warning: {header[args.column]} is out of {possible} points in {args.canvas}, the rubric's "
              f"total is {maximum}: Canvas will read each total out of {possible}", file=sys.stderr)
    args.import_text = gradebook.import_table(header, identity, students, args.column, maximum, total_of,
                                              0 if args.missing_zero else '')
    unmatched = sorted(set(rows) - matched)
    for submission in unmatched:
        print(f'grade.py: warning: {submission} matches no student of {args.canvas} (by Canvas ID or SIS Login ID); '
              f'its total is in {args.out} only', file=sys.stderr)
    return unmatched


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


if __name__ == '__main__':
    sys.exit(main())
