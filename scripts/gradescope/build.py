"""Build the zip to upload to Gradescope as the autograder.

    python3 scripts/gradescope/build.py [--out autograder.zip]

At the zip's top: setup.sh and run_autograder (from this folder), and what grading needs from the
repository: our modules and drivers (the driver checks run with them), the checker and the
grader (harness/), the rubric, the course's data and our result files (the course's); with
--overrides FILE.csv, the staff's own points, applied to each submission they name.
"""
import argparse
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
from harness.grader import overrides, rubric  # noqa: E402
from harness.result_files import write_or_rescue  # noqa: E402

OVERRIDES = 'overrides.csv'  # at the zip's top: grade_submission.py applies it
TOP = ['dnn_misc.py', 'dnn_mlp.py', 'dnn_mlp_nononlinear.py', 'dnn_cnn.py', 'dnn_cnn_2.py', 'dnn_im2col.py',
       'data_loader.py', 'hw5_dnn_check.py', 'requirements.txt', os.path.join('data', 'mnist_subset.json'),
       os.path.join('scripts', 'rubric.json')]


def members(overrides=None):
    """[(path in the zip, file on disk)]; the staff's `overrides` file as OVERRIDES, where given."""
    found = [(name, os.path.join(HERE, name)) for name in ('setup.sh', 'run_autograder')]
    found += [(OVERRIDES, overrides)] if overrides else []
    found += [(name, os.path.join(REPO, name)) for name in TOP]
    for folder, pattern in (('harness', '.py'), ('outputs', '.json'), (os.path.join('scripts', 'gradescope'), '.py')):
        for base, _, files in os.walk(os.path.join(REPO, folder)):
            found += [(os.path.relpath(os.path.join(base, f), REPO), os.path.join(base, f))
                      for f in sorted(files) if f.endswith(pattern)]
    return found


def write_zip(f, overrides=None):
    with zipfile.ZipFile(f, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, path in members(overrides):
            info = zipfile.ZipInfo.from_file(path, name.replace(os.sep, '/'))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in ('setup.sh', 'run_autograder'):
                info.external_attr = 0o100755 << 16  # executable, as Gradescope needs run_autograder
            with open(path, 'rb') as source:
                archive.writestr(info, source.read())


def main(argv=None):
    parser = argparse.ArgumentParser(prog='build.py', description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='autograder.zip', help='the zip to write')
    parser.add_argument('--overrides', metavar='FILE.csv',
                        help="staff's own points (submission,item,points,reason), a submission named by its "
                             "student's email before the @, or SID, as Gradescope has them")
    args = parser.parse_args(argv)
    if args.overrides:
        try:
            overrides.read(args.overrides, rubric.load())
        except overrides.OverrideError as error:
            parser.error(f'--overrides {error}')
    status = write_or_rescue(args.out, lambda f: write_zip(f, args.overrides), parser.prog, 'the autograder',
                             binary=True)
    if status == 0:
        print(f'wrote {args.out} ({os.path.getsize(args.out) >> 20} MB): upload it as the autograder on Gradescope')
    return status


if __name__ == '__main__':
    sys.exit(main())
