"""Feedback returned into Canvas: the zip for "Re-Upload Submissions", read here as canvas-lms reads it.

canvas_reads() follows canvas-lms step by step: lib/zip_extractor.rb (every file, by its base name;
CanvasUnzip skips unsafe entries; a base name twice fails the job) and
AbstractAssignment#infer_comment_context_from_filename (app/models/abstract_assignment.rb).
"""
import ast
import io
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile

import pytest

from harness.grader import canvas, returned, unpack
from harness.grader.canvas import Entry, Upload
from harness.result_files import write_atomically


def zipped(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


MISC = b'import numpy as np\n\n\nclass relu:\n    pass\n'
CNN = b'import dnn_misc\n\nprint("cnn")\n'
HEADED = b'#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n"""Modules."""\nimport numpy as np\n'
RESULT = {'train': [0.9, 0.95], 'valid': [0.8, 0.85]}
SMITH = {'HW_6_code_smith.1/': b'', 'HW_6_code_smith.1/dnn_misc.py': MISC, 'HW_6_code_smith.1/dnn_cnn_2.py': CNN}
PARK = {'dnn_misc.py': MISC, 'results/q33.json': json.dumps(RESULT).encode()}
NG = {'my hw/dnn_misc.py': MISC, 'notes.txt': b'late night'}
DOWNLOAD = [  # Canvas's member name, user id, attachment id (None: a text entry), bytes
    ('smithbob_101_5001_HW_6_code_smith.1.zip', 101, 5001, zipped({'dnn_misc.py': CNN})),  # uploaded again, below
    ('smithbob_101_5009_HW_6_code_smith.1-1.zip', 101, 5009, zipped(SMITH)),
    ('parkamy_LATE_102_5002_HW_6_code_park.7.zip', 102, 5002, zipped(PARK)),
    ('leejoe_103_5003_q3_3 results.json', 103, 5003, json.dumps(RESULT).encode()),  # result files only
    ('müllerjürgen_104_5004_HW_6_code_mueller.4.zip', 104, 5004, zipped({'dnn_misc.py': MISC})),
    ('ngkim_105_5006_my hw_6 files_final.zip', 105, 5006, zipped(NG)),
    ('ortizana_106_5007_dnn_misc.py', 106, 5007, MISC),  # loose files, the modules uploaded again
    ('ortizana_106_5008_dnn_cnn_2.py', 106, 5008, CNN),
    ('ortizana_LATE_106_5010_dnn_misc-1.py', 106, 5010, HEADED),
    ('ortizana_106_text.html', 106, None, b'<p>see the files</p>'),
    ('doejane_108_text.html', 108, None, b'<p>my answer</p>'),  # a text entry only: nothing to return
    ('evansmal_109_5011_HW_6_code_evans.9.zip', 109, 5011, zipped({'../escape.py': b'1\n', 'dnn_misc.py': MISC})),
    ('kimlee_110_5012_dnn_link.py', 110, 5012, MISC),  # Canvas ignores a name whose last piece starts "link"
]
TRICKY = 'line one — ×\n\nnul \0 here\nsurrogate \udc80 and \u2028 split\n# a heading\n'
GRADED = {101: 5009, 102: 5002, 103: 5003, 104: 5004, 105: 5006, 106: 5010, 109: 5011, 110: 5012}
SUBMITTED = {user: {file for _, u, file, _ in DOWNLOAD if u == user and file} for _, user, _, _ in DOWNLOAD}


def feedback_for(entry):
    return f'# {entry.id}: 33 of 50 points\n\n| Q3.2 relu.backward | 0 | 5 | off by ×2 — see {entry.canvas_id} |\n'


def ruby_split(text, separator):
    pieces = text.split(separator)
    while pieces and pieces[-1] == '':  # Ruby's String#split drops trailing empty strings
        pieces.pop()
    return pieces


def infer_comment_context(fullpath, submissions, anonymous):
    """(user id, attachment id) as AbstractAssignment#infer_comment_context_from_filename finds them,
    or None where it adds the file to @ignored_files. submissions: {user id: {attachment ids of their
    submission now}}; anonymous: {anonymous id: user id}."""
    filename = os.path.basename(fullpath)
    pieces = [piece for piece in ruby_split(filename, '_') if piece != 'LATE']
    if pieces[:1] == ['anon']:
        anonymous_id, attachment_id = (pieces[1:3] + [None, None])[:2]
        user_id = anonymous.get(anonymous_id)
    else:  # Ruby's ^ and $ are line anchors, its \d is ASCII
        user_id, attachment_id = ([p for p in pieces if re.search(r'^\d+$', p, re.M | re.A)] + [None, None])[:2]
        user_id = int(user_id) if user_id else None
    if (pieces and re.search(r'^link', pieces[-1], re.M)) or re.search(r'^\._', filename, re.M):
        attachment_id = None
    if user_id not in submissions or attachment_id is None or int(attachment_id) not in submissions[user_id]:
        return None
    return user_id, int(attachment_id)


def canvas_reads(zip_bytes, submissions, anonymous=None):
    """{member: (user id, attachment id) or None} of a re-upload zip, as ZipExtractor#unzip_files and
    infer_comment_context_from_filename read it."""
    read, extracted = {}, set()
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        for info in archive.infolist():
            unsafe = stat.S_ISLNK(info.external_attr >> 16) or info.filename == '/' or '..' in info.filename.split('/')
            if info.is_dir() or unsafe:
                continue
            local_name = info.filename.split('/')[-1]  # File.split(zip_entry.name).last
            assert local_name not in extracted, 'DestinationFileExists: Canvas fails the whole re-upload'
            extracted.add(local_name)
            read[info.filename] = infer_comment_context(local_name, submissions, anonymous or {})
    return read


def test_the_emulation_reads_names_as_canvas_lms_does():
    submissions, anonymous = {101: {5001, 5009}, 102: {5002}, 108: set()}, {'Ab3xZ': 102}
    assert {name: infer_comment_context(name, submissions, anonymous) for name in [
        'smithbob_101_5001_HW_6_code_smith.1.zip', 'parkamy_LATE_102_5002_HW_6_code_park.7.zip',
        'LATE_anon_Ab3xZ_5002_dnn_misc.py', 'anon_Zz9zz_5002_dnn_misc.py', 'smithbob_101_5002_dnn_misc.py',
        'smithbob_101_7777_dnn_misc.py', 'doejane_108_text.html', 'smithbob_101_link.html',
        'smithbob_101_5009_dnn_link.py', '._smithbob_101_5009_x.zip', 'smith_bob_2_101_5009_x.zip']} == {
        'smithbob_101_5001_HW_6_code_smith.1.zip': (101, 5001),
        'parkamy_LATE_102_5002_HW_6_code_park.7.zip': (102, 5002),
        'LATE_anon_Ab3xZ_5002_dnn_misc.py': (102, 5002), 'anon_Zz9zz_5002_dnn_misc.py': None,
        'smithbob_101_5002_dnn_misc.py': None,  # another student's file
        'smithbob_101_7777_dnn_misc.py': None, 'doejane_108_text.html': None, 'smithbob_101_link.html': None,
        'smithbob_101_5009_dnn_link.py': None, '._smithbob_101_5009_x.zip': None,
        'smith_bob_2_101_5009_x.zip': None}  # an all-digit piece in the name is taken for the user id


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The system's temporary folder moved into tmp_path, so that a test can see that nothing is left there."""
    (tmp_path / 'tmp').mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path / 'tmp'))
    yield tmp_path
    assert os.listdir(tmp_path / 'tmp') == []


