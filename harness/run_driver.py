"""What the question scripts run: one driver, ours or a course-style one, with the script's flags.

    python3 -m harness.run_driver dnn_cnn_2.py --alpha 0.9 [more flags]

Ours (a driver that imports harness) runs as it is: it finds data/mnist_subset.json and writes
its result file into outputs/ itself. A course-style driver, such as a student's dnn_cnn_2.py or
the course's own dnn_cnn.py, reads 'mnist_subset.json' from the working folder and writes its
result file there. It runs in a scratch folder inside outputs/ that holds the course's data, and
the result files it writes are moved into outputs/, each whole, under the names it gave them.

Each run also makes sure that ./mnist_subset.json, at the top level, leads to data/mnist_subset.json
(a link, or a copy where links cannot be made), so that a course-style driver run there by hand,
`python3 dnn_cnn_2.py --alpha 0.9` as the course runs it, finds the data too.
"""
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys

import harness
from harness import REPO

DATA = os.path.join(REPO, 'data', 'mnist_subset.json')
OUTPUTS = os.path.join(REPO, 'outputs')
DATA_NAME = 'mnist_subset.json'


def is_ours(path):
    """Whether the driver at `path` imports our harness (else it is written the course's way)."""
    with open(path, encoding='utf-8', errors='replace') as f:
        return re.search(r'^\s*(from|import)\s+harness\b', f.read(), re.MULTILINE) is not None


def put_data(folder, relative=False):
    """The course's data in `folder`, as a course-style driver looks for it: a symbolic link (relative
    to `folder` with `relative`), else a hard link (Windows without the right to make symbolic links),
    else a copy (a file system with neither)."""
    target = os.path.join(folder, DATA_NAME)
    source = os.path.relpath(DATA, folder) if relative else DATA
    for make in (lambda: os.symlink(source, target), lambda: os.link(DATA, target),
                 lambda: (shutil.copyfile(DATA, target + '.part'), os.replace(target + '.part', target))):
        try:
            return make()
        except OSError:
            continue


def link_top_level_data():
    """./mnist_subset.json at the top level, where the course's own drivers (and a student's
    dnn_cnn_2.py) read it when run there as the course runs them: made once, kept out of git."""
    if os.path.isfile(os.path.join(REPO, DATA_NAME)):
        return
    with contextlib.suppress(OSError):  # a link left dangling
        os.remove(os.path.join(REPO, DATA_NAME))
    with contextlib.suppress(OSError):  # a read-only checkout: the question scripts still run
        put_data(REPO, relative=True)


def scratch_folder():
    """A new folder inside outputs/ (so that a result file moves out of it whole) holding the data."""
    os.makedirs(OUTPUTS, exist_ok=True)
    folder = os.path.join(OUTPUTS, f'.run-{os.getpid()}')
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    put_data(folder)
    return folder


def run_course_style(driver, flags):
    """Run a course-style driver in a scratch folder; move its result files into outputs/.
    Returns the exit status."""
    folder = scratch_folder()
    process = None

    def stop(signum, _frame):  # pass a termination on to the driver, which would outlive us
        if process is not None:
            process.send_signal(signum)
    signal.signal(signal.SIGTERM, stop)
    try:
        process = subprocess.Popen([sys.executable, os.path.abspath(driver), *flags], cwd=folder)
        while True:
            try:
                status = process.wait()
                break
            except KeyboardInterrupt:  # Ctrl-C reached the driver too; wait for it to stop
                continue
        name = os.path.basename(driver)
        if status != 0:
            how = f'exit status {status}' if status > 0 else f'signal {-status}'
            print(f'{name} stopped with {how}; nothing was moved into outputs/', file=sys.stderr)
            return status if status > 0 else 128 - status
        written = sorted(f for f in os.listdir(folder) if f.endswith('.json') and f != DATA_NAME)
        if not written:
            print(f'{name} wrote no result file: a course-style driver writes one with json.dump after '
                  f'its last epoch, into the folder it runs in', file=sys.stderr)
            return 1
        for result in written:
            os.replace(os.path.join(folder, result), os.path.join(OUTPUTS, result))
            print(f'{name} wrote outputs/{result}')
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv):
    if not argv or not argv[0].endswith('.py'):
        print('usage: python3 -m harness.run_driver DRIVER.py [flags]', file=sys.stderr)
        return 2
    driver, flags = argv[0], argv[1:]
    if not os.path.isfile(driver):
        print(f'{driver}: no such file', file=sys.stderr)
        return 2
    link_top_level_data()
    if is_ours(driver):
        for name in harness.ASKED:  # ours asks BLAS for the threads it runs best with (harness/__init__.py)
            os.environ.pop(name, None)
        command = [sys.executable, driver, *flags]
        if os.name == 'posix':
            os.execv(sys.executable, command)  # the same process: signals and exit status as before
        return subprocess.call(command)
    return run_course_style(driver, flags)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
