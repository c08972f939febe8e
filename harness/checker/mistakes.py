"""The usual mistakes in what students write, each named when it gives exactly what came back.

A mistake is what it makes of the check's own inputs (X, grad R, the params the check set, r) or of
the right answer the check expects, and its words: what is wrong, and the name of how to mend it in
fixes.py (a students' handout made with --no-fixes has none). Nothing here computes an
answer of the five methods students write: a mistake is a transformation of what the check already
holds. A mistake is named only when what came back is what it makes, within TOLERANCE; otherwise the
check keeps its plain message.

The words may name the context's entries: {noun} ('gradient' or 'output'), {N} (the minibatch size),
{r}, {kept} (1 - r), {scale} (1 / (1 - r)), {factor} (the constant c with got = c * expected).
"""
from typing import Callable, NamedTuple

import numpy as np

from harness.checker import fixes
from harness.checker.probe import TOLERANCE, relative_error


class Mistake(NamedTuple):
    made: Callable  # the context -> the array this mistake gives (None, or raising: it does not fit)
    what: str  # what is wrong, in words
    fix: str = ''  # the name of how to mend it, in fixes.FIXES


def diagnosis(got, expected, catalogue, context):
    """What is wrong with `got`, in words, by the first mistake of `catalogue` that gives it, with its
    fix, when fixes.FIXES has it; None when none fits. Never raises: a failure is None."""
    try:
        with np.errstate(all='ignore'):
            got = np.asarray(got, dtype=float)
            context = {'noun': 'gradient', **context}
            if expected is not None:
                context['expected'] = expected = np.asarray(expected, dtype=float)
                context['factor'] = _factor(got, expected)
            for mistake in catalogue:
                try:
                    if not _fits(got, mistake.made(context)):
                        continue
                    words = mistake.what.format(**context)
                    fix = fixes.FIXES.get(mistake.fix)
                    if fix:
                        words += '; ' + fix.format(**context)
                    return words
                except Exception:  # this mistake cannot be made of these: the next one may
                    continue
    except Exception:
        pass
    return None


def naming(catalogue, **context):
    """What probe.compare takes (named=): a function of (got, expected) that names the mistake of
    `catalogue` that gives got, in `context` (the check's inputs), or gives None."""
    if 'r' in context:  # dropout's rate: the kept share 1 - r and the scale 1 / (1 - r) its words use
        context.update(kept=1.0 - context['r'], scale=1.0 / (1.0 - context['r']))
    return lambda got, expected: diagnosis(got, expected, catalogue, context)


def _factor(got, expected):
    """The c that makes c * expected nearest to got (least squares), or None."""
    if got.shape != expected.shape or not np.any(expected):
        return None
    return float(np.sum(got * expected) / np.sum(expected * expected))


def _fits(got, candidate):
    """Whether got is the candidate, within TOLERANCE: the same shape, or the same but for axes of length 1
    (a sum over the wrong axis is that mistake, with keepdims or without)."""
    if candidate is None:
        return False
    candidate = np.asarray(candidate, dtype=float)
    if got.shape != candidate.shape:
        if np.squeeze(got).shape != np.squeeze(candidate).shape:
            return False
        got, candidate = np.squeeze(got), np.squeeze(candidate)
    return bool(np.all(np.isfinite(got))) and relative_error(got, candidate) < TOLERANCE


def _scaled(c):
    """The right answer times the constant factor the context found, when it is one (not 0, not 1)."""
    factor = c.get('factor')
    if factor is None or not np.isfinite(factor) or factor == 0 or abs(factor - 1) < TOLERANCE:
        return None
    return factor * c['expected']


# Any quantity: tried after the mistakes particular to it.
ALL_ZEROS = Mistake(lambda c: np.zeros_like(c['expected']), 'it is all zeros')
SIGN = Mistake(lambda c: -c['expected'], 'the sign is flipped: it is the right {noun} times -1')
TRANSPOSED = Mistake(lambda c: c['expected'].T if c['expected'].ndim == 2 else None,
                     'it is the transpose of the right {noun}')
FACTOR = Mistake(_scaled, 'it is off by a constant factor: the right {noun} times {factor:.3g}')
ANY = [ALL_ZEROS, SIGN, TRANSPOSED, FACTOR]

MEAN = Mistake(lambda c: c['expected'] / c['N'],
               'it is the right gradient divided by N = {N}, the minibatch size: a mean over the minibatch', 'mean')

