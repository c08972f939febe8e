"""The grader's internals: one submission's row of verdicts, and the table (scripts/grade.py runs them).

Each submission is checked in a scratch copy of its .py and .json files, by hw5_dnn_check.py run
in the sandbox (harness/grader/sandbox.py): its dnn_misc.py, and its dnn_cnn_2.py (Q3.9) with our modules.
Its result files, read before any of its code runs, are compared with the course's (our committed
outputs, which are its students' files) and in epoch 1 with what its own code gives: Q3.3 to Q3.8
its modules through our drivers, Q3.10 its dnn_cnn_2.py with its modules.
"""
import json
import os
import shutil
import sys
import tempfile

from harness import REPO
from harness.grader import rules, same_code, unpack
from harness.checker import VERDICTS
from harness.course import RUNS, tolerance
from harness.grader.rubric import KINDS

DRIVER = 'dnn_cnn_2'  # Q3.9: the network its dnn_cnn_2.py builds and the wiring of its TODOs
RESULT_FILES = [run.name for run in RUNS]
RERUN = {run.name: run.question for run in RUNS if run.driver != DRIVER}  # result file: question, rerun by its modules
DRIVER_RERUN = {run.name: run.question for run in RUNS if run.driver == DRIVER}  # rerun by its driver
MAX_RESULT_BYTES = 1 << 20
RAN_OUT = 'the checks did not finish within'  # the start of the reason a run past its time limit has no report


def scratch_copy(folder):
    """The submission's Python and JSON files, at the top and in outputs/, copied into a new scratch folder."""
    scratch = tempfile.mkdtemp(prefix='grade-')
    for sub in ('', 'outputs'):
        source = os.path.join(folder, sub)
        if not os.path.isdir(source):
            continue
        os.makedirs(os.path.join(scratch, sub), exist_ok=True)
        for name in os.listdir(source):
            path = os.path.join(source, name)
            if name.endswith(('.py', '.json')) and os.path.isfile(path) and not os.path.islink(path):
                shutil.copy(path, os.path.join(scratch, sub, name))
    return scratch


def run_checker(sandbox, scratch, target='dnn_misc.py', questions=(), modules=None):
    """The checker's JSON report on the scratch copy's `target`, a dnn_misc.py or a driver, with
    --pipeline for `questions` (a driver trained with `modules`), or a string: why there is none."""
    options = ['--pipeline', '--questions', ','.join(questions)] if questions else []
    options += ['--modules', os.path.join(scratch, modules)] if modules and questions else []
    status, output, _ = sandbox.run([sys.executable, os.path.join(REPO, 'hw5_dnn_check.py'), '--json', *options,
                                     os.path.join(scratch, target)], scratch)
    if status is None:
        return f'{RAN_OUT} {sandbox.timeout:g} s'
    return well_formed(output) or f'the checks ended without a report (exit status {status})'


def well_formed(output):
    """The checker's report in `output`, or None if it is not one."""
    try:
        report = json.loads(output.decode('utf-8', 'replace'))
    except json.JSONDecodeError:
        return None
    checks = report.get('checks') if isinstance(report, dict) else None
    if isinstance(checks, list) and all(
            isinstance(c, dict) and isinstance(c.get('module'), str) and isinstance(c.get('check'), str)
            and c.get('verdict') in VERDICTS and isinstance(c.get('message'), str)
            and isinstance(c.get('todos', {}), dict) and all(v in VERDICTS for v in c.get('todos', {}).values())
            and isinstance(c.get('figures', {}), dict) for c in checks):
        return report
    return None


def driver_checks(sandbox, scratch, questions):
    """The checker's report on the submission's dnn_cnn_2.py: its wiring checked with our modules, and
    `questions` (Q3.10's epoch 1, for its result file) trained with the submission's own, or a string."""
    if not os.path.isfile(os.path.join(scratch, DRIVER + '.py')):
        return f'no {DRIVER}.py in the submission'
    if not os.path.isfile(os.path.join(scratch, 'dnn_misc.py')):
        questions = ()  # nothing to train with: its result file fails in result_column
    return run_checker(sandbox, scratch, DRIVER + '.py', questions, 'dnn_misc.py')


def epoch_check(report, question):
    """The check of `question`'s epoch 1 in a checker report, or None."""
    if isinstance(report, str):
        return None
    return next((c for c in report['checks'] if c['check'].startswith(question)), None)


def read_result(scratch, name):
    """The submission's result file `name`, parsed and checked: (record, None) or (None, why not)."""
    path = next((p for p in (os.path.join(scratch, name), os.path.join(scratch, 'outputs', name))
                 if os.path.isfile(p)), None)
    if path is None:
        return None, 'missing'
    if os.path.getsize(path) > MAX_RESULT_BYTES:
        return None, 'malformed: far too large for 60 numbers'
    try:
        with open(path) as f:
            record = json.load(f)
    except (ValueError, UnicodeDecodeError) as error:
        return None, f'malformed: not valid JSON ({error})'
    if not isinstance(record, dict) or sorted(record) != ['train', 'val']:
        return None, 'malformed: not an object with the keys "train" and "val"'
    for key in ('train', 'val'):
        values = record[key]
        if not (isinstance(values, list) and len(values) == 30):
            return None, f'malformed: "{key}" is not a list of 30 epochs'
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in values):
            return None, f'malformed: "{key}" holds values that are not accuracies in [0, 1]'
    return record, None


