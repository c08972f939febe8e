"""harness/grader/same_code.py: the same code once comments, blank lines and whitespace are set aside."""
from harness.grader import same_code

CODE = '''class relu:
    def forward(self, X):
        """max(0, X)"""
        return np.maximum(X, 0)
'''


def test_comments_blank_lines_and_spaces_do_not_count():
    dressed = '# mine\n\n' + CODE.replace('np.maximum(X, 0)', 'np.maximum( X,0 )  # the relu') + '\n\n# end\n'
    assert same_code.fingerprint(dressed) == same_code.fingerprint(CODE)


def test_code_and_docstrings_do():
    assert same_code.fingerprint(CODE.replace('0)', '0.0)')) != same_code.fingerprint(CODE)
    assert same_code.fingerprint(CODE.replace('max(0, X)', 'the maximum')) != same_code.fingerprint(CODE)


def test_a_file_that_does_not_tokenize_is_compared_line_by_line():
    broken = CODE + '    return (\n'
    assert same_code.fingerprint(broken + '# note\n') == same_code.fingerprint('\n' + broken)


def test_groups_of_two_or_more():
    texts = {'a': {'dnn_misc.py': CODE, 'dnn_cnn_2.py': 'x = 1\n'}, 'b': {'dnn_misc.py': '# copy\n' + CODE},
             'c': {'dnn_misc.py': CODE + 'y = 2\n', 'dnn_cnn_2.py': 'x = 2\n'}}
    assert same_code.groups(texts) == {'dnn_misc.py': [['a', 'b']], 'dnn_cnn_2.py': []}
    assert same_code.report(same_code.groups(texts))[-2:] == ['- `dnn_misc.py`: a, b', '- `dnn_cnn_2.py`: none']
