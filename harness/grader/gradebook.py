"""Canvas's gradebook CSV: the export read, and a file for its import written (GRADING.md).

The export's header is Student, ID, SIS User ID, SIS Login ID, Section (the SIS columns may be
absent; the last identity column is the one whose name contains "Section"), then a column per
assignment titled 'Title (id)', then read-only totals. Its second row starts '    Points Possible'.
The import matches a row's student by ID, then SIS User ID, then SIS Login ID; a blank cell is no
score. What we write keeps the export's identity columns and rows, and one assignment column.
"""
import csv
import io
import re

POINTS_POSSIBLE = '    Points Possible'
ASSIGNMENT = re.compile(r'^(?P<title>.*\S)\s*\((?P<id>\d+)\)$')


class GradebookError(Exception):
    """The file is not Canvas's export, or the column cannot be told; the message says why."""


def read_export(path):
    """(header, identity column count, [rows]) of a Canvas gradebook export, or GradebookError."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as error:
        raise GradebookError(f'{path}: {error.strerror}') from None
    try:
        text = raw.decode('utf-8-sig')
    except UnicodeDecodeError:
        raise GradebookError(f'{path}: not UTF-8 text, as Canvas exports it; export it again from Canvas, or save '
                             f'it as "CSV UTF-8"') from None
    table = list(csv.reader(io.StringIO(text, newline='')))
    header = [cell.strip() for cell in table[0]] if table else []
    if 'Student' not in header or 'ID' not in header:
        semicolons = ' (it is separated by semicolons: save it with commas)' if table and ';' in ''.join(table[0]) else ''
        raise GradebookError(f'{path}: not a Canvas gradebook export: no Student and ID columns in its first '
                             f'row{semicolons}')
    sections = [i for i, name in enumerate(header) if 'Section' in name]
    if not sections:
        raise GradebookError(f'{path}: not a Canvas gradebook export: no identity column named Section')
    return header, sections[-1] + 1, table[1:]


def assignment_column(header, identity, text=None):
    """The index of the assignment column that `text` names (its id, or words of its title; by
    default the only assignment, else the one titled HW 6), or GradebookError naming the columns
    that match, or those there are."""
    columns = [(i, ASSIGNMENT.match(name)) for i, name in enumerate(header) if i >= identity]
    columns = [(i, found) for i, found in columns if found]
    if not columns:
        raise GradebookError('the gradebook has no assignment column (a title with its id in parentheses)')
    if text is None and len(columns) == 1:
        return columns[0][0]
    text = 'HW 6' if text is None else text
    words = _words(text)
    matching = [i for i, found in columns if found['id'] == text.strip() or words in _words(found['title'])]
    if len(matching) == 1:
        return matching[0]
    listed = ', '.join(repr(header[i]) for i in (matching or [i for i, _ in columns]))
    if matching:
        raise GradebookError(f'--assignment {text!r} matches {len(matching)} columns: {listed}; give the id of one')
    raise GradebookError(f'--assignment {text!r} matches no column; the assignments are {listed}')


def _words(text):
    return re.sub(r'[^0-9a-z]', '', text.lower())


def _is_points_possible(row):
    return bool(row) and row[0].strip() == POINTS_POSSIBLE.strip()


def points_possible(rows, column):
    """The export's Points Possible for the column, as it wrote it, or None."""
    row = next((row for row in rows if _is_points_possible(row)), None)
    if row is None or len(row) <= column:
        return None
    return row[column].strip() or None


def import_table(header, identity, rows, column, maximum, total_of, missing):
    """The text of the CSV to import: the identity columns and the assignment's column, the Points
    Possible row, and each student's total from total_of(row) (None: `missing`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(header[:identity] + [header[column]])
    writer.writerow([POINTS_POSSIBLE] + [''] * (identity - 1) + [maximum])
    for row in rows:
        cells = (row + [''] * identity)[:identity]
        if _is_points_possible(cells):
            continue
        total = total_of(dict(zip(header, cells)))
        writer.writerow(cells + [missing if total is None else total])
    return out.getvalue()


def import_for(export, column, rows, maximum, missing):
    """(the text of the CSV to import, [submissions that match no student of the export]) for the
    grades' `rows` ({submission: row}): a row from Canvas's download is its student's by Canvas ID
    alone; one from a folder of HW_6_code_NAME.NUMBER.zip by its name.number, the SIS Login ID."""
    header, identity, students = export
    by_id = {row['canvas_id']: row for row in rows.values() if row['canvas_id']}
    by_login = {row['submission'].lower(): row for row in rows.values() if not row['canvas_id']}
    matched = set()

    def total_of(student):
        row = by_id.get(student.get('ID', '').strip()) or by_login.get(student.get('SIS Login ID', '').strip().lower())
        if row is None:
            return None
        matched.add(row['submission'])
        return row['total']

    text = import_table(header, identity, students, column, maximum, total_of, missing)
    return text, sorted(set(rows) - matched)