def course_problem(name, record):
    """Why the result file `name` is not the course's (its students' file, every epoch), or None."""
    with open(os.path.join(REPO, 'outputs', name)) as f:
        reference = json.load(f)  # tests/test_outputs.py: the course's students' file
    for key in ('train', 'val'):
        for epoch, (ours, theirs) in enumerate(zip(reference[key], record[key]), start=1):
            if abs(ours - theirs) > tolerance(name) + 1e-12:
                return f'{key} accuracy at epoch {epoch} is {theirs}, the course\'s {ours}'
    return None


def result_column(name, record, problem, report, driver_report, has_modules):
    """(verdict, reason) for one result file: its problem, else whether its epoch 1 is what the
    submission's own code gives."""
    if problem:
        return 'FAIL', problem
    question, code = RERUN.get(name), "the submission's modules"
    if name in DRIVER_RERUN:  # remade by the submission's driver and modules, whichever is wrong
        question, code = DRIVER_RERUN[name], f"the submission's {DRIVER}.py and modules"
        report = driver_report if has_modules else 'no dnn_misc.py'
    if question:  # due a rerun: with no report (no code, or a checker that did not finish) it fails
        check = epoch_check(report, question)
        figures = check and check.get('figures')
        if not figures:
            why = report if isinstance(report, str) else check['message'] if check else 'no such check'
            return 'FAIL', f'its epoch 1 cannot be compared: {code} did not run {question} ({why})'
        if (record['train'][0], record['val'][0]) != (figures['train'], figures['val']):
            return 'FAIL', (f"epoch 1 reads {record['train'][0]} / {record['val'][0]}, but {code} "
                            f"give {figures['train']} / {figures['val']}: not made by the code handed in")
    return 'PASS', None


def check_verdicts(report):
    """{'MODULE.CHECK': (verdict, message)} of a checker report on a dnn_misc.py."""
    return {f"{c['module']}.{c['check']}": (c['verdict'], c['message']) for c in report['checks']}


def driver_verdicts(report):
    """{'network' or 'TODO (n)' or a check: (verdict, message)} of a checker report on the driver;
    a TODO has the verdict of its lines, with its check's message."""
    verdicts = {}
    for c in report['checks']:
        verdicts[c['check']] = (c['verdict'], c['message'])
        for todo, verdict in c.get('todos', {}).items():
            verdicts[todo] = (verdict, c['message'] if verdict != 'PASS' else 'wired as the course\'s')
    return verdicts


def handed_in(scratch):
    """{result file: (record, why it earns nothing, or None)}, read before any of the code runs."""
    results = {}
    for name in RESULT_FILES:
        record, problem = read_result(scratch, name)
        results[name] = record, problem or course_problem(name, record)
    return results


def grade(folder, sandbox):
    """What one submission's folder earns: {'check': {...}, 'driver': {...}, 'result': {...}}, each
    {what: (verdict, message)}, and 'missing': {kind: why a check of that kind has no verdict}.
    Its code runs in `sandbox`; only the result files that are the course's are rerun."""
    scratch = scratch_copy(folder)
    graded = {'check': {}, 'driver': {}, 'result': {}, 'rule': {}, 'missing': {}}
    try:
        results = handed_in(scratch)
        rerun = [name for name, (_, problem) in results.items() if not problem]
        has_modules = os.path.isfile(os.path.join(scratch, 'dnn_misc.py'))
        if has_modules:
            report = run_checker(sandbox, scratch, questions=[RERUN[n] for n in rerun if n in RERUN])
        else:
            report = 'no dnn_misc.py in the submission'
        if isinstance(report, str):
            graded['missing']['check'] = report
        else:
            graded['check'] = check_verdicts(report)
        driver_report = driver_checks(sandbox, scratch, [DRIVER_RERUN[n] for n in rerun if n in DRIVER_RERUN])
        if isinstance(driver_report, str):
            graded['missing']['driver'] = driver_report
        else:
            graded['driver'] = driver_verdicts(driver_report)
        for name, (record, problem) in results.items():
            verdict, reason = result_column(name, record, problem, report, driver_report, has_modules)
            graded['result'][name] = (verdict, reason or "the course's, and made by the code handed in")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return graded


def grade_submission(path, sandbox, templates=None):
    """(graded, status, {file: text}) of a submission, a zip or a folder at `path`, its code run in
    `sandbox` (harness/grader/sandbox.py): grade's verdicts and the assignment's rules (rules.py, the given
    code compared with `templates`, {file: the course's template}, where there are some),
    'graded' or why it could not be, and the text of its dnn_misc.py and dnn_cnn_2.py."""
    folder = None
    try:
        if os.path.isfile(path):
            folder = unpack.unpack(path)
        root = unpack.files_root(folder or path)
    except unpack.Refused as refused:
        reason = str(refused)
        return {**{kind: {} for kind in KINDS}, 'missing': dict.fromkeys(KINDS, reason)}, reason, {}
    try:
        texts = {}
        for name in same_code.FILES:
            candidate = os.path.join(root, name)
            if os.path.isfile(candidate) and not os.path.islink(candidate):
                with open(candidate, encoding='utf-8', errors='replace') as f:
                    texts[name] = f.read(1 << 20)
        graded = grade(root, sandbox)
        graded['rule'] = rules.check(texts, templates)
        graded['missing']['rule'] = 'not checked: the file is not in the submission, or is not Python'
        return graded, 'graded', texts
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