def returned_download(root):
    """(entries of the download, {member: bytes} of the zip written for them)."""
    (root / 'download').mkdir()
    for name, _, _, data in DOWNLOAD:
        (root / 'download' / name).write_bytes(data)
    entries, strangers, made = canvas.entries(str(root / 'download'))
    try:
        assert strangers == []
        write_atomically(str(root / 'feedback.zip'),
                         lambda f: returned.write_zip(f, [(e, feedback_for(e)) for e in entries]), binary=True)
    finally:
        for folder in made:
            shutil.rmtree(folder)
    return entries, (root / 'feedback.zip').read_bytes()


def opened(zip_bytes):
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_canvas_gives_each_file_to_its_student_on_the_upload_graded(scratch):
    entries, zip_bytes = returned_download(scratch)
    read = canvas_reads(zip_bytes, SUBMITTED)
    assert None not in read.values(), read
    assert {user: file for user, file in read.values()} == GRADED and len(read) == len(GRADED)
    by_user = {int(e.canvas_id): e for e in entries}
    for member, (user, file) in read.items():
        assert file in [u.file_id for u in by_user[user].uploads]  # the upload graded, not an earlier one
        canvas_name = next(name for name, _, f, _ in DOWNLOAD if f == file)
        assert member == (canvas_name if file != 5012 else 'kimlee_110_5012_dnn_-link.py')
    assert by_user[108].uploads == []  # a text entry only gets no file


