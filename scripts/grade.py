"""Grade a class: each submission's points on the assignment's rubric, as a CSV for the gradebook.

    python3 scripts/grade.py SUBMISSIONS [-j N] [--out grades.csv] [--rubric FILE] [--feedback DIR]
                             [--timeout S] [--memory MB] [--require-sandbox]
                             [--canvas GRADEBOOK.csv [--assignment TEXT] [--missing-zero]] [--template DIR]
                             [--overrides FILE.csv] [--only NAME ... | --fresh]

SUBMISSIONS is the learning-management system's download: Canvas's submissions.zip (Carmen's
"Download Submissions"), or the folder it unpacks to, or a folder of zips named
HW_6_code_NAME.NUMBER.zip (the submission is NAME.NUMBER) and/or folders, one per submission,
its files at the top or in one folder inside. From Canvas, each student is one submission (their
last zip, else their loose files) with their Canvas ID and whether it came late. A zip whose
members would land outside its folder, are symbolic links or would expand past 200 MB is not
unpacked; its row says why. With --canvas GRADEBOOK.csv (the gradebook as Canvas exports it),
NAME-canvas.csv beside the CSV holds each student's total, ready for Canvas's import, and
NAME-feedback.zip each student's feedback, for its Re-Upload Submissions.

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
NAME-same-code.md lists the submissions that hand in the same code, and NAME-summary.md (and .png,
with matplotlib) shows the class at a glance.

Staff's own changes (--overrides FILE.csv: submission,item,points,reason; harness/grader/overrides.py)
are applied after grading, on every run. Each submission's grading is kept in NAME-graded/ beside
the CSV, and a rerun grades only the submissions whose files, or whose grader, changed since
(harness/grader/store.py); --only NAME... grades those again, --fresh all.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness.grader import (canvas, classroom, gradebook, overrides, rubric, rules, same_code, sandbox,  # noqa: E402
                            store, unpack, written)


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
    parser.add_argument('--overrides', dest='overrides_file', metavar='FILE.csv',
                        help="staff's own points: rows of submission,item,points,reason, applied after grading")
    again = parser.add_mutually_exclusive_group()
    again.add_argument('--only', nargs='+', metavar='NAME',
                       help='grade these submissions again; reuse the stored gradings of the others')
    again.add_argument('--fresh', action='store_true', help='grade every submission again, reusing none')
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
    args.ids, and args.made for main to remove), the overrides (args.overrides), the sandbox
    (args.sandbox). One that cannot be used exits (status 2) as parse_args does."""
    args.items = load_rubric(args.rubric, parser)
    args.templates = load_templates(args.template, parser) if args.template else {}
    if args.canvas:
        args.gradebook, args.column = load_gradebook(args.canvas, args.assignment, args.out, parser)
    list_submissions(args, parser)
    args.ids = unique([entry.id for entry in args.entries])
    names = submission_names(args.ids, args.entries)
    unknown = [name for name in args.only or () if name not in names]
    if unknown:
        parser.error(f"argument --only: no submission {', '.join(map(repr, unknown))} in {args.submissions}")
    args.only = {chosen for name in args.only or () for chosen in (names[name] if isinstance(names[name], list) else [names[name]])}
    args.overrides = {}
    if args.overrides_file:
        if os.path.abspath(args.overrides_file) in [os.path.abspath(path) for path in written.paths(args.out)]:
            parser.error(f'--overrides {args.overrides_file}: that is a file grading writes; keep it apart')
        try:
            args.overrides = overrides.read(args.overrides_file, args.items, names)
        except overrides.OverrideError as error:
            parser.error(f'--overrides {error}')
    args.sandbox = choose_sandbox(args, parser)


def load_rubric(path, parser):
    """The rubric's items, as rubric.load reads them."""
    try:
        return rubric.load(path)
    except rubric.RubricError as error:
        parser.error(f'--rubric {error}')


def load_templates(folder, parser):
    """{name: text} of the course's template files in the folder (rules.read_templates)."""
    try:
        return rules.read_templates(folder)
    except rules.TemplateError as error:
        parser.error(f'--template {error}')


def load_gradebook(export, assignment, out, parser):
    """(the export as gradebook.read_export reads it, the index of the assignment's column)."""
    try:
        table = gradebook.read_export(export)
        column = gradebook.assignment_column(*table[:2], assignment)
    except gradebook.GradebookError as error:
        parser.error(f'--canvas {error}')
    if os.path.abspath(export) == written.beside(os.path.abspath(out), 'canvas'):
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


def submission_names(ids, entries):
    """{what staff may call a submission: it, or the list of those it may be}: its row's name, and
    its Canvas ID; a name two students' zips gave (a row "x" and a row "x (2)") is either."""
    names = {submission: submission for submission in ids}
    for submission, entry in zip(ids, entries):
        if entry.canvas_id:
            names[entry.canvas_id] = submission
    for submission, entry in zip(ids, entries):
        if submission != entry.id:  # the second of a name, numbered by unique()
            first = names[entry.id]
            names[entry.id] = (first if isinstance(first, list) else [first]) + [submission]
    return names


