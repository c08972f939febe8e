"""Seconds to grade one right submission, this checkout's grader against another's, runs alternating.

    python3 bench/grade_ab.py ../old              # a checkout (git worktree add ../old REV)
    python3 bench/grade_ab.py ../old --repeat 5 --no-sandbox

The submission is a right one, as a class hands it in: this checkout's dnn_misc.py and
dnn_cnn_2.py with the course's seven result files, so that every first epoch is made again.
Each round grades it with both graders (old, new, then new, old, ...), one submission at a time
(-j 1), each a fresh grade.py process, so that both see the same stretch of a noisy machine.
Prints each run's wall seconds and CPU seconds (the machine's, from /proc/stat), each grader's
medians, and the median and range of the ratios new / old of each round. With --no-sandbox,
both run where bwrap is not on PATH.
"""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def submission(folder):
    os.makedirs(os.path.join(folder, 'right', 'outputs'))
    for name in ('dnn_misc.py', 'dnn_cnn_2.py'):
        shutil.copy(os.path.join(REPO, name), os.path.join(folder, 'right', name))
    for name in os.listdir(os.path.join(REPO, 'outputs')):
        if name.endswith('.json'):
            shutil.copy(os.path.join(REPO, 'outputs', name), os.path.join(folder, 'right', 'outputs', name))


def busy_seconds():
    """The machine's CPU seconds spent so far, all processes and CPUs (Linux's /proc/stat): a process
    in bubblewrap's namespace is not counted among its parent's children, so the whole machine is
    (a quiet one: what else runs counts too)."""
    with open('/proc/stat') as f:
        user, nice, system = (int(v) for v in f.readline().split()[1:4])
    return (user + nice + system) / os.sysconf('SC_CLK_TCK')


def grade(checkout, folder, env):
    """(wall seconds, CPU seconds) of one grading, and its total points."""
    out = os.path.join(folder, 'grades.csv')
    before, start = busy_seconds(), time.perf_counter()
    subprocess.run([sys.executable, os.path.join(checkout, 'scripts', 'grade.py'), os.path.join(folder, 'class'),
                    '--out', out, '-j', '1'], check=True, capture_output=True, env=env)
    wall, cpu = time.perf_counter() - start, busy_seconds() - before
    with open(out) as f:
        total = next(row['total'] for row in csv.DictReader(f) if row['submission'] == 'right')
    return wall, cpu, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('old', help='the other checkout')
    parser.add_argument('--repeat', type=int, default=3, help='rounds (default 3)')
    parser.add_argument('--no-sandbox', action='store_true', help='grade where bwrap is not on PATH')
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix='grade-ab-')
    env = dict(os.environ)
    if args.no_sandbox:
        env['PATH'] = os.path.join(folder, 'no-bwrap')
    try:
        submission(os.path.join(folder, 'class'))
        times = {'old': [], 'new': []}
        for round_ in range(args.repeat):
            order = ['old', 'new'] if round_ % 2 == 0 else ['new', 'old']
            for which in order:
                wall, cpu, total = grade(os.path.abspath(args.old) if which == 'old' else REPO, folder, env)
                times[which].append((wall, cpu))
                print(f'round {round_ + 1} {which}: {wall:.1f} s wall, {cpu:.1f} s CPU, {total} points', flush=True)
        for which in ('old', 'new'):
            print(f'{which}: median {statistics.median(w for w, _ in times[which]):.1f} s wall, '
                  f'{statistics.median(c for _, c in times[which]):.1f} s CPU')
        for k, label in ((0, 'wall'), (1, 'CPU')):
            ratios = [n[k] / o[k] for o, n in zip(times['old'], times['new'])]
            print(f'new / old, {label}: median {statistics.median(ratios):.2f} '
                  f'({min(ratios):.2f}-{max(ratios):.2f}) over {len(ratios)} rounds')
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
    main()