def test_each_file_is_the_students_own_kind_of_file_with_their_feedback(scratch):
    entries, zip_bytes = returned_download(scratch)
    members = opened(zip_bytes)
    feedback = {int(e.canvas_id): feedback_for(e) for e in entries}
    smith = opened(members['smithbob_101_5009_HW_6_code_smith.1-1.zip'])
    assert smith == dict(SMITH, **{'HW_6_code_smith.1/FEEDBACK.md': feedback[101].encode()})  # beside their files
    park, ng = (opened(members[name]) for name in ['parkamy_LATE_102_5002_HW_6_code_park.7.zip',
                                                   'ngkim_105_5006_my hw_6 files_final.zip'])
    assert park == dict(PARK, **{'FEEDBACK.md': feedback[102].encode()})  # at the top: theirs were too
    assert ng == dict(NG, **{'FEEDBACK.md': feedback[105].encode()})
    assert opened(members['evansmal_109_5011_HW_6_code_evans.9.zip']) == {'FEEDBACK.md': feedback[109].encode()}
    block = ''.join(('# ' + line).rstrip() + '\n' for line in feedback[106].splitlines()) + '\n'
    ortiz = members['ortizana_LATE_106_5010_dnn_misc-1.py']
    ast.parse(ortiz)
    assert ortiz == HEADED[:HEADED.index(b'"""')] + block.encode() + HEADED[HEADED.index(b'"""'):]
    link = members['kimlee_110_5012_dnn_-link.py']
    ast.parse(link)
    assert link == ''.join(('# ' + line).rstrip() + '\n' for line in feedback[110].splitlines()).encode() + b'\n' + MISC
    lee = json.loads(members['leejoe_103_5003_q3_3 results.json'])
    assert lee == dict(RESULT, FEEDBACK=feedback[103].splitlines()) and list(lee)[0] == 'FEEDBACK'
    assert not any(name.endswith('escape.py') for _, _, names in os.walk(scratch) for name in names)


def test_anonymized_names_reach_the_anonymous_submission(scratch):
    uploads = [('anon_Ab3xZ_5013_HW_6_code_x.zip', 'HW_6_code_x.zip', zipped({'dnn_misc.py': MISC})),
               ('LATE_anon_Qr7Tk_5014_dnn_misc.py', 'dnn_misc.py', MISC)]  # Canvas's ids: 5 characters of base58
    entries = []
    for name, own, data in uploads:
        (scratch / name).write_bytes(data)
        entries.append(Entry(own, str(scratch / name), '', False, '', [Upload(0, own, str(scratch / name), False)]))
    buffer = io.BytesIO()
    returned.write_zip(buffer, [(e, TRICKY) for e in entries])
    files = opened(buffer.getvalue())
    assert opened(files['anon_Ab3xZ_5013_HW_6_code_x.zip'])['FEEDBACK.md'] == TRICKY.encode('utf-8', 'backslashreplace')
    assert canvas_reads(buffer.getvalue(), {201: {5013}, 202: {5014}}, {'Ab3xZ': 201, 'Qr7Tk': 202}) == {
        'anon_Ab3xZ_5013_HW_6_code_x.zip': (201, 5013), 'LATE_anon_Qr7Tk_5014_dnn_misc.py': (202, 5014)}


def symlinked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        info = zipfile.ZipInfo('dnn_misc.py')
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, '/etc/passwd')
    return buffer.getvalue()


@pytest.mark.parametrize('data', [zipped({'../escape.py': b'print(1)\n'}), zipped({'/tmp/escape.py': b'x'}),
                                  symlinked(), b'PK\x03\x04 not a zip', zipped({'dnn_misc.py': b'0' * 5000})],
                         ids=['climbs out', 'absolute', 'link', 'corrupt', 'too large'])
def test_a_zip_that_unpack_refuses_is_not_unpacked_and_gets_feedback_alone(scratch, monkeypatch, data):
    monkeypatch.setattr(unpack, 'MAX_BYTES', 4000)
    (scratch / 'cwd').mkdir()
    monkeypatch.chdir(scratch / 'cwd')
    (scratch / 'x_111_5020_HW_6_code_x.zip').write_bytes(data)
    upload = Upload(5020, 'HW_6_code_x.zip', str(scratch / 'x_111_5020_HW_6_code_x.zip'), False)
    name, out = returned.annotated(upload, 'feedback')
    assert name == 'x_111_5020_HW_6_code_x.zip' and opened(out) == {'FEEDBACK.md': b'feedback'}
    assert os.listdir(scratch / 'cwd') == [] and sorted(os.listdir(scratch)) == ['cwd', 'tmp', name]


