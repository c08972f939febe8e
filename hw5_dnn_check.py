"""Check the modules of a dnn_misc.py, calling them as the course's drivers do.

    python3 hw5_dnn_check.py                       # this repository's dnn_misc.py
    python3 hw5_dnn_check.py path/to/dnn_misc.py   # yours
    python3 hw5_dnn_check.py --all --pipeline path/to/dnn_misc.py

Checks linear_layer, relu and dropout; with --all also what the course gives
in the same file, and with --pipeline the first epoch of Q3.3 to Q3.6 with
your modules. Each line starts with PASS, WARN or FAIL and names the module:
WARN is a deviation that the course's pipeline tolerates, and says so. The
last line counts each verdict. Exit status: 0 when nothing fails, 1 when
something does, 2 for a usage error.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness.checker.groups import GROUPS  # noqa: E402
from harness.checker.runner import run_checks  # noqa: E402

VERDICTS = ('PASS', 'WARN', 'FAIL')
PIPELINE_TIME_LIMIT = 120.0


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='hw5_dnn_check.py', description=__doc__.splitlines()[0])
    parser.add_argument('path', nargs='?', default=os.path.join(HERE, 'dnn_misc.py'),
                        help="the dnn_misc.py to check (default: this repository's)")
    parser.add_argument('--all', action='store_true',
                        help="also check what the course gives: dropout's draws, conv_layer, max_pool, flatten_layer, "
                             "the two losses, add_momentum and the dnn_im2col.py beside the file")
    parser.add_argument('--pipeline', action='store_true',
                        help='also run the first epoch of Q3.3 to Q3.6 with these modules, against the course\'s '
                             f'figures (at most {PIPELINE_TIME_LIMIT:g} s each)')
    parser.add_argument('--json', action='store_true', help='print the verdicts as one JSON object')
    parser.add_argument('--timeout', type=float, default=10.0, metavar='S', help='time limit of each module check')
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f'argument --timeout: must be a number of seconds > 0, got {args.timeout:g}')
    if not os.path.isfile(args.path):
        parser.error(f'{args.path}: no such file')
    return args


def main(argv=None):
    args = parse_args(argv)
    groups = ['student'] + ['given'] * args.all + ['pipeline'] * args.pipeline
    checks = [((module, what), f'{group}:{index}')
              for group in groups for index, (module, what, _) in enumerate(GROUPS[group])]
    limits = lambda group: PIPELINE_TIME_LIMIT if group == 'pipeline' else args.timeout
    results = []
    for (module, what), result in run_checks(args.path, checks, limits):
        results.append({'module': module, 'check': what, **result})
        if not args.json:
            print(f'{result["verdict"]}  {module + "." + what:44s} {result["message"]}', flush=True)
    counts = {verdict: sum(r['verdict'] == verdict for r in results) for verdict in VERDICTS}
    if args.json:
        modules = {}
        for result in results:  # a module's verdict is its worst check's
            worst = max(modules.get(result['module'], 'PASS'), result['verdict'], key=VERDICTS.index)
            modules[result['module']] = worst
        print(json.dumps({'file': os.path.abspath(args.path), 'checks': results, 'modules': modules,
                          'counts': counts}, indent=1))
    else:
        print(', '.join(f'{counts[v]} {v}' for v in VERDICTS))
    return 1 if counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