LINEAR_FORWARD = [
    Mistake(lambda c: c['expected'] - c['b'], "the output lacks + b: it is X @ W without the bias",
            'bias'),
] + ANY

LINEAR_DW = [
    Mistake(lambda c: c['expected'].T, 'it is the transpose of the right gradient (grad.T @ X, say)',
            'dW'),
    MEAN,
] + ANY

LINEAR_DB = [
    Mistake(lambda c: np.sum(c['R'], axis=1), 'summed over the wrong axis (axis=1, over the features)', 'db'),
    Mistake(lambda c: c['R'], 'it is grad itself, not summed over the minibatch', 'db'),
    Mistake(lambda c: np.sum(c['R']), 'it is the sum of every entry of grad (np.sum with no axis)', 'db'),
    MEAN,
] + ANY

LINEAR_DX = [
    Mistake(lambda c: c['expected'].T, 'it is the transpose of the right gradient (W @ grad.T, say)',
            'dX'),
] + ANY

# On a case where no product of mismatched shapes raises (a square W, and X with as many rows as
# columns: input_D = output_D = N), when linear_layer.backward raised on the usual case. W and X are
# not symmetric there, so these are not the right answers. Their words follow the quantity's name.
SQUARE_DX = [
    Mistake(lambda c: c['R'] @ c['W'], 'is grad @ W: a product with W where W.T belongs', 'dX'),
]
SQUARE_DW = [
    Mistake(lambda c: c['X'] @ c['R'], 'is X @ grad: a product with X where X.T belongs', 'dW'),
]

RELU_FORWARD = [
    Mistake(lambda c: c['X'], 'it is X unchanged: the entries where X <= 0 are not set to 0',
            'relu forward'),
    Mistake(lambda c: (c['X'] > 0).astype(float), 'it is the mask X > 0 alone, not X times it',
            'relu mask'),
] + ANY

RELU_BACKWARD = [
    Mistake(lambda c: c['R'], 'grad passed through where X <= 0 too: the mask X > 0 is missing', 'relu backward'),
    Mistake(lambda c: c['R'] - c['expected'], 'the mask is the wrong way round: grad passed through where X <= 0 '
            'and stopped where X > 0', 'relu backward'),
    Mistake(lambda c: np.maximum(c['R'], 0), 'it is relu(grad): grad kept where grad > 0', 'relu backward'),
    Mistake(lambda c: (c['X'] > 0).astype(float), 'it is the mask X > 0 alone, not grad times it', 'relu backward'),
    Mistake(lambda c: c['R'] * np.maximum(c['X'], 0), "it is grad times forward's output relu(X)", 'relu backward'),
] + ANY

DROPOUT_FORWARD = [
    Mistake(lambda c: c['expected'] * c['kept'], 'it is off by the constant factor {kept:.3g} = 1 - r: '
            'the kept entries are not scaled by 1/(1-r)', 'dropout scale'),
    Mistake(lambda c: c['X'] * c['scale'] - c['expected'], 'it keeps the entries the mask drops and drops those '
            'it keeps: the mask is the wrong way round', 'dropout mask'),
] + ANY

DROPOUT_TEST_TIME = [
    Mistake(lambda c: c['expected'] * c['scale'], 'it is X times {scale:.3g} = 1/(1-r): at test time, X is '
            'still scaled', 'test time'),
    Mistake(lambda c: c['expected'] * c['kept'], 'it is X times {kept:.3g} = 1 - r: at test time, X is scaled',
            'test time'),
] + ANY

DROPOUT_BACKWARD = [
    Mistake(lambda c: c['expected'] * c['kept'], 'it is off by the constant factor {kept:.3g} = 1 - r: '
            'the 1/(1-r) scale is missing', 'dropout backward scale'),
    Mistake(lambda c: c['expected'] * c['scale'], 'it is off by the constant factor {scale:.3g} = 1/(1-r): '
            'scaled by 1/(1-r) twice', 'scaled twice'),
    Mistake(lambda c: c['expected'] * c['kept'] ** 2, 'it is off by the constant factor {kept:.3g}^2 = (1-r)^2: '
            'scaled by 1 - r where 1/(1-r) belongs', 'dropout backward scale'),
    Mistake(lambda c: c['R'], 'it is grad unchanged: the mask forward kept is missing',
            'dropout backward mask'),
    Mistake(lambda c: c['R'] * c['scale'], 'it is grad times 1/(1-r) everywhere: the mask forward kept is '
            'missing, so the dropped entries pass through', 'dropout backward mask'),
] + ANY