def unique(ids):
    """The ids, a repeated one numbered: chao.209, chao.209 (2)."""
    seen, out = {}, []
    for name in ids:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f'{name} ({seen[name]})')
    return out


def main(argv=None):
    parser = build_parser()
    args = parse_args(parser, argv)
    args.made = []
    try:  # what canvas.entries unpacks goes, whatever exits after it: a usage error, a refused sandbox
        load_inputs(args, parser)
        return grade_class(args)
    except KeyboardInterrupt:  # before or after the gradings (classroom.grade_class says what it kept)
        print('grade.py: interrupted; the gradings that ended are kept for the next run', file=sys.stderr)
        return 130
    finally:
        for folder in args.made:
            shutil.rmtree(folder, ignore_errors=True)


def grade_class(args):
    warning = '' if args.sandbox.bwrap else 'warning: '
    print(f'grade.py: {warning}the submissions are {args.sandbox.describe()}', file=sys.stderr, flush=True)
    limits = {'timeout': args.timeout, 'sandbox': args.sandbox.spec()}  # spec: bwrap, the memory, the user
    kept = store.Store(written.beside(args.out, 'graded'), store.grader_key(limits))
    gradings, to_grade, why = classroom.plan(args.entries, args.ids, kept, args.fresh, args.only or ())
    if gradings:
        print(f'grade.py: {len(gradings)} of {len(args.ids)} submissions have not changed since they were graded: '
              f'their gradings in {kept.folder} are used again', file=sys.stderr)
    classroom.say_why(why)
    try:
        gradings.update(classroom.grade_class(to_grade, kept, args.sandbox, args.templates, args.j,
                                              progress(args.items, args.overrides, len(gradings))))
    except classroom.Interrupted as interrupted:
        print(f'grade.py: {interrupted}', file=sys.stderr)
        return 130
    entries = dict(zip(args.ids, args.entries))
    rows = {submission: classroom.row(args.items, submission, entries[submission], gradings[submission],
                                      args.templates, args.overrides.get(submission))
            for submission in sorted(gradings)}
    graded_by = {submission: grading[0] for submission, grading in gradings.items()}
    groups = same_code.groups({submission: grading[2] for submission, grading in gradings.items()})
    maximum = rubric.possible(args.items)['total']
    print('| submission | total | status |\n|---|---|---|')
    for submission, row in rows.items():
        print(f"| {submission} | {row['total']} of {maximum} | {row['status']} |")
    unmatched = canvas_import(args, rows) if args.canvas else []
    if unmatched:
        print(f"\nIn no row of {args.canvas}: {', '.join(unmatched)}")
    print('\n' + '\n'.join(same_code.report(groups)[2:]))
    print(f'\nThe submissions were {args.sandbox.describe()}.')
    canvas = (args.import_text, {s: entries[s] for s in rows if s not in unmatched}) if args.canvas else None
    return written.write_class(args.out, args.items, rows, graded_by, groups,
                               args.overrides if args.overrides_file else None, args.feedback, canvas)


def progress(items, overrides, reused):
    """What prints a line as each grading ends: its points (the staff's `overrides` too), the time so
    far and left, and how many were reused."""
    maximum = rubric.possible(items)['total']

    def say(done, total, submission, grading, elapsed):
        points = rubric.score(items, grading[0], overrides.get(submission))['total']
        print(f"[{done}/{total}] {submission}: {points} of {maximum} points ({elapsed:.0f} s so far, about "
              f"{elapsed / done * (total - done):.0f} s left{f'; {reused} reused' if reused else ''})",
              file=sys.stderr, flush=True)
    return say


def canvas_import(args, rows):
    """Make args.import_text, the gradebook for Canvas's import (gradebook.import_for). Returns the
    submissions that match no student of the export, each also named on stderr."""
    header, _, students = args.gradebook
    maximum = rubric.possible(args.items)['total']
    possible = gradebook.points_possible(students, args.column)
    if possible is not None and rubric.as_number(possible) != maximum:
        print(f"grade.py: warning: {header[args.column]} is out of {possible} points in {args.canvas}, the rubric's "
              f"total is {maximum}: Canvas will read each total out of {possible}", file=sys.stderr)
    args.import_text, unmatched = gradebook.import_for(args.gradebook, args.column, rows, maximum,
                                                       0 if args.missing_zero else '')
    for submission in unmatched:
        print(f'grade.py: warning: {submission} matches no student of {args.canvas} (by Canvas ID or SIS Login ID); '
              f'its total is in {args.out} only', file=sys.stderr)
    return unmatched


if __name__ == '__main__':
    sys.exit(main())
