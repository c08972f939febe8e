"""hw5_dnn_check.py on student-style files: one per pattern seen in real students' dnn_misc.py.

Each file is tests/course_style/dnn_misc.py (the course's template, filled
in as students do) with one change, and must get the verdicts listed.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import COURSE_STYLE, REPO, ROW_BIAS, course_style_source

CHECKER = os.path.join(REPO, 'hw5_dnn_check.py')
COURSE_STYLE_TEXT = open(COURSE_STYLE).read()


def student_file(tmp_path, changes=(), text=None):
    """The course-style file with each (old, new) change made; returns its path."""
    folder = tmp_path / 'student'
    folder.mkdir()
    (folder / 'dnn_misc.py').write_text(course_style_source(changes, text))
    return folder / 'dnn_misc.py'


def check(path, *flags):
    """Run the checker with --json; return (exit status, {module: verdict}, [check results])."""
    result = subprocess.run([sys.executable, CHECKER, '--json', *flags, str(path)],
                            capture_output=True, text=True, timeout=300)
    assert 'Traceback' not in result.stdout + result.stderr, result.stderr
    report = json.loads(result.stdout)
    return result.returncode, report['modules'], report['checks']


def message(checks, module, what):
    return next(c['message'] for c in checks if c['module'] == module and c['check'] == what)


WITHOUT_DROPOUT = re.sub(r'\nclass dropout:.*?(?=\nclass )', '\n', COURSE_STYLE_TEXT, flags=re.S)

PATTERNS = {  # name: (changes, expected module verdicts, (module, check, fragment of its message) or None)
    'a mask-keeping relu': (ROW_BIAS, {'linear_layer': 'PASS', 'relu': 'PASS', 'dropout': 'PASS'}, None),
    'a (D,) bias gradient': ([], {'linear_layer': 'WARN', 'relu': 'PASS', 'dropout': 'PASS'},
                             ('linear_layer', 'backward', "gradient['b'] has shape (3,), not (1, 3)")),
    'a relu that writes into X': (
        ROW_BIAS + [('backward_output = grad * self.mask', 'X[X <= 0] = 0\n        X[X > 0] = 1\n'
                                                            '        backward_output = grad * X')],
        {'linear_layer': 'PASS', 'relu': 'WARN', 'dropout': 'PASS'},
        ('relu', 'backward', 'relu.backward changed its argument X in place')),
    'a stale test-time mask': (
        ROW_BIAS + [('        else:\n            self.mask = np.ones(X.shape)\n', '        else:\n            return X\n')],
        {'linear_layer': 'PASS', 'relu': 'PASS', 'dropout': 'WARN'},
        ('dropout', 'backward at test time', 'after a test-time forward')),
    'masks drawn with np.random.rand': (
        ROW_BIAS + [('np.random.uniform(0.0, 1.0, X.shape)', 'np.random.rand(*X.shape)')],
        {'linear_layer': 'PASS', 'relu': 'PASS', 'dropout': 'PASS'}, None),
    'a transposed dW': (
        ROW_BIAS + [("self.gradient['W'] = np.matmul(X.T, grad)", "self.gradient['W'] = np.matmul(grad.T, X)")],
        {'linear_layer': 'FAIL', 'relu': 'PASS', 'dropout': 'PASS'},
        ('linear_layer', 'backward',
         "gradient['W'] has shape (3, 4), expected (4, 3): it is the transpose of the right gradient")),
    'a bias gradient that adds up across calls': (
        ROW_BIAS[:1] + [("self.gradient['b'] = np.sum(grad, axis=0)", "self.gradient['b'] += np.sum(grad, axis=0)")],
        {'linear_layer': 'FAIL', 'relu': 'PASS', 'dropout': 'PASS'},
        ('linear_layer', 'backward', "gradient['b'] adds up from one backward call to the next")),
    'a scaled dW': (
        ROW_BIAS + [("self.gradient['W'] = np.matmul(X.T, grad)", "self.gradient['W'] = 2 * np.matmul(X.T, grad)")],
        {'linear_layer': 'FAIL', 'relu': 'PASS', 'dropout': 'PASS'},
        ('linear_layer', 'backward', "gradient['W'] is wrong: it is off by a constant factor: the right gradient "
                                     "times 2")),
    'a relu backward without its mask': (
        ROW_BIAS + [('backward_output = grad * self.mask', 'backward_output = grad')],
        {'linear_layer': 'PASS', 'relu': 'FAIL', 'dropout': 'PASS'},
        ('relu', 'backward', 'is wrong: grad passed through where X <= 0 too: the mask X > 0 is missing')),
    'a dropout backward without its scaling': (
        ROW_BIAS + [('backward_output = np.multiply(grad, self.mask)',
                     'backward_output = np.multiply(grad, self.mask != 0)')],
        {'linear_layer': 'PASS', 'relu': 'PASS', 'dropout': 'FAIL'},
        ('dropout', 'backward',
         'is wrong: it is off by the constant factor 0.7 = 1 - r: the 1/(1-r) scale is missing')),
    'a forward without its bias': (
        ROW_BIAS + [("forward_output = np.matmul(X, self.params['W']) + self.params['b']",
                     "forward_output = np.matmul(X, self.params['W'])")],
        {'linear_layer': 'FAIL', 'relu': 'PASS', 'dropout': 'PASS'},
        ('linear_layer', 'forward', 'is wrong: the output lacks + b')),
    'a dropout that keeps where p < 1 - r': (
        ROW_BIAS + [('(np.random.uniform(0.0, 1.0, X.shape) >= self.r)',
                     '(np.random.uniform(0.0, 1.0, X.shape) < 1 - self.r)')],
        {'linear_layer': 'PASS', 'relu': 'PASS', 'dropout': 'FAIL'},
        ('dropout', 'forward', 'mask np.random.uniform(0.0, 1.0, X.shape) >= r')),
}


@pytest.mark.parametrize('pattern', PATTERNS)
def test_a_student_style_file_gets_its_verdicts(tmp_path, pattern):
    changes, expected, fragment = PATTERNS[pattern]
    status, modules, checks = check(student_file(tmp_path, changes))
    assert modules == expected, checks
    assert status == (1 if 'FAIL' in expected.values() else 0)
    if fragment:
        module, what, text = fragment
        assert text in message(checks, module, what), checks


def test_a_file_without_dropout_fails_only_dropout(tmp_path):
    status, modules, checks = check(student_file(tmp_path, ROW_BIAS, text=WITHOUT_DROPOUT))
    assert status == 1 and modules == {'linear_layer': 'PASS', 'relu': 'PASS', 'dropout': 'FAIL'}
    assert message(checks, 'dropout', 'backward') == 'dnn_misc.py has no class dropout'


def test_a_syntax_error_fails_every_check_naming_its_line(tmp_path):
    path = student_file(tmp_path, [('class relu:', 'class relu(:')])
    line = COURSE_STYLE_TEXT[:COURSE_STYLE_TEXT.index('class relu:')].count('\n') + 1
    status, modules, checks = check(path)
    assert status == 1 and set(modules.values()) == {'FAIL'}
    assert all('SyntaxError' in c['message'] and f'at dnn_misc.py:{line}' in c['message'] for c in checks), checks


def test_an_exception_is_reported_at_the_students_line(tmp_path):
    path = student_file(tmp_path, ROW_BIAS + [('backward_output = grad * self.mask',
                                               'backward_output = np.dot(grad, self.mask)')])
    line = path.read_text().splitlines().index('        backward_output = np.dot(grad, self.mask)') + 1
    status, modules, checks = check(path)
    assert status == 1 and modules['relu'] == 'FAIL'
    text = message(checks, 'relu', 'backward')
    assert text.startswith('raised ValueError') and text.endswith(f'at dnn_misc.py:{line} (in backward)'), text
    assert 'hw5_dnn_check' not in text and 'checker' not in text


def test_an_exception_without_a_message_says_so_at_the_students_line(tmp_path):
    path = student_file(tmp_path, ROW_BIAS + [('backward_output = grad * self.mask', 'raise StopIteration')])
    line = path.read_text().splitlines().index('        raise StopIteration') + 1
    status, modules, checks = check(path)
    assert message(checks, 'relu', 'backward') == f'raised StopIteration (with no message) at dnn_misc.py:{line} (in backward)'


def test_a_file_that_is_neither_a_dnn_misc_nor_a_driver_gets_one_line_saying_what_was_expected(tmp_path):
    for name, text in [('notes.py', 'print("hello")\n'), ('dnn_cnn_3.py', 'import dnn_misc\n')]:
        (tmp_path / name).write_text(text)
        result = subprocess.run([sys.executable, CHECKER, str(tmp_path / name)], capture_output=True, text=True,
                                timeout=60)
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 2 and 'Traceback' not in result.stderr and result.stdout == ''
        assert last.startswith(f'hw5_dnn_check.py: error: {tmp_path / name} ')
        assert ("is neither a dnn_misc.py" if name == 'notes.py' else "is none of the course's drivers") in last
        assert 'dnn_cnn_2.py' in last


def test_a_forward_that_never_returns_times_out_and_the_rest_go_on(tmp_path):
    path = student_file(tmp_path, ROW_BIAS + [("forward_output = np.matmul(X, self.params['W']) + self.params['b']",
                                               'while True:\n            pass')])
    status, modules, checks = check(path, '--timeout', '2')
    assert status == 1 and modules == {'linear_layer': 'FAIL', 'relu': 'PASS', 'dropout': 'PASS'}
    assert message(checks, 'linear_layer', 'forward') == 'did not return within 2 s'
    assert message(checks, 'linear_layer', 'initialisation').startswith('max relative error')


def test_text_output_starts_each_line_with_its_verdict_and_counts_them(tmp_path):
    path = student_file(tmp_path, [('backward_output = grad * self.mask', 'backward_output = grad')])
    result = subprocess.run([sys.executable, CHECKER, str(path)], capture_output=True, text=True, timeout=120)
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert all(line.split()[0] in ('PASS', 'WARN', 'FAIL') for line in lines[:-1])
    assert lines[-1] == '6 PASS, 1 WARN, 1 FAIL'


@pytest.mark.slow
def test_our_modules_pass_everything():
    status, modules, checks = check(os.path.join(REPO, 'dnn_misc.py'), '--all', '--pipeline')
    assert status == 0 and all(c['verdict'] == 'PASS' for c in checks), checks
    assert set(modules) == {'linear_layer', 'relu', 'dropout', 'conv_layer', 'max_pool', 'flatten_layer',
                            'softmax_cross_entropy', 'sigmoid_cross_entropy', 'add_momentum', 'dnn_im2col', 'pipeline'}


@pytest.mark.slow
def test_pipeline_runs_the_students_modules_through_a_first_epoch(tmp_path):
    status, modules, checks = check(student_file(tmp_path, []), '--pipeline')
    assert modules['pipeline'] == 'PASS', checks
    assert [c['check'].split()[0] for c in checks if c['module'] == 'pipeline'] == [
        'Q3.3', 'Q3.4', 'Q3.5', 'Q3.6', 'Q3.7', 'Q3.8']


@pytest.mark.slow
def test_questions_runs_only_their_epochs(tmp_path):
    wrong_mask = [('(np.random.uniform(0.0, 1.0, X.shape) >= self.r)',
                   '(np.random.uniform(0.0, 1.0, X.shape) < 1 - self.r)')]
    status, modules, checks = check(student_file(tmp_path, wrong_mask), '--pipeline', '--questions', 'Q3.6,Q3.4')
    assert [(c['check'], c['verdict']) for c in checks if c['module'] == 'pipeline'] == [
        ('Q3.4 epoch 1 (dropout 0.5)', 'FAIL'), ('Q3.6 epoch 1 (no relu)', 'PASS')]
    text = message(checks, 'pipeline', 'Q3.4 epoch 1 (dropout 0.5)')
    assert 'the course\'s 0.9118 / 0.919' in text and 'likeliest cause: the dropout mask' in text, text


def test_all_names_an_accidental_edit_of_what_the_course_gives(tmp_path):
    path = student_file(tmp_path, ROW_BIAS + [('self.padding = int((filter_len - 1) / 2)', 'self.padding = 0')])
    status, modules, checks = check(path, '--all')
    assert status == 1 and modules['conv_layer'] == 'FAIL'
    assert [m for m, v in modules.items() if v != 'PASS'] == ['conv_layer'], checks


def test_usage_errors_exit_2(tmp_path):
    for args in [[str(tmp_path / 'missing.py')], ['--timeout', '0'], ['--nope'], ['--pipeline', '--questions', 'Q3.9']]:
        result = subprocess.run([sys.executable, CHECKER, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and 'Traceback' not in result.stderr


def test_the_course_add_momentum_which_reads_the_gradient_passes(tmp_path):
    """The course's given add_momentum sizes each velocity by module.gradient[key]: the objects the
    checker hands it carry a module's gradient as well as its params."""
    reads_gradient = [('np.zeros(module.params[key].shape)', 'np.zeros(module.gradient[key].shape)')]
    status, modules, checks = check(student_file(tmp_path, ROW_BIAS + reads_gradient), '--all')
    assert status == 0 and modules['add_momentum'] == 'PASS', checks


