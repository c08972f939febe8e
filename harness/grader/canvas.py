"""Canvas's "Download Submissions" (Carmen, at OSU): one flat submissions.zip, or the folder it
unpacks to, every member renamed {name}[_LATE]_{userid}_{fileid}_{filename} (GRADING.md).

The name is the student's sortable name, lowercased, without spaces or punctuation (accents stay);
the first number is the Canvas user id, the gradebook's ID; the second is the file's id, which
grows with each upload. The filename is the student's own and may hold underscores and spaces,
so a member name is read anchored on the two numbers. A file uploaded again under the same name
is renamed name-1.ext, name-2.ext. Each student is one submission: their last zip where they
uploaded one, else their loose files, each in its last upload, under its own name.
"""
import os
import re
import shutil
import tempfile
import zipfile
from collections import namedtuple
from dataclasses import dataclass, field

from harness.grader import unpack

MEMBER = re.compile(r'^(?P<name>anon|.+?)(?P<late>[_-]late)?_(?P<user>\d+)_(?P<file>\d+)_(?P<filename>.+)$',
                    re.IGNORECASE)
TEXT_ENTRY = re.compile(r'^(?P<name>.+?)(?P<late>[_-]late)?_(?P<user>\d+)_text\.html$', re.IGNORECASE)
AGAIN = re.compile(r'-\d+(?=\.[^.]+$)')  # the -1 of a file uploaded again: HW_6_code_x.1-1.zip
KEPT = ('.py', '.json', '.zip')  # what a submission can hold; a text entry (_text.html) and the rest are left out
Entry = namedtuple('Entry', 'id path canvas_id late note uploads')  # one submission to grade; uploads: [Upload] graded
Upload = namedtuple('Upload', 'file_id own path late')  # one member: its file id, the student's name for it


@dataclass
class Student:
    """One student's uploads [Upload], and what is graded of them."""
    name: str
    canvas_id: str
    uploads: list = field(default_factory=list)

    def choose(self):
        """(the zip's path or None, {own name: path} of the loose files graded, the uploads graded,
        [what was left out], a note saying which)."""
        uploads = sorted(self.uploads)  # by file id: the order they came in
        zips = [u for u in uploads if u.own.lower().endswith('.zip')]
        if zips:
            used = [zips[-1]]
            note = f'graded {used[0].own}, the last zip uploaded'
        else:
            latest = {u.own: u for u in uploads if u.own.lower().endswith(KEPT)}  # a later upload replaces an earlier
            used = sorted(latest.values())
            note = f"graded the loose files {', '.join(sorted(latest))}" if used else 'uploaded no file to grade'
        graded_names = [u.own for u in used]
        left = [u.own + (' (an earlier upload)' if u.own in graded_names else '') for u in uploads if u not in used]
        loose = {} if zips else {u.own: u.path for u in used}
        return (zips[-1].path if zips else None), loose, used, left, note

    def late(self):
        """Whether anything graded came after the due date."""
        return any(u.late for u in self.choose()[2])

    def row_id(self):
        """name.number of the HW_6_code_NAME.NUMBER.zip graded, else the Canvas name."""
        zip_path, _, used, _, _ = self.choose()
        found = unpack.ZIP_NAME.match(used[0].own) if zip_path else None
        return found.group(1) if found else self.name

    def notes(self):
        """What was graded, and what was left out."""
        *_, left, note = self.choose()
        return note + (f"; left out: {', '.join(left)}" if left else '')


def is_download(folder):
    """Whether a folder holds Canvas's renamed members (any file named as Canvas names them)."""
    return any(read_member(name) and os.path.isfile(os.path.join(folder, name)) for name in os.listdir(folder))


def read_member(name):
    """(name, canvas id, late, file id, own file name) of a member name, or None."""
    found = MEMBER.match(name)
    if found:
        return found['name'], found['user'], bool(found['late']), int(found['file']), AGAIN.sub('', found['filename'])
    found = TEXT_ENTRY.match(name)
    if found:  # a text entry: the student's, but nothing to grade
        return found['name'], found['user'], bool(found['late']), 0, 'text.html'
    return None


def students(folder):
    """[Student] of a Canvas download folder, sorted by name, and [member names not Canvas's]."""
    by_id, strangers = {}, []
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        member = read_member(entry)
        if member is None or not os.path.isfile(path) or os.path.islink(path):
            if not entry.startswith('.'):
                strangers.append(entry)
            continue
        name, canvas_id, late, file_id, own = member
        by_id.setdefault(canvas_id, Student(name, canvas_id)).uploads.append(Upload(file_id, own, path, late))
    return sorted(by_id.values(), key=lambda s: (s.name, s.canvas_id)), strangers


def loose_folder(files):
    """A new temporary folder holding the loose files {own name: path} under their own names."""
    folder = tempfile.mkdtemp(prefix='canvas-')
    for own, path in files.items():
        shutil.copyfile(path, os.path.join(folder, os.path.basename(own)))
    return folder


def entries(download):
    """([Entry], [names left out], [temporary folders made, for the caller to remove]) of a download:
    Canvas's submissions.zip or the folder it unpacks to, or a folder of zips and folders, one per
    submission. An outer zip is refused (unpack.Refused) on the grounds a student's is."""
    made, strangers, found = [], [], []
    folder = download
    try:
        if os.path.isfile(download):
            try:
                with zipfile.ZipFile(download) as archive:
                    members = len(archive.infolist())
            except (zipfile.BadZipFile, OSError):
                members = 1  # unpack says why it cannot be read
            made.append(unpack.unpack(download, limit=unpack.MAX_BYTES * max(1, members)))
            folder = unpack.files_root(made[0])
        if not is_download(folder):
            return [Entry(name, path, '', False, '', []) for name, path in unpack.submissions(folder)], [], made
        students_found, strangers = students(folder)
        for student in students_found:
            zip_path, loose, used, *_ = student.choose()
            if zip_path is None:
                made.append(loose_folder(loose))
            found.append(Entry(student.row_id(), zip_path or made[-1], student.canvas_id, student.late(),
                               student.notes(), used))
    except BaseException:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return found, strangers, made
