"""scripts/report.py and scripts/plot_curves.py on crafted result files."""
import json
import os
import struct
import subprocess
import sys

import pytest

from conftest import REPO

SCRIPTS = os.path.join(REPO, 'scripts')
sys.path.insert(0, SCRIPTS)

import report  # noqa: E402


def curve(start, end, epochs=30):
    return [round(start + (end - start) * t / (epochs - 1), 4) for t in range(epochs)]


def craft(tmp_path, finals, first=None):
    """Write result files with the given final (train, val) per question; return their paths."""
    paths = []
    for run in report.RUNS:
        if run.question not in finals:
            continue
        train_end, val_end = finals[run.question]
        train0, val0 = (first or {}).get(run.question, (0.8, 0.8))
        path = tmp_path / run.name
        path.write_text(json.dumps({'train': curve(train0, train_end), 'val': curve(val0, val_end)}))
        paths.append(str(path))
    return paths


def run_report(paths):
    return subprocess.run([sys.executable, os.path.join(SCRIPTS, 'report.py'), '--inputs'] + paths,
                          capture_output=True, text=True, timeout=60)


def verdicts_of(stdout):
    return [line.split()[0] if not line.startswith('NOT CHECKED') else 'NOT CHECKED'
            for line in stdout.splitlines() if line.startswith(('PASS', 'FAIL', 'NOT CHECKED'))]


# Final (train, val) of seven runs for which every observation holds.
FINALS_THAT_HOLD = {'Q3.3': (0.99, 0.92), 'Q3.4': (0.98, 0.94), 'Q3.5': (0.93, 0.90), 'Q3.6': (0.97, 0.89),
                    'Q3.7': (0.97, 0.95), 'Q3.8': (0.99, 0.96), 'Q3.10': (0.99, 0.97)}


def test_report_passes_what_holds(tmp_path):
    first = {'Q3.7': (0.90, 0.90), 'Q3.8': (0.95, 0.945)}
    result = run_report(craft(tmp_path, FINALS_THAT_HOLD, first))
    assert result.returncode == 0
    assert verdicts_of(result.stdout) == ['PASS'] * 5
    assert 'final val 0.9400 vs 0.9200' in result.stdout


def test_report_fails_what_does_not_hold_and_still_exits_0(tmp_path):
    finals = {'Q3.3': (0.99, 0.94), 'Q3.4': (0.98, 0.93), 'Q3.5': (0.995, 0.95), 'Q3.6': (0.97, 0.935),
              'Q3.7': (0.97, 0.95), 'Q3.8': (0.99, 0.96), 'Q3.10': (0.99, 0.955)}
    first = {'Q3.7': (0.90, 0.90), 'Q3.8': (0.95, 0.926)}
    result = run_report(craft(tmp_path, finals, first))
    assert result.returncode == 0
    assert verdicts_of(result.stdout) == ['FAIL'] * 5
    assert 'a loss of 0.0050' in result.stdout and 'val 0.9260' in result.stdout


def test_report_says_what_it_could_not_check(tmp_path):
    result = run_report(craft(tmp_path, {'Q3.3': (0.99, 0.92), 'Q3.4': (0.98, 0.94)}))
    assert result.returncode == 0
    assert verdicts_of(result.stdout) == ['PASS'] + ['NOT CHECKED'] * 4
    assert 'missing MLP_lr0.01_m0.0_w0.0_d0.95.json' in result.stdout


def test_report_summary_figures(tmp_path):
    path = tmp_path / 'mine.json'
    path.write_text(json.dumps({'train': [0.5, 0.9, 0.95], 'val': [0.4, 0.8, 0.7]}))
    result = run_report([str(path)])
    row = next(line for line in result.stdout.splitlines() if line.startswith('mine.json'))
    assert row.split() == ['mine.json', '3', '0.9500', '0.7000', '0.8000', '(2)', '+0.2500']


@pytest.mark.parametrize('content', ['{"train": [0.5]}', 'not json', '{"train": [0.5], "val": [0.5, 0.6]}'])
def test_report_refuses_unreadable_inputs(tmp_path, content):
    path = tmp_path / 'bad.json'
    path.write_text(content)
    result = run_report([str(path)])
    assert result.returncode == 1
    assert 'bad.json' in result.stderr and 'Traceback' not in result.stderr


def test_plot_writes_a_png_of_the_expected_size(tmp_path):
    finals = FINALS_THAT_HOLD
    output = tmp_path / 'curves.png'
    result = subprocess.run([sys.executable, os.path.join(SCRIPTS, 'plot_curves.py'), '--inputs']
                            + craft(tmp_path, finals) + ['--output', str(output)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    header = output.read_bytes()[:24]
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    assert struct.unpack('>II', header[16:24]) == (1200, 840)  # four panels, two by two, at 100 dpi
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(p) for p in craft(tmp_path, finals)]
                                                  + ['curves.png'])


def test_plot_panels_follow_the_assignment():
    import plot_curves
    panels = plot_curves.panels_for(['MLP_lr0.01_m0.0_w0.0_d0.0.json', 'LR_lr0.01_m0.0_w0.0_d0.0.json', 'x.json'])
    assert [title for title, _ in panels] == ['Dropout (Q3.3, Q3.4, Q3.5)', 'The relu (Q3.3, Q3.6)', 'Other runs']
    assert [label for label, _ in panels[1][1]] == ['Q3.3: MLP', 'Q3.6: MLP without relu']

