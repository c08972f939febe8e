"""What a graded class is written to, beside its CSV NAME.csv: NAME-canvas.csv (Canvas's import),
NAME-feedback.zip (Canvas's Re-Upload Submissions), NAME-same-code.md, NAME-summary.md and .png,
the feedback folder; and NAME-graded/, the gradings kept for a rerun (store.py).

Each file is written whole or not at all; one that cannot be written is said in one line, and
the CSV, written first, is kept even where it cannot go (result_files.write_or_rescue).
"""
import csv
import io
import os
import re
import sys

from harness.grader import returned, rubric, same_code, summary
from harness.result_files import write_atomically, write_or_rescue


BESIDE = {'canvas': '-canvas.csv', 'feedback zip': '-feedback.zip', 'same code': '-same-code.md',
          'summary': '-summary.md', 'picture': '-summary.png', 'graded': '-graded'}  # NAME + these, beside NAME.csv


def beside(out, what):
    """The file BESIDE[what] beside the CSV `out` (NAME.csv): NAME-canvas.csv, ..."""
    return os.path.splitext(out)[0] + BESIDE[what]


def paths(out):
    """Every file grading writes: the CSV `out`, and those beside it."""
    return [out] + [beside(out, what) for what in BESIDE]


def file_stem(submission):
    """The submission's name as a file's: what is not a letter, digit, '.', '_' or '-' becomes '_'."""
    return re.sub(r'[^A-Za-z0-9._-]', '_', submission)


def table(items, rows, overridden=False):
    """The CSV's text: the header, Otter's row of maxima, a row per submission; with `overridden`,
    the column naming the cells the staff set."""
    columns = (['submission', 'canvas_id', 'late'] + [name for name, _, _, _ in items] + ['total', 'status']
               + (['overridden'] if overridden else []) + ['notes'])
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction='ignore')
    writer.writeheader()
    writer.writerow(rubric.possible(items))
    writer.writerows(rows.values())
    return text.getvalue()


def write_class(out, items, rows, graded_by, groups, overrides, feedback_folder=None, canvas=None):
    """Write the CSV `out` and the files beside it, and the feedback folder where one is given.
    `overrides`: {submission: {item: (points, reason)}}, or None without --overrides; `canvas`: (the
    import's text, {submission: its canvas.Entry} of the students of the export), or None. Returns 0,
    or 1 with a line."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    except OSError:
        pass  # write_or_rescue says why the table cannot go there, and keeps it
    text = table(items, rows, overrides is not None)
    if write_or_rescue(out, lambda f: f.write(text), 'grade.py', 'the table', text=text):
        return 1
    overrides = overrides or {}
    feedback = {submission: rubric.feedback(submission, items, row, graded_by[submission], overrides.get(submission))
                for submission, row in rows.items()}
    written, failed = [out], 0
    if canvas:
        import_text, students = canvas
        failed |= write_or_rescue(beside(out, 'canvas'), lambda f: f.write(import_text), 'grade.py', "Canvas's import",
                                  text=import_text)
        returns = [(entry, feedback[submission]) for submission, entry in students.items()]
        failed |= write_or_rescue(beside(out, 'feedback zip'), lambda f: returned.write_zip(f, returns), 'grade.py',
                                  'the feedback for Canvas', binary=True)
        written += [beside(out, 'canvas'), beside(out, 'feedback zip')]
    try:
        write_atomically(beside(out, 'same code'), lambda f: f.write('\n'.join(same_code.report(groups)) + '\n'))
        report = summary.markdown(items, rows, graded_by, groups)
        write_atomically(beside(out, 'summary'), lambda f: f.write(report))
        written += [beside(out, 'same code'), beside(out, 'summary')]
        if summary.picture(beside(out, 'picture'), items, rows):
            written.append(beside(out, 'picture'))
        if feedback_folder:
            os.makedirs(feedback_folder, exist_ok=True)
            for submission, text in feedback.items():
                path = os.path.join(feedback_folder, file_stem(submission) + '.md')
                write_atomically(path, lambda f, text=text: f.write(text))
            written.append(f'feedback in {feedback_folder}')
    except OSError as error:
        print(f'grade.py: error: cannot write {error.filename or "a file"}: {error.strerror}', file=sys.stderr)
        return 1
    print(f"wrote {', '.join(written)}", file=sys.stderr)
    return failed
