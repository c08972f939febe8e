"""What a rerun of grade.py costs once a class is graded: a class of ten right submissions (our own
files and result files, as HW_6_code_NAME.NUMBER.zip) graded, then graded again with one of them
changed (a comment added to its dnn_misc.py), then graded fresh into another CSV to compare with.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/regrade.py [-j 2] [--class-size 10]

Prints the seconds of each run, how many submissions each graded, and whether the rerun's CSV is
the fresh run's, byte for byte.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ['dnn_misc.py', 'dnn_cnn_2.py'] + [os.path.join('outputs', name) for name in
                                           sorted(os.listdir(os.path.join(REPO, 'outputs'))) if name.endswith('.json')]


def write_submission(path, comment=b''):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name in FILES:
            with open(os.path.join(REPO, name), 'rb') as f:
                data = f.read()
            archive.writestr(os.path.basename(name), data + (comment if name == 'dnn_misc.py' else b''))


def timed_grade(download, out, jobs, *options):
    started = time.monotonic()
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'grade.py'), download, '-j', str(jobs),
                             '--out', out, *options], capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode:
        sys.exit(f'bench/regrade.py: grade.py failed: {result.stderr.strip().splitlines()[-1]}')
    graded = sum(line.startswith('[') for line in result.stderr.splitlines())
    return seconds, graded


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-j', type=int, default=2)
    parser.add_argument('--class-size', type=int, default=10)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix='regrade-bench-')
    try:
        download = os.path.join(root, 'download')
        os.mkdir(download)
        for number in range(1, args.class_size + 1):
            write_submission(os.path.join(download, f'HW_6_code_student.{number}.zip'))
        out, fresh_out = os.path.join(root, 'grades.csv'), os.path.join(root, 'fresh', 'grades.csv')
        first = timed_grade(download, out, args.j)
        unchanged = timed_grade(download, out, args.j)
        write_submission(os.path.join(download, 'HW_6_code_student.1.zip'), b'\n# resubmitted\n')
        one_changed = timed_grade(download, out, args.j)
        rerun_csv = open(out, 'rb').read()
        fresh = timed_grade(download, fresh_out, args.j)
        same = rerun_csv == open(fresh_out, 'rb').read()
        print(f'A class of {args.class_size} right submissions, -j {args.j}:')
        for what, (seconds, graded) in [('first run', first), ('rerun, nothing changed', unchanged),
                                        ('rerun, one submission changed', one_changed), ('fresh run', fresh)]:
            print(f'  {what:31s} {seconds:7.1f} s, {graded} graded')
        print(f"  the rerun's CSV is the fresh run's, byte for byte: {same}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
