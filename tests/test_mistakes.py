"""A wrong answer is named by its likeliest mistake (harness/checker/mistakes.py), when one gives it exactly.

Student-style files go through the checks in this process (runner.run_checks with assigned.CHECKS, as
hw5_dnn_check.py runs them), each file with one mistake per module, so that few files cover them all.
"""
import numpy as np
import pytest

from conftest import ROW_BIAS, course_style_source
from harness.checker import assigned, fixes, mistakes
from harness.checker.probe import Failed, Probe
from harness.checker.process import TimedOut
from harness.checker.runner import run_checks

DW = "self.gradient['W'] = np.matmul(X.T, grad)"
DB = "self.gradient['b'] = np.sum(grad, axis=0, keepdims=True)"
DX = "backward_output = np.matmul(grad, self.params['W'].T)"
RELU = 'backward_output = grad * self.mask'
DROP = 'backward_output = np.multiply(grad, self.mask)'
FORWARD = "forward_output = np.matmul(X, self.params['W']) + self.params['b']"

# name: (changes, {(module, check): (the mistake's words, its fix or None)}); every check not listed PASSes.
# A wrong forward fails its backward's gradient check too, with a plain message: no mistake of the backward.
# The check at test time WARNs, as it does for every dropout.backward that scales grad there.
FILES = {
    'first': (ROW_BIAS + [(DW, "self.gradient['W'] = np.matmul(grad.T, X)"),
                          (RELU, 'backward_output = grad'),
                          (DROP, 'backward_output = np.multiply(grad, self.mask != 0)')], {
        ('linear_layer', 'backward'): ("linear_layer.gradient['W'] has shape (3, 4), expected (4, 3): it is the "
                                       "transpose of the right gradient", 'use X.T @ grad'),
        ('relu', 'backward'): ('relu.backward(X, grad) on a case worked by hand is wrong: grad passed through where '
                               'X <= 0 too: the mask X > 0 is missing', 'multiply grad by the mask X > 0'),
        ('dropout', 'backward'): ('dropout.backward(X, grad) after a training forward is wrong: it is off by the '
                                  'constant factor 0.7 = 1 - r: the 1/(1-r) scale is missing',
                                  "scale by the mask's 1/(1-r) as the forward does")}),
    'second': (ROW_BIAS + [(DB, "self.gradient['b'] = np.sum(grad, axis=1)"),
                           (RELU, 'backward_output = np.maximum(grad, 0)'),
                           ('(np.random.uniform(0.0, 1.0, X.shape) >= self.r)',
                            '(np.random.uniform(0.0, 1.0, X.shape) < 1 - self.r)')], {
        ('linear_layer', 'backward'): ("linear_layer.gradient['b'] has shape (5,), expected (1, 3): summed over the "
                                       "wrong axis (axis=1, over the features)",
                                       'sum over the minibatch, axis=0, with keepdims=True'),
        ('relu', 'backward'): ('it is relu(grad): grad kept where grad > 0',
                               'multiply grad by the mask X > 0'),
        ('dropout', 'forward'): ('is wrong: it keeps the entries the mask drops and drops those it keeps',
                                 'keep where np.random.uniform(0.0, 1.0, X.shape) >= r')}),
    'third': (ROW_BIAS + [(DX, "backward_output = np.matmul(grad, self.params['W'])"),
                          (DROP, 'backward_output = np.multiply(grad, self.mask) / (1.0 - self.r)')], {
        ('linear_layer', 'backward'): ("dL/dX returned by linear_layer.backward is grad @ W: a product with W where "
                                       "W.T belongs", 'use grad @ W.T'),
        ('dropout', 'backward'): ('it is off by the constant factor 1.43 = 1/(1-r): scaled by 1/(1-r) twice',
                                  'scale by 1/(1-r) once'),
        ('dropout', 'backward at test time'): ('does not return grad unchanged', None)}),
    'fourth': (ROW_BIAS + [(DW, "self.gradient['W'] = 2 * np.matmul(X.T, grad)"),
                           ('forward_output = X * self.mask', 'forward_output = X'),
                           ('.astype(float) * (1.0 / (1.0 - self.r))', '.astype(float)')], {
        ('linear_layer', 'backward'): ("linear_layer.gradient['W'] is wrong: it is off by a constant factor: the "
                                       "right gradient times 2", None),
        ('relu', 'forward'): ('relu.forward(X) is wrong: it is X unchanged: the entries where X <= 0 are not set '
                              'to 0', 'np.maximum(X, 0)'),
        ('relu', 'backward'): ('dL/dX returned by relu.backward is wrong: max relative error', None),
        ('dropout', 'forward'): ('it is off by the constant factor 0.5 = 1 - r: the kept entries are not scaled',
                                 'multiply the mask by 1 / (1 - r)')}),
    'fifth': (ROW_BIAS + [(FORWARD, "forward_output = np.matmul(X, self.params['W'])"),
                          (RELU, 'backward_output = grad * (1.0 - self.mask)')], {
        ('linear_layer', 'forward'): ('linear_layer.forward(X) is wrong: the output lacks + b', "add self.params['b']"),
        ('linear_layer', 'backward'): ("linear_layer.gradient['b'] is wrong: max relative error", None),
        ('relu', 'backward'): ('the mask is the wrong way round', 'multiply grad by the mask X > 0')}),
    'mean': (ROW_BIAS + [(DW, "self.gradient['W'] = np.matmul(X.T, grad) / X.shape[0]")], {
        ('linear_layer', 'backward'): ("linear_layer.gradient['W'] is wrong: it is the right gradient divided by "
                                       "N = 5, the minibatch size", 'do not divide by N')}),
    'unsummed': (ROW_BIAS + [(DB, "self.gradient['b'] = grad")], {
        ('linear_layer', 'backward'): ("gradient['b'] has shape (5, 3), expected (1, 3): it is grad itself, not "
                                       "summed over the minibatch", 'sum over the minibatch, axis=0, with keepdims=True')}),
    'X @ grad': (ROW_BIAS + [(DW, "self.gradient['W'] = np.matmul(X, grad)")], {
        ('linear_layer', 'backward'): ("linear_layer.gradient['W'] is X @ grad: a product with X where X.T "
                                       "belongs", 'use X.T @ grad')}),
    'adds up': (ROW_BIAS[:1] + [("self.gradient['b'] = np.sum(grad, axis=0)",
                                 "self.gradient['b'] += np.sum(grad, axis=0)")], {
        ('linear_layer', 'backward'): ("linear_layer.gradient['b'] adds up from one backward call to the next",
                                       'set it (=), do not add to it (+=)')}),
}
FIXES_OFF = ['first', 'second', 'third', 'unsummed', 'X @ grad', 'adds up']  # also checked with no fixes (handout.py --no-fixes)


