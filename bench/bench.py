"""Seconds per epoch of the seven question configurations, ours and (with --torch) PyTorch's.

    python3 bench/bench.py                   # 3 epochs of each, 3 alternating repeats
    python3 bench/bench.py --torch           # and the same networks in PyTorch, ratio ours / PyTorch
    python3 bench/bench.py --configs q33,q38 --epochs 2 --repeat 5
    python3 bench/bench.py --baseline ../old  # and another checkout of this repository, ratio ours / it

Each measurement runs in a fresh process (so its peak memory is its own; the
evaluation process a run forks on Linux is reported beside it, the pages
they share counted in both) through the drivers' real code: `harness.training.train`
with the driver's network.
A figure is the whole run's seconds divided by its epochs. Where ours evaluates
each epoch alongside the next one's training (harness/evaluation.py),
the last evaluation runs after training: a run of E epochs pays about 1/E of
an evaluation more per epoch than a 30-epoch run. So each repeat also runs one
epoch, and the marginal seconds per epoch, (E-epoch run - 1-epoch run) / (E - 1),
are what one more epoch costs, the fixed costs of a run set aside; ours / other
compares them. Each repeat runs ours and the
others (PyTorch, a baseline checkout measured by its own bench.py) back to
back, the order reversing from one repeat to the next; every figure is the
median over the repeats, and ours / other the median of the ratios within each
repeat. Writes bench/RESULTS.md (keeping its '## History' section) and bench/results.json.
"""
import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [REPO, HERE]

from configs import CONFIGS, setup  # noqa: E402


