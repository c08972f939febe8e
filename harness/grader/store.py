"""Each submission's grading, kept beside the CSV (NAME-graded/) so that a rerun grades only what changed.

A stored grading is what grading.grade_submission found: the verdicts, the status and the text of
the two files, not the points, which the rubric, the rules and the staff's overrides turn it into
on every run. It is reused while the submission's files, the grader (the code that makes a grading,
our modules and drivers, the course's result files and data, Python's and NumPy's versions) and the
limits it ran under (time, memory, sandbox, user) are those it was graded with, unless it ran out
of time; else it is graded again, and the reason said.
"""
import hashlib
import json
import os
import sys

import numpy as np

from harness import REPO
from harness.checker import VERDICTS
from harness.course import RUNS
from harness.grader.grading import RAN_OUT
from harness.grader.rubric import KINDS
from harness.grader.written import file_stem
from harness.result_files import write_atomically

FORMAT = 1  # what a stored file holds; another number is another grader's store
GRADER_FILES = ['hw5_dnn_check.py', 'data_loader.py', 'dnn_im2col.py', 'dnn_misc.py', 'dnn_mlp.py',
                'dnn_mlp_nononlinear.py', 'dnn_cnn.py', 'dnn_cnn_2.py', os.path.join('data', 'mnist_subset.json')]
GRADER_FILES += [os.path.join('outputs', run.name) for run in RUNS]  # the course's result files
# harness/'s code makes a grading, but for these, which only read or write one, or what it became
AFTER_GRADING = {os.path.join('grader', name) for name in (
    'canvas.py', 'classroom.py', 'gradebook.py', 'overrides.py', 'returned.py', 'rubric.py', 'rules.py',
    'same_code.py', 'store.py', 'summary.py', 'written.py')}
OTHER_GRADER = 'graded by another grader, or under other limits'


def _add_file(digest, path, name):
    digest.update(f'{name}\0{os.path.getsize(path)}\0'.encode())
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)


def files_key(path):
    """A digest of a submission as it was handed in: a zip's bytes, or every file under a folder."""
    digest = hashlib.sha256()
    if os.path.isfile(path):
        _add_file(digest, path, '')
        return digest.hexdigest()
    for base, folders, names in os.walk(path):
        folders.sort()
        for name in sorted(names):
            full = os.path.join(base, name)
            relative = os.path.relpath(full, path)
            if os.path.islink(full):
                digest.update(f'{relative}\0link\0{os.readlink(full)}\0'.encode())
            elif os.path.isfile(full):
                _add_file(digest, full, relative)
    return digest.hexdigest()


def grader_key(limits):
    """A digest of what grades a submission, and of the `limits` ({name: value}) it ran under."""
    digest = hashlib.sha256(json.dumps([FORMAT, sys.version, np.__version__, limits], sort_keys=True).encode())
    paths = [os.path.join(REPO, name) for name in GRADER_FILES]
    harness = os.path.join(REPO, 'harness')
    for base, folders, names in os.walk(harness):
        folders[:] = sorted(f for f in folders if f != '__pycache__')
        paths += [os.path.join(base, name) for name in sorted(names) if name.endswith('.py')
                  and os.path.relpath(os.path.join(base, name), harness) not in AFTER_GRADING]
    for path in paths:
        _add_file(digest, path, os.path.relpath(path, REPO))
    return digest.hexdigest()


class Store:
    """The stored gradings of a class, in `folder`, valid for the grader `grader` (grader_key)."""

    def __init__(self, folder, grader):
        self.folder, self.grader = folder, grader

    def path(self, submission):
        """Its file: the submission's name, made unique by a digest where it had to be changed (müller)."""
        stem = file_stem(submission)
        if stem != submission:
            stem += '-' + hashlib.sha256(submission.encode()).hexdigest()[:8]
        return os.path.join(self.folder, stem + '.json')

    def load(self, submission, files, any_grader=False):
        """(grading, None) of the submission whose files have the digest `files`, or (None, why
        it is graded again: None where nothing was stored). `any_grader`: whatever grader stored it,
        then (grading, OTHER_GRADER) where another did."""
        try:
            with open(self.path(submission), encoding='utf-8') as f:
                stored = json.load(f)
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError, RecursionError) as error:
            return None, f'its stored grading cannot be read ({type(error).__name__}: {error})'
        if not isinstance(stored, dict) or stored.get('format') != FORMAT:
            return None, 'its stored grading is from another version of the grader'
        if stored.get('submission') != submission:
            return None, 'its stored grading is of another submission'
        if stored.get('grader') != self.grader and not any_grader:
            return None, 'the grader or its limits changed since it was graded'
        if stored.get('files') != files:
            return None, 'its files changed'
        graded, status, texts = stored.get('graded'), stored.get('status'), stored.get('texts')
        if not (_is_graded(graded) and isinstance(status, str) and isinstance(texts, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in texts.items())):
            return None, 'its stored grading is corrupt'
        if any(why.startswith(RAN_OUT) for why in graded['missing'].values()):
            return None, 'its last grading ran out of time'
        return ({kind: {what: tuple(pair) for what, pair in found.items()} if kind != 'missing' else found
                 for kind, found in graded.items()}, status, texts), (
            OTHER_GRADER if stored['grader'] != self.grader else None)

    def save(self, submission, files, grading):
        """Keep a grading, (graded, status, texts), of the submission whose files have the digest `files`."""
        graded, status, texts = grading
        os.makedirs(self.folder, exist_ok=True)
        record = {'format': FORMAT, 'submission': submission, 'grader': self.grader, 'files': files,
                  'graded': graded, 'status': status, 'texts': texts}
        write_atomically(self.path(submission), lambda f: json.dump(record, f))


def _is_graded(graded):
    """Whether a stored 'graded' has grade_submission's shape: {kind: {what: [verdict, message]}} for
    each of the rubric's KINDS, and 'missing': {kind: why}."""
    return (isinstance(graded, dict) and set(graded) == {*KINDS, 'missing'}
            and all(isinstance(found, dict) for found in graded.values())
            and all(isinstance(pair, list) and len(pair) == 2 and pair[0] in VERDICTS and isinstance(pair[1], str)
                    for kind in KINDS for pair in graded[kind].values())
            and all(isinstance(v, str) for v in graded['missing'].values()))
