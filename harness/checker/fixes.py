"""How to mend each mistake the checker names (mistakes.py), by its name: the words after what is wrong.

A students' handout made with `scripts/handout.py --no-fixes` gets this file with an empty table, so
that its checker names a mistake without saying how to mend it, and holds no fix to read either.
"""

FIXES = {
    'mean': 'the sum over the minibatch belongs there: do not divide by N',
    'dX': 'use grad @ W.T',
    'dW': 'use X.T @ grad',
    'bias': "add self.params['b'] to X @ W",
    'db': 'sum over the minibatch, axis=0, with keepdims=True',
    'relu forward': 'multiply X by the mask X > 0, or use np.maximum(X, 0)',
    'relu mask': 'multiply X by the mask',
    'relu backward': 'multiply grad by the mask X > 0 that forward kept',
    'dropout scale': 'multiply the mask by 1 / (1 - r)',
    'dropout mask': 'keep where np.random.uniform(0.0, 1.0, X.shape) >= r',
    'test time': 'return X unchanged at test time (a mask of ones)',
    'dropout backward scale': "scale by the mask's 1/(1-r) as the forward does",
    'scaled twice': 'scale by 1/(1-r) once, as the forward does',
    'dropout backward mask': 'multiply grad by the mask forward kept',
    'adds up': 'set it (=), do not add to it (+=)',
}
