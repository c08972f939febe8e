"""Feedback returned into Canvas (Carmen) by the gradebook's "Re-Upload Submissions": a zip of files,
each named as "Download Submissions" named a file of the student's (canvas.py), each of which Canvas
attaches as a comment on that student's submission.

How canvas-lms reads the zip (AbstractAssignment#generate_comments_from_files and
#infer_comment_context_from_filename, app/models/abstract_assignment.rb; lib/zip_extractor.rb):
- Every file, in any folder, by its base name alone; one base name twice fails the whole re-upload.
- The name is split on "_" and pieces "LATE" dropped. A first piece "anon": the next two are the
  anonymous id and the attachment id; else the first two all-digit pieces are the user id and the
  attachment id. A last piece starting "link", or a name starting "._", has no attachment id.
- A file is attached only if the attachment id is a file of that user's submission as it is now (its
  last attempt's); others are ignored, and listed on the re-upload's page.
- A student's files become one comment, each file shown under the display name of their file that
  it names, with the type of its own extension: so each file here is a copy of theirs, annotated.
- The comment is hidden while their grade is (not posted), and shows once grades are posted.
"""
import codecs
import io
import json
import os
import re
import sys
import tokenize
import zipfile
import zlib

from harness.grader import unpack

FEEDBACK = 'FEEDBACK.md'
CHOICE = ('.zip', 'dnn_misc.py', 'dnn_cnn_2.py', '.py', '.json')  # which upload carries the feedback, best first
CODING = re.compile(rb'^[ \t\f]*#.*?coding[:=]')  # PEP 263: it must stay on line 1 or 2
UNREADABLE = (unpack.Refused, zipfile.BadZipFile, zlib.error, OSError, RuntimeError, EOFError, NotImplementedError,
              ValueError)


def chosen(uploads):
    """The upload the feedback goes on (their zip, else dnn_misc.py, dnn_cnn_2.py, a .py, a .json), or None."""
    for wanted in CHOICE:
        for upload in uploads:
            own = os.path.basename(upload.own).lower()
            if own.endswith(wanted) if wanted.startswith('.') else own == wanted:
                return upload
    return None


def member_name(upload):
    """Canvas's download name for the upload; a last piece that starts with "link" is changed, since
    Canvas would skip it (the file still shows under the student's own file's name)."""
    name = os.path.basename(upload.path)
    head, _, last = name.rpartition('_')
    return f'{head}_-{last}' if head and last.startswith('link') else name


def annotated(upload, feedback):
    """(member name, bytes): the student's upload with the feedback Markdown in it, as the same kind of file."""
    own = upload.own.lower()
    if own.endswith('.zip'):
        return member_name(upload), zip_with_feedback(upload.path, feedback)
    with open(upload.path, 'rb') as f:
        original = f.read()
    with_feedback = python_with_feedback if own.endswith('.py') else json_with_feedback
    return member_name(upload), with_feedback(original, feedback)


def their_members(path):
    """[(ZipInfo, bytes)] of a student's zip, read in memory on unpack's terms (names, links, MAX_BYTES),
    or unpack.Refused. Nothing is written to disk."""
    with zipfile.ZipFile(path) as archive:
        infos, _ = unpack.checked_members(archive, '', unpack.MAX_BYTES)
        left = unpack.MAX_BYTES
        members = []
        for info in infos:
            with archive.open(info) as source:
                data = source.read(left + 1)  # counted as read: a header may lie
            left -= len(data)
            if left < 0:
                raise unpack.Refused('refused: past the size limit')
            members.append((info, data))
    return members


def feedback_place(names):
    """Where FEEDBACK.md goes: in their one folder if all their files are in it (it then lands beside
    them when unzipped), else at the top; never over a file of theirs."""
    paths = [name.replace('\\', '/').split('/') for name in names]
    paths = [path for path in paths if path[0] != '__MACOSX']
    one_folder = len({path[0] for path in paths}) == 1 and all(len(path) > 1 for path in paths)
    place = (paths[0][0] + '/' if one_folder else '') + FEEDBACK
    while place in names:
        place = place[:-len('.md')] + '-1.md'
    return place


def zip_with_feedback(path, feedback):
    """Their zip, every member as it was, with FEEDBACK.md; only FEEDBACK.md if their zip cannot be read
    or would be refused."""
    try:
        members = their_members(path)
    except UNREADABLE:
        members = []
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as copy:
        for info, data in members:
            copy.writestr(info, data)
        place = feedback_place([info.filename for info, _ in members])
        copy.writestr(place, feedback.encode('utf-8', 'backslashreplace'))
    return out.getvalue()


def python_with_feedback(original, feedback):
    """Their .py with the feedback as a comment block at the top, after a shebang or coding line."""
    bom = codecs.BOM_UTF8 if original.startswith(codecs.BOM_UTF8) else b''
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(original).readline)[0]
    except SyntaxError:
        encoding = 'utf-8'
    lines = original[len(bom):].splitlines(keepends=True)
    keep = 0
    for number, line in enumerate(lines[:2]):
        if (number == 0 and line.startswith(b'#!')) or CODING.match(line):
            keep = number + 1
    head = b''.join(lines[:keep])
    if head and not head.endswith((b'\n', b'\r')):
        head += b'\n'
    block = ''.join(('# ' + line.replace('\0', '\\0')).rstrip() + '\n' for line in feedback.splitlines()) + '\n'
    return bom + head + block.encode('utf-8' if encoding == 'utf-8-sig' else encoding, 'backslashreplace') \
        + b''.join(lines[keep:])


def json_with_feedback(original, feedback):
    """Their JSON object with a "FEEDBACK" key (a list of lines) first; anything else that they sent
    goes under "submitted" beside it."""
    try:
        theirs = json.loads(original)
    except (ValueError, RecursionError):
        theirs = original.decode('utf-8', 'replace')
    lines = feedback.splitlines()
    if isinstance(theirs, dict) and 'FEEDBACK' not in theirs:
        content = {'FEEDBACK': lines, **theirs}
    else:
        content = {'FEEDBACK': lines, 'submitted': theirs}
    # a lone surrogate becomes its own \uXXXX escape: still the same JSON string
    return json.dumps(content, indent=1, ensure_ascii=False).encode('utf-8', 'backslashreplace') + b'\n'


def write_zip(f, returns):
    """Write to the open binary file f the zip for Re-Upload Submissions: one annotated file for each
    (entry, feedback Markdown) of returns whose entry has an upload (entry.uploads, canvas.Entry)."""
    written = set()
    with zipfile.ZipFile(f, 'w', zipfile.ZIP_DEFLATED) as archive:
        for entry, feedback in returns:
            upload = chosen(entry.uploads)
            if upload is None:
                continue
            try:
                name, data = annotated(upload, feedback)
            except OSError as error:  # their file went while grading: the others' feedback is still written
                print(f'grade.py: warning: no feedback for {entry.id} in the zip for Canvas: {upload.own} cannot be '
                      f'read ({error.strerror})', file=sys.stderr)
                continue
            if name not in written:  # a name twice would make Canvas refuse the whole zip
                written.add(name)
                archive.writestr(name, data)