@pytest.mark.parametrize('source', [
    b'x = 1\n', b'x = 1', b'', b'#!/usr/bin/env python', b'\xef\xbb\xbfx = "\xc3\xa9"\n', b'x = 1\r\ny = 2\r\n',
    b'# -*- coding: latin-1 -*-\nx = "\xe9"\n', b'#!/usr/bin/python\n# coding=latin-1\nx = "\xe9"\n',
    b'# notes\n# coding: latin-1\nx = "\xe9"\n', b'"""Doc."""\nfrom __future__ import annotations\n'])
def test_a_python_file_keeps_its_first_lines_and_still_parses(source):
    out = returned.python_with_feedback(source, TRICKY)
    tree = ast.dump(ast.parse(source))
    assert ast.dump(ast.parse(out)) == tree  # the same program: the feedback is only comments
    text = out.decode('latin-1')
    head = [line for line in source.splitlines(keepends=True)[:2] if line.startswith(b'#')]
    assert out.startswith(source[:3] if source.startswith(b'\xef\xbb\xbf') else b''.join(head))
    assert '# line one' in text and '#\n# nul \\0 here\n' in text and '# a heading' in text
    assert out.endswith(source[len(b''.join(head)):].lstrip(b'\xef\xbb\xbf') if source else b'\n')


@pytest.mark.parametrize('original, expected', [
    (b'{"train": [1]}', {'FEEDBACK': ['a', 'b'], 'train': [1]}),
    (b'[1, 2]', {'FEEDBACK': ['a', 'b'], 'submitted': [1, 2]}),
    (b'{"FEEDBACK": 1}', {'FEEDBACK': ['a', 'b'], 'submitted': {'FEEDBACK': 1}}),
    (b'{"train": [1', {'FEEDBACK': ['a', 'b'], 'submitted': '{"train": [1'})])
def test_a_json_file_gets_a_feedback_key(original, expected):
    assert json.loads(returned.json_with_feedback(original, 'a\nb')) == expected


def test_the_feedback_goes_on_the_zip_else_the_modules(tmp_path):
    upload = lambda own: Upload(1, own, str(tmp_path / own), False)
    assert returned.chosen([upload('a.json'), upload('helper.py'), upload('dnn_cnn_2.py')]).own == 'dnn_cnn_2.py'
    assert returned.chosen([upload('dnn_misc.py'), upload('HW_6_code_x.zip')]).own == 'HW_6_code_x.zip'
    assert returned.chosen([upload('a.json')]).own == 'a.json' and returned.chosen([]) is None


def test_members_are_unique_and_nothing_handed_in_gets_nothing(tmp_path):
    (tmp_path / 'a_1_2_dnn_misc.py').write_bytes(MISC)
    entry = Entry('a', '', '1', False, '', [Upload(2, 'dnn_misc.py', str(tmp_path / 'a_1_2_dnn_misc.py'), False)])
    buffer = io.BytesIO()
    returned.write_zip(buffer, [(entry, 'one'), (entry, 'two'), (entry._replace(uploads=[]), 'none')])
    assert list(opened(buffer.getvalue())) == ['a_1_2_dnn_misc.py']


def test_a_file_gone_since_grading_costs_its_student_the_feedback_file_alone(tmp_path, capsys):
    (tmp_path / 'b_2_3_dnn_misc.py').write_bytes(MISC)
    gone = Entry('a', '', '1', False, '', [Upload(2, 'dnn_misc.py', str(tmp_path / 'a_1_2_dnn_misc.py'), False)])
    there = Entry('b', '', '2', False, '', [Upload(3, 'dnn_misc.py', str(tmp_path / 'b_2_3_dnn_misc.py'), False)])
    buffer = io.BytesIO()
    returned.write_zip(buffer, [(gone, 'one'), (there, 'two')])
    assert list(opened(buffer.getvalue())) == ['b_2_3_dnn_misc.py']
    assert capsys.readouterr().err == ('grade.py: warning: no feedback for a in the zip for Canvas: dnn_misc.py cannot '
                                       'be read (No such file or directory)\n')