def peak_memory_mb(who='self'):
    """Peak resident megabytes of this process, or ('children') of the largest child it waited for."""
    import resource
    return resource.getrusage(resource.RUSAGE_CHILDREN if who == 'children' else resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_ours(question, epochs):
    """One measurement of our driver, in this process: a dict of seconds and megabytes."""
    network, args = setup(question, epochs)  # first: the driver's harness asks BLAS for its threads before NumPy loads
    from harness import evaluation, training
    from data_loader import load_mnist

    start = time.perf_counter()
    data = load_mnist(as_images=network.as_images)
    load_s = time.perf_counter() - start

    # The seconds of each evaluation, as the log line reports them, and whether any ran in the background.
    eval_seconds, background = [], []
    EpochEvaluation = evaluation.EpochEvaluation

    after_epoch = EpochEvaluation.after_epoch

    def timed_after_epoch(self, *args, **kwargs):
        finished = after_epoch(self, *args, **kwargs)
        eval_seconds.extend(results[-1] for _, results in finished)
        background.append(self._pool is not None)
        return finished

    EpochEvaluation.after_epoch = timed_after_epoch
    start = time.perf_counter()
    record, _ = training.train(network, args, data, log=lambda *_: None)
    total = time.perf_counter() - start
    return {'load_s': load_s, 'total_s': total / epochs, 'eval_s': sum(eval_seconds) / epochs,
            'background': any(background), 'peak_mb': peak_memory_mb(),
            'worker_peak_mb': peak_memory_mb('children'), 'val': record['val']}


def total_seconds(measurement):
    """Seconds per epoch, training and evaluation; a baseline's older bench.py reports them apart."""
    if 'total_s' in measurement:
        return measurement['total_s']
    return measurement['train_s'] + measurement['eval_s']


def marginal_seconds(long, short, epochs):
    """What one more epoch costs: the seconds of an `epochs`-epoch run less those of a 1-epoch run,
    over the epochs between (training and evaluation, the data's loading left out)."""
    return (total_seconds(long) * epochs - total_seconds(short)) / (epochs - 1)


def measure_torch(question, epochs):
    from torch_nets import train_torch
    return train_torch(question, epochs)


def run_child(kind, question, epochs, baseline=None):
    """Measure in a fresh Python process; return its dict. The baseline measures itself, as 'ours'."""
    script = os.path.join(baseline, 'bench', 'bench.py') if kind == 'baseline' else os.path.abspath(__file__)
    out = subprocess.run([sys.executable, script, '--child', 'ours' if kind == 'baseline' else kind, question,
                          '--epochs', str(epochs)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def kept_history(path):
    """What follows a line '## History' in the file this run replaces: the record of earlier
    measurements, which each new table keeps below it."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return ''
    start = text.find('\n## History')
    return text[start:] if start >= 0 else ''


def machine_description():
    import numpy as np
    blas = 'unknown'
    try:
        config = np.show_config(mode='dicts')
        info = config['Build Dependencies']['blas']
        blas = f"{info['name']} {info.get('version', '')}".strip()
    except Exception:
        pass
    cpu = platform.processor() or 'unknown cpu'
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return (f'{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, '
            f'NumPy {np.__version__}, BLAS {blas}')


def checkout_description(folder):
    """'commit abc1234 (its subject)' for a git checkout, else the folder's path."""
    try:
        out = subprocess.run(['git', '-C', folder, 'log', '-1', '--format=%h (%s)'], capture_output=True,
                             text=True, check=True).stdout.strip()
        return f'commit {out}'
    except (OSError, subprocess.CalledProcessError):
        return f'the checkout in `{folder}`'


def build_parser():
    """The command line; --child is how a measurement runs itself in a fresh process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=3,
                        help='epochs per measurement (at least 2: each repeat also runs 1, for the marginal figure)')
    parser.add_argument('--repeat', type=int, default=3, help='alternating measurements per configuration')
    parser.add_argument('--configs', default=','.join(q for q, _, _ in CONFIGS), help='questions, comma-separated')
    parser.add_argument('--torch', action='store_true', help='also measure PyTorch (needs torch installed)')
    parser.add_argument('--baseline', metavar='DIR', help='also measure another checkout of this repository')
    parser.add_argument('--output', default=os.path.join(HERE, 'RESULTS.md'))
    parser.add_argument('--child', nargs=2, metavar=('KIND', 'QUESTION'), help=argparse.SUPPRESS)
    return parser


def questions_to_measure(parser, args):
    """The --configs questions, once the flags are checked: a wrong one exits (status 2)."""
    questions = args.configs.split(',')
    unknown = set(questions) - {q for q, _, _ in CONFIGS}
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    if args.torch and importlib.util.find_spec('torch') is None:
        parser.error('--torch needs PyTorch, which is not installed: pip install torch==2.13.0')
    if args.baseline and not os.path.isfile(os.path.join(args.baseline, 'bench', 'bench.py')):
        parser.error(f'--baseline {args.baseline}: not a checkout of this repository (no bench/bench.py)')
    if args.epochs < 2:
        parser.error('--epochs: at least 2, so that one more epoch than one can be timed')
    return questions


def measure_question(question, kinds, args):
    """{kind: its medians over the repeats} of one question, and each other kind's ratios to ours."""
    runs = {kind: [] for kind in kinds}
    marginal = {kind: [] for kind in kinds}
    for repeat in range(args.repeat):
        for kind in kinds if repeat % 2 == 0 else kinds[::-1]:  # who goes first alternates too
            long, short = (run_child(kind, question, epochs, args.baseline) for epochs in (args.epochs, 1))
            runs[kind].append(long)
            marginal[kind].append(marginal_seconds(long, short, args.epochs))
    result = {kind: {'total_s': statistics.median(map(total_seconds, runs[kind])),
                     'marginal_s': statistics.median(marginal[kind]),
                     'background': any(run.get('background', False) for run in runs[kind]),
                     **{key: statistics.median(run[key] for run in runs[kind])
                        for key in ('load_s', 'eval_s', 'peak_mb', 'worker_peak_mb')
                        if all(key in run for run in runs[kind])}}
              for kind in kinds}
    for other in kinds[1:]:
        # Each repeat ran ours and the others back to back: the ratio within a repeat is
        # the fairest comparison on a machine whose speed drifts from minute to minute.
        ratios = [a / b for a, b in zip(marginal['ours'], marginal[other])]
        result[other + '_ratios'] = ratios
        result[other + '_ratio'] = statistics.median(ratios)
    return result


def main():
    parser = build_parser()
    args = parser.parse_args()
    if args.child:
        kind, question = args.child
        measure = measure_ours if kind == 'ours' else measure_torch
        print(json.dumps(measure(question, args.epochs)))
        return 0

    questions = questions_to_measure(parser, args)
    kinds = ['ours'] + ['torch'] * args.torch + ['baseline'] * bool(args.baseline)
    results = {}
    for question in questions:
        results[question] = measure_question(question, kinds, args)
        print(question, json.dumps(results[question]), flush=True)

    write_report(args, results)
    return 0


BUDGET = 1.0  # ours / PyTorch, marginal seconds per epoch, for every configuration


def budget_verdict(ratios):
    """'within' when every pair's ratio is at most the budget, 'over' when every one is above it, and
    else 'too wide to call': the pairs straddle it, and more of them, or a quieter hour, must decide."""
    if max(ratios) <= BUDGET:
        return 'within'
    if min(ratios) > BUDGET:
        return 'over'
    return 'too wide to call'


def report_preamble(args, results):
    """The report's lines above its table: the machine, the command, and how to read the figures."""
    lines = [
        '# Benchmark: seconds per epoch',
        '',
        f'Machine: {machine_description()}.',
        'Command: `' + ' '.join(['python3', 'bench/bench.py'] + sys.argv[1:]) + '`',
        '',
        f'Each figure is the median of {args.repeat} runs of {args.epochs} epochs, each in a fresh process; a'
        f' marginal figure is what one more epoch costs, (the {args.epochs}-epoch run - a 1-epoch run) /'
        f' {args.epochs - 1}, from the same repeat'
        + ('; ours and the others ran back to back in an order that reverses each time; ours / other is the'
           ' median of the ratios of marginal seconds within each repeat, and the range shows the lowest and'
           ' highest of them' if args.torch or args.baseline else '')
        + '. The machine is shared and noisy: the same run can take 15% longer from one minute to the next.'
        + (f' "budget {BUDGET:g}" is within when every pair\'s ratio to PyTorch is at most {BUDGET:g}, over when every'
           f' one is above it, and too wide to call when they straddle it.' if args.torch else ''),
        '',
    ]
    if any(result['ours']['background'] for result in results.values()):
        lines += ['Where ours evaluates "alongside training", each epoch is evaluated on the second CPU while the'
                  ' next one trains, and the last epoch\'s evaluation runs after training: a run'
                  ' of E epochs pays about 1/E of an evaluation more per epoch than a long run does.', '']
    if any(result['ours'].get('worker_peak_mb') for result in results.values()):
        lines += ['"+ N evaluating" is the peak of the process that evaluates in the background (on Linux);'
                  ' the pages it shares with training, from the fork, count in both figures.', '']
    if args.baseline:
        lines += [f'Baseline: {checkout_description(args.baseline)}, measured by its own `bench/bench.py`.', '']
    return lines


def results_table(results):
    """The report's table: a row per question, ours and then each other kind measured."""
    header = '| question | ours: s/epoch | marginal | of which evaluating | data load s | peak MB |'
    rule = '|---|---|---|---|---|---|'
    others = [(kind, label) for kind, label in [('torch', 'PyTorch'), ('baseline', 'baseline')]
              if kind in next(iter(results.values()))]
    for kind, label in others:
        header += f' {label} s/epoch | marginal | ours / {label}, marginal | range |'
        rule += '---|---|---|---|'
        if kind == 'torch':
            header += f' budget {BUDGET:g} |'
            rule += '---|'
    lines = [header, rule]
    for question, result in results.items():
        ours = result['ours']
        alongside = ' alongside training' if ours['background'] else ''
        worker = f" + {ours['worker_peak_mb']:.0f} evaluating" if ours.get('worker_peak_mb') else ''
        row = (f"| {question} | {ours['total_s']:.2f} | {ours['marginal_s']:.2f} | {ours['eval_s']:.2f}{alongside}"
               f" | {ours['load_s']:.2f} | {ours['peak_mb']:.0f}{worker} |")
        for kind, _ in others:
            theirs, ratios = result[kind], result[kind + '_ratios']
            row += (f" {theirs['total_s']:.2f} | {theirs['marginal_s']:.2f} | {result[kind + '_ratio']:.2f} |"
                    f" {min(ratios):.2f}-{max(ratios):.2f} |")
            if kind == 'torch':
                row += f' {budget_verdict(ratios)} |'
        lines.append(row)
    return lines


def write_report(args, results):
    """--output (RESULTS.md), its '## History' kept, and results.json beside it."""
    lines = report_preamble(args, results) + results_table(results)
    history = kept_history(args.output)
    with open(args.output, 'w') as f:
        f.write('\n'.join(lines) + '\n' + history)
    with open(os.path.splitext(args.output)[0].replace('RESULTS', 'results') + '.json', 'w') as f:
        json.dump({'machine': machine_description(), 'epochs': args.epochs, 'repeat': args.repeat,
                   'results': results}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
