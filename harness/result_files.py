"""Writing result files so that nothing is ever half-written, and no finished result is ever lost.

Used by the drivers (the result JSON), scripts/plot_curves.py (the PNG) and
scripts/report.py (the report on standard output).
"""
import os
import sys
import tempfile


def _temporary_beside(path):
    """A new, empty temporary file in path's folder: (fd, its name). Raises OSError."""
    folder = os.path.dirname(os.path.abspath(path))
    return tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(path), suffix='.tmp')


def check_can_write(path):
    """Raise OSError unless path's folder exists (it is made if needed) and can take a file of that name.

    Run before the work that makes the file, so a bad path costs no training.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if os.path.isdir(path):
        raise IsADirectoryError(21, 'a directory has that name', path)
    fd, tmp = _temporary_beside(path)
    os.close(fd)
    os.unlink(tmp)


def write_atomically(path, write, binary=False):
    """Write a file through a temporary file beside it and a rename: never a half-written file.

    write(f) writes the content into the open file. The new file gets the
    permissions a plain open() would give it under the user's umask.
    """
    fd, tmp = _temporary_beside(path)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600: readable by nobody else
        with os.fdopen(fd, 'wb' if binary else 'w') as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_or_rescue(path, write, program, what, binary=False, text=None):
    """Write a file with write(f), atomically; if that fails, keep the content anyway. Returns 0 or 1.

    On failure the content is saved, when possible, under the same name in
    the system's temporary folder, and `text` (the content, if printable) is
    printed on standard output; one line on standard error says what
    happened and where `what` is.
    """
    try:
        write_atomically(path, write, binary)
        return 0
    except OSError as error:
        reason = error.strerror or str(error)
    places = []
    fallback = os.path.join(tempfile.gettempdir(), os.path.basename(path))
    if os.path.abspath(fallback) != os.path.abspath(path):
        try:
            write_atomically(fallback, write, binary)
            places.append(f'saved to {fallback}')
        except OSError:
            pass
    if text is not None:
        print(text, flush=True)
        places.append('printed above')
    where = ' and '.join(places) or 'not saved anywhere else either'
    print(f'{program}: error: cannot write {path}: {reason}; {what} is {where}', file=sys.stderr)
    return 1