def run(tmp_path, changes, name='student'):
    """{(module, check): (verdict, message)} of assigned.CHECKS on the course-style file with `changes`."""
    folder = tmp_path / name.replace(' ', '_').replace('@', 'at')
    folder.mkdir()
    (folder / 'dnn_misc.py').write_text(course_style_source(changes))
    return {(check.module, check.name): (result['verdict'], result['message'])
            for check, result in run_checks(str(folder / 'dnn_misc.py'), assigned.CHECKS, lambda kind: 10.0)}


def verdict_of(where):
    return 'WARN' if where == ('dropout', 'backward at test time') else 'FAIL'


@pytest.fixture(scope='module')
def with_fixes(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('with_fixes')
    return {name: run(tmp_path, changes, name) for name, (changes, _) in FILES.items()}


@pytest.mark.parametrize('name', FILES)
def test_each_mistake_is_named_with_its_fix(with_fixes, name):
    results, named = with_fixes[name], FILES[name][1]
    for where, (words, fix) in named.items():
        verdict, text = results[where]
        assert verdict == verdict_of(where) and words in text, (where, text)
        assert fix is None or fix in text, (where, text)
    assert all(verdict == 'PASS' for where, (verdict, _) in results.items() if where not in named), results


@pytest.mark.parametrize('name', FIXES_OFF)
def test_without_fixes_the_mistake_is_named_and_its_fix_left_out(tmp_path, monkeypatch, name):
    monkeypatch.setattr(fixes, 'FIXES', {})
    changes, named = FILES[name]
    results = run(tmp_path, changes)
    for where, (words, fix) in named.items():
        verdict, text = results[where]
        assert verdict == verdict_of(where) and words in text and (fix is None or fix not in text), (where, text)
        assert not text.endswith(';'), text


def test_a_product_that_raises_keeps_numpys_error_and_names_the_mistake_after_it(with_fixes):
    verdict, text = with_fixes['third'][('linear_layer', 'backward')]
    assert text.startswith('raised ValueError: matmul:') and 'at dnn_misc.py:' in text, text
    assert text.index('(in backward)') < text.index('a product with W where W.T belongs'), text


def test_a_right_file_passes_everything(tmp_path):
    results = run(tmp_path, ROW_BIAS)
    assert all(verdict == 'PASS' for verdict, _ in results.values()), results


def test_a_wrong_answer_that_fits_no_mistake_keeps_the_plain_message(tmp_path):
    results = run(tmp_path, ROW_BIAS + [(DX, "backward_output = np.matmul(grad, self.params['W'].T) + 0.1"),
                                        (RELU, 'backward_output = grad * self.mask * 1.001 + 0.001')])
    for where in [('linear_layer', 'backward'), ('relu', 'backward')]:
        verdict, text = results[where]
        assert verdict == 'FAIL' and ' is wrong: max relative error ' in text, text
        assert text.count(':') == 1, text  # nothing named after it


def test_an_unwritten_dropout_backward_warns_at_test_time_and_fails_its_own_check(tmp_path):
    results = run(tmp_path, ROW_BIAS + [(DROP, "raise NotImplementedError('dropout.backward is not written yet')")])
    assert results[('dropout', 'backward at test time')] == (
        'WARN', 'dropout.backward is not written yet; checked once it is')
    assert results[('dropout', 'backward')][0] == 'FAIL'


# The catalogue on its own: a mistake is named only when it fits exactly, and naming never raises.

def test_a_constant_factor_is_named_only_when_it_fits_exactly():
    expected = np.random.RandomState(0).randn(4, 3)
    named = mistakes.naming(mistakes.ANY)
    assert named(2.5 * expected, expected) == 'it is off by a constant factor: the right gradient times 2.5'
    assert named(-expected, expected).startswith('the sign is flipped')
    assert named(expected.T, expected) == 'it is the transpose of the right gradient'
    assert named(np.zeros((4, 3)), expected) == 'it is all zeros'
    assert named(2.5 * expected + 1e-3, expected) is None
    assert named(expected[:2], expected) is None


def test_dropouts_factors_are_named_by_r():
    R = np.random.RandomState(1).randn(3, 4)
    named = mistakes.naming(mistakes.DROPOUT_BACKWARD, R=R, r=0.2)
    assert named(R * 1.25 * 0.8, R * 1.25).startswith('it is off by the constant factor 0.8 = 1 - r')
    assert named(R * 1.25 ** 2, R * 1.25).startswith('it is off by the constant factor 1.25 = 1/(1-r)')


def test_naming_never_raises():
    def broken(context):
        raise RuntimeError('a mistake that cannot be made')
    catalogue = [mistakes.Mistake(broken, 'never'), mistakes.Mistake(lambda c: c['missing'], 'never either'),
                 mistakes.Mistake(lambda c: 0 * c['expected'], 'names {no_such_entry}')] + mistakes.ANY
    expected = np.ones((2, 2))
    assert mistakes.diagnosis(np.zeros((2, 2)), expected, catalogue, {}) == 'it is all zeros'
    for got in [object(), 'text', [[1, 2], [3]], np.full((2, 2), np.nan)]:
        assert mistakes.diagnosis(got, expected, catalogue, {}) is None
    assert mistakes.diagnosis(np.zeros((2, 2)), expected, catalogue, {1: 'not a name'}) == 'it is all zeros'


def test_a_naming_that_raises_leaves_compares_plain_message():
    def raising(got, expected):
        raise RuntimeError('a fault of the naming')
    with pytest.raises(Failed, match=r'^q is wrong: max relative error 3\.33e-01$'):
        Probe(None, 'dnn_misc.py').compare('q', [2.0], [1.0], named=raising)
    with pytest.raises(Failed, match=r'^q has shape \(2,\), expected \(1,\)$'):
        Probe(None, 'dnn_misc.py').compare('q', [2.0, 1.0], [1.0], named=lambda got, expected: None)


def test_a_student_process_that_stops_answering_while_named_is_left_for_a_new_one():
    class Process:
        out_of_step = False

    class Code:
        process = Process()

    def hangs(probe):
        raise TimedOut()
    probe = Probe(Code(), 'dnn_misc.py')
    assert assigned._quietly(probe, hangs) is None and Code.process.out_of_step