@pytest.mark.slow
def test_an_evaluation_that_parts_from_its_parameters_fails_where_it_parts(tmp_path):
    """A dropout.forward that still scales at test time trains as the course's, so the parameters it
    leaves give the course's figures; its own evaluation does not, and the FAIL names dropout."""
    scales = [('self.mask = np.ones(X.shape)', 'self.mask = np.ones(X.shape) / (1.0 - self.r)')]
    status, modules, checks = check(student_file(tmp_path, scales), '--pipeline', '--questions', 'Q3.4')
    q34 = next(c for c in checks if c['check'] == 'Q3.4 epoch 1 (dropout 0.5)')
    assert q34['verdict'] == 'FAIL' and 'figures' not in q34, q34
    assert 'its evaluation is not what its trained parameters give' in q34['message']
    assert 'drop1.forward (dropout)' in q34['message'], q34['message']


# After the epoch's 1000 steps, its linear layers hand back a right training's parameters, saved beside it.
SWAPPED = '''

_right = np.load(__file__.replace('dnn_misc.py', 'right.npz'))
_trained = linear_layer.backward


def _counted(self, X, grad):
    self.steps = getattr(self, 'steps', 0) + 1
    return _trained(self, X, grad)


def _params(self):
    if getattr(self, 'steps', 0) < 1000:
        return self._params
    name = 'L1' if self._params['W'].shape[0] == 784 else 'L2'
    return {key: np.array(_right[name + '.' + key]) for key in ('W', 'b')}


linear_layer.backward = _counted
linear_layer.params = property(_params, lambda self, value: setattr(self, '_params', value))
'''


