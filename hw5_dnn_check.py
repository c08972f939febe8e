"""Check the modules of a dnn_misc.py, calling them as the course's drivers do, or a driver.

    python3 hw5_dnn_check.py                       # the dnn_misc.py beside this file
    python3 hw5_dnn_check.py path/to/dnn_misc.py   # yours
    python3 hw5_dnn_check.py --all --pipeline path/to/dnn_misc.py
    python3 hw5_dnn_check.py --pipeline path/to/dnn_cnn_2.py   # a driver

Checks linear_layer, relu and dropout; with --all also what the course gives
in the same file, and with --pipeline the first epoch of Q3.3 to Q3.8 with
your modules. Given a driver (a file that imports dnn_misc and defines no
linear_layer), it checks the network the driver builds and how it wires the
modules in each pass (the TODOs of dnn_cnn_2.py) and its result file; with
--pipeline, one epoch of its course runs with our dnn_misc.py (in a students'
handout, which holds no answer, with yours, once its checks pass).
Each line starts with PASS, WARN or FAIL and names the module:
WARN is a deviation that the course's pipeline tolerates, and says so. The
last line counts each verdict. Exit status: 0 when nothing fails, 1 when
something does, 2 for a usage error.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness.checker import VERDICTS, assigned, driver, pipeline, provided  # noqa: E402
from harness.checker.driver import DRIVERS, PREFIXES, network_of  # noqa: E402
from harness.checker.recorder import CLASSES as MODULES  # noqa: E402
from harness.checker.runner import run_checks  # noqa: E402
from harness.course import RUNS  # noqa: E402

PIPELINE_TIME_LIMIT = 120.0
DRIVER_TIME_LIMIT = 60.0  # a driver's checks: its run on the small data, and reading the course's


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='hw5_dnn_check.py', description=__doc__.splitlines()[0])
    parser.add_argument('path', nargs='?', default=os.path.join(HERE, 'dnn_misc.py'),
                        help="the dnn_misc.py to check (default: the one beside this file)")
    parser.add_argument('--all', action='store_true',
                        help="also check what the course gives: dropout's draws, conv_layer, max_pool, flatten_layer, "
                             "the two losses, add_momentum and the dnn_im2col.py beside the file")
    parser.add_argument('--pipeline', action='store_true',
                        help='also run the first epoch of Q3.3 to Q3.8 with these modules, against the course\'s '
                             f'figures (at most {PIPELINE_TIME_LIMIT:g} s each)')
    parser.add_argument('--questions', metavar='Q3.x,...',
                        help='with --pipeline: only these questions\' epochs (default: every one)')
    parser.add_argument('--modules', metavar='DNN_MISC',
                        help="for a driver: the dnn_misc.py to train with (default: ours; in a students' handout, the one "
                             "beside the driver)")
    parser.add_argument('--json', action='store_true', help='print the verdicts as one JSON object')
    parser.add_argument('--timeout', type=float, default=10.0, metavar='S', help='time limit of each module check')
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f'argument --timeout: must be a number of seconds > 0, got {args.timeout:g}')
    for path in [args.path] + ([args.modules] if args.modules else []):
        if not os.path.isfile(path):
            parser.error(f'{path}: no such file')
    known = [run.question for run in RUNS]
    args.questions = args.questions.split(',') if args.questions is not None else known
    unknown = [q for q in args.questions if q not in known]
    if unknown:
        parser.error(f'argument --questions: {unknown[0]!r} is not one of the course\'s runs ({", ".join(known)})')
    kind = kind_of(args.path)
    if kind == 'neither':
        parser.error(f"{args.path} is neither a dnn_misc.py (it defines none of the course's modules: "
                     f"{', '.join(MODULES[:3])}, ...) nor one of "
                     f"the course's drivers ({', '.join(d + '.py' for d in DRIVERS)}, or a file that imports "
                     f"dnn_misc and writes one of their result files)")
    if kind == 'other driver':
        parser.error(f"{args.path} imports dnn_misc, but is none of the course's drivers: its name is none of "
                     f"{', '.join(d + '.py' for d in DRIVERS)}, and it writes none of their result files "
                     f"({', '.join(PREFIXES[d] + '...' for d in DRIVERS)})")
    if args.modules and kind != 'driver':
        parser.error(f'argument --modules: only for a driver, and {args.path} is a dnn_misc.py')
    return args


def kind_of(path):
    """'dnn_misc', 'driver' (of one of the course's networks), 'other driver' or 'neither'.

    A driver imports dnn_misc and defines no linear_layer; failing both, its name or the result file
    it writes tells. A file named dnn_misc.py, or one that defines a module class, is a dnn_misc.py.
    """
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    if re.search(r'^\s*class\s+linear_layer\b', text, re.MULTILINE):
        return 'dnn_misc'
    network, named_dnn_misc = network_of(path), os.path.basename(path) == 'dnn_misc.py'
    if re.search(r'^\s*(import\s+dnn_misc\b|from\s+dnn_misc\s+import)', text, re.MULTILINE):
        return 'driver' if network else 'other driver'
    if network and not named_dnn_misc:
        return 'driver'
    if named_dnn_misc or re.search(rf"^\s*class\s+({'|'.join(MODULES)})\b", text, re.MULTILINE):
        return 'dnn_misc'
    return 'neither'


def checks_of(args):
    """The checks (Check) to run on args.path."""
    if kind_of(args.path) == 'driver':
        return driver.checks(network_of(args.path), args.questions if args.pipeline else ())
    return (assigned.CHECKS + provided.CHECKS * args.all
            + [check for check in pipeline.CHECKS if args.pipeline and check.name.split()[0] in args.questions])


def main(argv=None):
    args = parse_args(argv)
    checks = checks_of(args)
    limits = {'pipeline': PIPELINE_TIME_LIMIT, 'driver': DRIVER_TIME_LIMIT, 'module': args.timeout}
    results = []
    for check, result in run_checks(args.path, checks, limits.get, args.modules):
        results.append({'module': check.module, 'check': check.name, **result})
        if not args.json:
            print(f'{result["verdict"]}  {check.module + "." + check.name:44s} {result["message"]}', flush=True)
    counts = {verdict: sum(r['verdict'] == verdict for r in results) for verdict in VERDICTS}
    if args.json:
        worst = {}
        for result in results:  # a module's verdict is its worst check's
            worst[result['module']] = max(worst.get(result['module'], 'PASS'), result['verdict'], key=VERDICTS.index)
        print(json.dumps({'file': os.path.abspath(args.path), 'checks': results, 'modules': worst,
                          'counts': counts}, indent=1))
    else:
        print(', '.join(f'{counts[v]} {v}' for v in VERDICTS))
    return 1 if counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
