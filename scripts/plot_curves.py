"""Draw the learning curves of the result files, one panel per comparison the assignment makes.

    python3 scripts/plot_curves.py                               # outputs/*.json -> outputs/curves.png
    python3 scripts/plot_curves.py --inputs a.json b.json --output my.png

Panels: dropout (Q3.3, Q3.4, Q3.5), the relu (Q3.3, Q3.6), momentum (Q3.7,
Q3.8) and depth (Q3.8, Q3.10), each drawn when one of its files is given;
files that are not among the assignment's seven share one more panel.
Training accuracy is dashed, validation solid. Needs matplotlib
(requirements-plot.txt).
"""
import argparse
import glob
import os
import sys

from report import REPO, RUNS, ReportError, load_result

sys.path.insert(0, REPO)
from harness.result_files import check_can_write, write_or_rescue  # noqa: E402

PANELS = [
    ('Dropout (Q3.3, Q3.4, Q3.5)', ['Q3.3', 'Q3.4', 'Q3.5']),
    ('The relu (Q3.3, Q3.6)', ['Q3.3', 'Q3.6']),
    ('Momentum (Q3.7, Q3.8)', ['Q3.7', 'Q3.8']),
    ('Depth (Q3.8, Q3.10)', ['Q3.8', 'Q3.10']),
]


def panels_for(paths):
    """[(title, [(label, path), ...]), ...] for the given result files."""
    question_of = {run.name: (run.question, run.label) for run in RUNS}
    known = {}
    others = []
    for path in paths:
        name = os.path.basename(path)
        if name in question_of:
            question, settings = question_of[name]
            known[question] = (f'{question}: {settings}', path)
        else:
            others.append((os.path.splitext(name)[0], path))
    panels = [(title, [known[q] for q in questions if q in known]) for title, questions in PANELS]
    panels = [(title, curves) for title, curves in panels if curves]
    if others:
        panels.append(('Other runs', others))
    return panels


def plot(panels):
    """The figure of panels [(title, [(label, result file), ...]), ...], two to a row."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 4.2 * rows), squeeze=False)
    for ax, (title, curves) in zip(axes.flat, panels):
        for i, (label, path) in enumerate(curves):
            result = load_result(path)
            epochs = range(1, len(result['val']) + 1)
            color = f'C{i}'
            ax.plot(epochs, result['val'], '-', color=color, label=f'{label}, validation')
            ax.plot(epochs, result['train'], '--', color=color, label=f'{label}, training')
        ax.set_title(title)
        ax.set_xlabel('epoch')
        ax.set_ylabel('accuracy')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc='lower right')
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    figure.tight_layout()
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--inputs', nargs='+', metavar='FILE', help='result files (default: outputs/*.json)')
    parser.add_argument('--output', default=os.path.join(REPO, 'outputs', 'curves.png'), help='the PNG to write')
    args = parser.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f'{parser.prog}: error: matplotlib is not installed; pip install -r requirements-plot.txt',
              file=sys.stderr)
        return 1
    paths = args.inputs or sorted(glob.glob(os.path.join(REPO, 'outputs', '*.json')))
    if not paths:
        print(f'{parser.prog}: error: no result files to plot', file=sys.stderr)
        return 1
    try:
        for path in paths:
            load_result(path)
        check_can_write(args.output)
    except ReportError as error:
        print(f'{parser.prog}: error: {error}', file=sys.stderr)
        return 1
    except OSError as error:
        print(f'{parser.prog}: error: cannot write {args.output}: {error.strerror or error}', file=sys.stderr)
        return 1
    figure = plot(panels_for(paths))
    status = write_or_rescue(args.output, lambda f: figure.savefig(f, format='png', dpi=100), parser.prog,
                             'the plot', binary=True)
    if status == 0:
        print(f'wrote {args.output}')
    return status


if __name__ == '__main__':
    sys.exit(main())
