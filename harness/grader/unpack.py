"""The submissions of a class, as the learning-management system's download gives them: a folder
of zips named HW_6_code_NAME.NUMBER.zip and/or folders, one per submission.

A zip is untrusted input. Unpacking refuses, with a reason for the student's row, a member that
would land outside the folder (an absolute name, or one that climbs out with ..), a symbolic
link, and an archive that would expand past MAX_BYTES; it writes only into a new folder of its
own, and what a refused zip had written there is removed.
"""
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib

MAX_BYTES = 200 << 20  # what a zip may expand to: the course's data file is 34 MB
ZIP_NAME = re.compile(r'^HW_6_code_(.+)\.zip$', re.IGNORECASE)


class Refused(Exception):
    """A zip that is not unpacked; the message is the reason, for the student's row."""


def submission_id(name):
    """'chao.209' for HW_6_code_chao.209.zip; a zip of another name is its name less .zip; a folder, its name."""
    found = ZIP_NAME.match(name)
    if found:
        return found.group(1)
    return name[:-len('.zip')] if name.lower().endswith('.zip') else name


def submissions(folder):
    """[(id, path)] of the folder's zips and folders, hidden ones left out, sorted by id."""
    found = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.startswith('.') or os.path.islink(path):
            continue
        if os.path.isdir(path) or (name.lower().endswith('.zip') and os.path.isfile(path)):
            found.append((submission_id(name), path))
    return sorted(found)


def _member_path(root, info):
    """Where a member would land under root, or Refused."""
    name = info.filename.replace('\\', '/')
    if name.startswith('/') or re.match(r'^[A-Za-z]:', name) or '..' in name.split('/'):
        raise Refused(f'refused: member {info.filename!r} would land outside the folder')
    if stat.S_ISLNK(info.external_attr >> 16):
        raise Refused(f'refused: member {info.filename!r} is a symbolic link')
    return os.path.join(root, *[part for part in name.split('/') if part not in ('', '.')])


def checked_members(archive, root, limit):
    """([ZipInfo], [where each would land under root]) of an open archive, every name and the sizes
    they declare checked before a byte is read; or Refused."""
    members = archive.infolist()
    targets = [_member_path(root, info) for info in members]
    declared = sum(info.file_size for info in members)
    if declared > limit:
        raise Refused(f'refused: it would expand to {declared >> 20} MB, past the limit of {limit >> 20} MB')
    return members, targets


def unpack(path, limit=None):
    """Unpack the zip at `path` into a new temporary folder; return the folder, or raise Refused.
    `limit`: the bytes it may expand to (MAX_BYTES unless said)."""
    limit = MAX_BYTES if limit is None else limit
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise Refused(f'refused: not a zip file that can be read ({error})') from None
    root = tempfile.mkdtemp(prefix='submission-')
    try:
        with archive:
            members, targets = checked_members(archive, root, limit)
            written = 0
            for info, target in zip(members, targets):
                if info.is_dir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(info) as source, open(target, 'wb') as out:
                    while True:  # counted as written, not as declared: a header may lie
                        chunk = source.read(1 << 20)
                        if not chunk:
                            break
                        written += len(chunk)
                        if written > limit:
                            raise Refused(f'refused: it expands past the limit of {limit >> 20} MB')
                        out.write(chunk)
    except Refused:
        shutil.rmtree(root, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, EOFError, NotImplementedError) as error:
        shutil.rmtree(root, ignore_errors=True)
        raise Refused(f'refused: the zip cannot be unpacked ({error})') from None
    return root


def files_root(folder):
    """The folder that holds the submission's files: the folder itself, or the one folder inside it
    when the files sit there (and a __MACOSX folder beside it is ignored)."""
    entries = [e for e in os.listdir(folder) if e != '__MACOSX' and not e.startswith('.')]
    if len(entries) == 1 and os.path.isdir(os.path.join(folder, entries[0])) \
            and not os.path.islink(os.path.join(folder, entries[0])):
        return os.path.join(folder, entries[0])
    return folder
