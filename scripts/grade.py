"""Grade a class: check every submission's modules and result files, and write one table.

    python3 scripts/grade.py SUBMISSIONS [-j N] [--out grades.csv] [--timeout S] [--memory MB]

SUBMISSIONS holds one folder per submission: its dnn_misc.py, its dnn_cnn_2.py
and, if any, its result JSON files, at the top or in outputs/. For each:
- linear_layer, relu, dropout: the verdicts of `hw5_dnn_check.py`;
- pipeline: its modules' first epoch of Q3.3 to Q3.6 against the course's
  figures (`hw5_dnn_check.py --pipeline`);
- dnn_cnn_2 (Q3.9): the network its dnn_cnn_2.py builds and the wiring of
  its TODOs, checked with our modules (`hw5_dnn_check.py dnn_cnn_2.py`);
- one column per result file of the assignment: present, well formed (30
  epochs of accuracies in [0, 1]), equal to ours (the MLP and LR runs
  exactly, the CNN runs within 0.003 at every epoch) and equal in epoch 1 to
  what the submission's own code gives (Q3.3 to Q3.6: its modules; Q3.10:
  its dnn_cnn_2.py with its modules): a file that is not is flagged as not
  made by the code handed in;
- notes: the first reason for each FAIL or WARN.
Each submission runs in its own process, in a scratch copy, with a time and
a memory limit; one that exits, crashes, loops, floods its output or fills
memory gets FAIL rows with the reason and stops nobody else.
"""
import argparse
import concurrent.futures
import csv
import io
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness.grading import COLUMNS, grade, markdown  # noqa: E402
from harness.result_files import write_or_rescue  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog='grade.py', description=__doc__.splitlines()[0])
    parser.add_argument('submissions', help='a folder with one folder per submission')
    parser.add_argument('-j', type=int, default=1, metavar='N', help='submissions graded at a time')
    parser.add_argument('--out', default='grades.csv', help='the CSV to write')
    parser.add_argument('--timeout', type=float, default=300.0, metavar='S', help='time limit per submission')
    parser.add_argument('--memory', type=int, default=2048, metavar='MB', help='memory limit per submission')
    args = parser.parse_args(argv)
    for wrong, message in [(args.j < 1, f'argument -j: must be an integer >= 1, got {args.j}'),
                           (not args.timeout > 0, f'argument --timeout: must be > 0 seconds, got {args.timeout:g}'),
                           (args.memory < 256, f'argument --memory: must be at least 256 MB, got {args.memory}')]:
        if wrong:
            parser.error(message)
    if not os.path.isdir(args.submissions):
        parser.error(f'{args.submissions}: no such folder')
    folders = sorted(os.path.join(args.submissions, name) for name in os.listdir(args.submissions)
                     if not name.startswith('.') and os.path.isdir(os.path.join(args.submissions, name)))
    if not folders:
        parser.error(f'{args.submissions}: no submission folders in it')

    rows, started = [], time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        futures = [pool.submit(grade, folder, args.timeout, args.memory) for folder in folders]
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            row = future.result()
            rows.append(row)
            elapsed = time.monotonic() - started
            left = elapsed / done * (len(folders) - done)
            failed = sum(row[c] == 'FAIL' for c in COLUMNS[1:-1])
            print(f"[{done}/{len(folders)}] {row['submission']}: {failed} FAIL "
                  f"({elapsed:.0f} s so far, about {left:.0f} s left)", file=sys.stderr, flush=True)
    rows.sort(key=lambda row: row['submission'])

    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    print(markdown(rows))
    status = write_or_rescue(args.out, lambda f: f.write(table.getvalue()), parser.prog, 'the table',
                             text=table.getvalue())
    if status == 0:
        print(f'wrote {args.out}', file=sys.stderr)
    return status


if __name__ == '__main__':
    sys.exit(main())