@pytest.mark.slow
def test_parameters_that_training_did_not_leave_earn_no_figures(tmp_path):
    """Broken relu.backward, but a right training's parameters handed back once the epoch is over:
    one step made again from the parameters it hands back shows they are not what its steps leave."""
    subprocess.run([sys.executable, os.path.join(REPO, 'dnn_mlp.py'), '--num_epoch', '1', '--output_dir', str(tmp_path),
                    '--save_model', str(tmp_path / 'right.npz')], check=True, capture_output=True, timeout=300)
    path = student_file(tmp_path, [('backward_output = grad * self.mask', 'backward_output = grad')])
    os.replace(tmp_path / 'right.npz', path.parent / 'right.npz')
    path.write_text(path.read_text() + SWAPPED)
    status, modules, checks = check(path, '--pipeline', '--questions', 'Q3.3')
    q33 = next(c for c in checks if c['check'] == 'Q3.3 epoch 1')
    assert q33['verdict'] == 'FAIL' and 'figures' not in q33, q33
    assert 'the parameters it hands back are not what its training steps leave' in q33['message'], q33['message']


@pytest.mark.slow
def test_a_dropout_that_draws_nothing_at_rate_0_trains_as_the_courses(tmp_path):
    """Its Q3.3 figures are the course's, and its parameters are what its steps leave: that it draws
    fewer random numbers than the course's costs it the given code's dropout.draws check, not Q3.3."""
    no_draw = [('        if is_train:\n', '        if is_train and self.r > 0:\n')]
    status, modules, checks = check(student_file(tmp_path, ROW_BIAS + no_draw), '--pipeline', '--questions', 'Q3.3')
    q33 = next(c for c in checks if c['check'] == 'Q3.3 epoch 1')
    assert q33['verdict'] == 'PASS' and q33['figures'] == {'train': 0.919, 'val': 0.908}, q33
