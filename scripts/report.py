"""A table of result files and the verdict on each observation the assignment predicts.

    python3 scripts/report.py                  # outputs/*.json
    python3 scripts/report.py --inputs a.json b.json --markdown

It is a report: it exits 0 whatever the verdicts, and non-zero only when it
cannot read its inputs. An observation whose files are missing is reported as
not checked.
"""
import argparse
import glob
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from harness.course import RUNS  # noqa: E402  (the seven runs of the assignment)

FILE_OF = {run.question: run.name for run in RUNS}


class ReportError(Exception):
    """An input file cannot be read as a result file."""


def load_result(path):
    """{'train': [...], 'val': [...]} from a result file, checked; raises ReportError."""
    try:
        with open(path) as f:
            result = json.load(f)
    except (OSError, ValueError) as error:
        raise ReportError(f'{path}: cannot read: {error}') from None
    if (not isinstance(result, dict) or not all(isinstance(result.get(key), list) for key in ('train', 'val'))
            or not result['val'] or len(result['train']) != len(result['val'])
            or not all(isinstance(v, (int, float)) for v in result['train'] + result['val'])):
        raise ReportError(f'{path}: not a result file: expected {{"train": [...], "val": [...]}} of equal, '
                          f'non-zero lengths')
    return result


def summary(result):
    """Final and best validation accuracy, the epoch of the best (from 1), final train - val gap."""
    val = result['val']
    best = max(range(len(val)), key=val.__getitem__)
    return {'epochs': len(val), 'final_train': result['train'][-1], 'final_val': val[-1],
            'best_val': val[best], 'best_epoch': best + 1, 'gap': result['train'][-1] - val[-1]}


def observations(results):
    """The five predictions of the assignment, each checked on `results` ({question: result}).

    Returns a list of (claim, verdict, figures) with verdict 'PASS', 'FAIL' or
    'NOT CHECKED' (a result it needs is missing).
    """
    def final(question, key='val'):
        return results[question][key][-1]

    checks = [
        ('Q3.4 (dropout 0.5) ends with higher validation accuracy than Q3.3 (no dropout)', ('Q3.3', 'Q3.4'),
         lambda: (final('Q3.4') > final('Q3.3'),
                  f"final val {final('Q3.4'):.4f} vs {final('Q3.3'):.4f}")),
        ('Q3.5 (dropout 0.95) has lower training and validation accuracy than Q3.3: it underfits',
         ('Q3.3', 'Q3.5'),
         lambda: (final('Q3.5', 'train') < final('Q3.3', 'train') and final('Q3.5') < final('Q3.3'),
                  f"final train {final('Q3.5', 'train'):.4f} vs {final('Q3.3', 'train'):.4f}, "
                  f"val {final('Q3.5'):.4f} vs {final('Q3.3'):.4f}")),
        ('Q3.6 (no relu) loses validation accuracy against Q3.3, by about 0.03 (0.015 to 0.045)',
         ('Q3.3', 'Q3.6'),
         lambda: (0.015 <= final('Q3.3') - final('Q3.6') <= 0.045,
                  f"final val {final('Q3.6'):.4f} vs {final('Q3.3'):.4f}, "
                  f"a loss of {final('Q3.3') - final('Q3.6'):.4f}")),
        ('Q3.8 (momentum) converges faster than Q3.7: training and validation above 0.94 after epoch 1',
         ('Q3.7', 'Q3.8'),
         lambda: (min(results['Q3.8']['train'][0], results['Q3.8']['val'][0]) > 0.94
                  and results['Q3.8']['val'][0] > results['Q3.7']['val'][0],
                  f"epoch 1: Q3.8 train {results['Q3.8']['train'][0]:.4f}, val {results['Q3.8']['val'][0]:.4f}; "
                  f"Q3.7 train {results['Q3.7']['train'][0]:.4f}, val {results['Q3.7']['val'][0]:.4f}")),
        ('Q3.10 (two conv layers) reaches higher validation accuracy than Q3.8', ('Q3.8', 'Q3.10'),
         lambda: (final('Q3.10') > final('Q3.8'),
                  f"final val {final('Q3.10'):.4f} vs {final('Q3.8'):.4f}")),
    ]
    verdicts = []
    for claim, needs, check in checks:
        missing = [q for q in needs if q not in results]
        if missing:
            verdicts.append((claim, 'NOT CHECKED', f"missing {', '.join(FILE_OF[q] for q in missing)}"))
            continue
        holds, figures = check()
        verdicts.append((claim, 'PASS' if holds else 'FAIL', figures))
    return verdicts


def render(rows, verdicts, markdown):
    """The report as text lines: a table of runs, then the observations."""
    columns = ['run', 'epochs', 'final train', 'final val', 'best val (epoch)', 'train - val']
    table = [[label, str(s['epochs']), f"{s['final_train']:.4f}", f"{s['final_val']:.4f}",
              f"{s['best_val']:.4f} ({s['best_epoch']})", f"{s['gap']:+.4f}"] for label, s in rows]
    lines = []
    if markdown:
        lines += ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
        lines += ['| ' + ' | '.join(row) + ' |' for row in table]
        lines += ['', '| observation | verdict | figures |', '|---|---|---|']
        lines += [f'| {claim} | {verdict} | {figures} |' for claim, verdict, figures in verdicts]
    else:
        widths = [max(len(row[i]) for row in table + [columns]) for i in range(len(columns))]
        for row in [columns] + table:
            lines.append('  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        lines.append('')
        for claim, verdict, figures in verdicts:
            lines.append(f'{verdict:11s} {claim}')
            lines.append(f'{"":11s}   {figures}')
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--inputs', nargs='+', metavar='FILE',
                        help='result files (default: outputs/*.json)')
    parser.add_argument('--markdown', action='store_true', help='print Markdown tables')
    args = parser.parse_args(argv)
    paths = args.inputs or sorted(glob.glob(os.path.join(REPO, 'outputs', '*.json')))
    if not paths:
        print(f'{parser.prog}: error: no result files in outputs/; run scripts/run_all.sh first', file=sys.stderr)
        return 1
    try:
        loaded = {path: load_result(path) for path in paths}
    except ReportError as error:
        print(f'{parser.prog}: error: {error}', file=sys.stderr)
        return 1

    by_name = {os.path.basename(path): result for path, result in loaded.items()}
    results = {run.question: by_name[run.name] for run in RUNS if run.name in by_name}
    label_of = {run.name: f'{run.question} {run.name}' for run in RUNS}
    order = {run.name: i for i, run in enumerate(RUNS)}
    paths = sorted(loaded, key=lambda path: (order.get(os.path.basename(path), len(RUNS)), path))
    rows = [(label_of.get(os.path.basename(path), os.path.basename(path)), summary(loaded[path])) for path in paths]
    try:
        print('\n'.join(render(rows, observations(results), args.markdown)), flush=True)
    except OSError as error:  # a full disk, or a reader that stopped: the files are untouched
        sys.stdout = open(os.devnull, 'w')  # nothing more to flush at exit
        if not isinstance(error, BrokenPipeError):  # `| head` is no error worth a line
            print(f'{parser.prog}: error: cannot write the report to standard output: {error.strerror or error}; '
                  f'the result files are unchanged, so it can be made again', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
