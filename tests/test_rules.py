"""The assignment's rules, read from the text of the two files (harness/grader/rules.py)."""
import pytest

from conftest import COURSE_STYLE, ROW_BIAS, course_style_source
from course_style.drivers import module_template
from harness.grader import rules
from test_course_driver import BASE, TODO_2, TODO_3, changed

MODULES = course_style_source(ROW_BIAS)
DRIVER = open(BASE).read()
TEMPLATES = {'dnn_misc.py': module_template(open(COURSE_STYLE).read()),
             'dnn_cnn_2.py': changed(TODO_3, '')(changed(TODO_2, '')(DRIVER))}


def verdicts(texts, templates=TEMPLATES):
    return {rule: verdict for rule, (verdict, _) in rules.check(texts, templates).items()}


@pytest.mark.parametrize('ending, listed', [
    ('', False),
    ('\n# main(main_params)\n', False),  # commented-out code is no list
    ('\n# Collaborators: none\n', True),
    ('\n# Alice Smith, Bob Jones\n', True),
    ('\n# I discussed this homework with Alice Smith.\n', True),
    ('\n"""Discussed with: nobody."""\n', True),
    ('\n# ------\n', False),
])
def test_the_collaboration_list_is_a_comment_after_the_code(ending, listed):
    for name, text in (('dnn_misc.py', MODULES), ('dnn_cnn_2.py', DRIVER)):
        assert verdicts({name: text + ending})[f'collaboration {name}'] == ('PASS' if listed else 'FAIL')


def test_a_list_in_the_middle_of_the_file_is_not_at_its_end():
    text = MODULES.replace('\nclass relu:', '\n# Discussed with Alice Smith\nclass relu:')
    assert verdicts({'dnn_misc.py': text})['collaboration dnn_misc.py'] == 'FAIL'


def test_files_filled_as_instructed_break_no_rule():
    found = rules.check({'dnn_misc.py': MODULES + '\n# none\n', 'dnn_cnn_2.py': DRIVER + '\n# none\n'}, TEMPLATES)
    assert sorted(found) == sorted(f'{rule} {name}' for rule in ('collaboration', 'imports', 'given code')
                                   for name in ('dnn_misc.py', 'dnn_cnn_2.py'))
    assert {verdict for verdict, _ in found.values()} == {'PASS'}, found


@pytest.mark.parametrize('name, text, extra', [
    ('dnn_misc.py', 'import scipy.signal\n' + MODULES, 'scipy'),
    ('dnn_misc.py', MODULES.replace('import numpy as np', 'import numpy as np\nfrom sklearn import utils'), 'sklearn'),
    ('dnn_cnn_2.py', DRIVER.replace('import argparse', 'import argparse\nimport torch'), 'torch'),
    ('dnn_cnn_2.py', DRIVER.replace('def main(main_params):\n', 'def main(main_params):\n    import time\n'), 'time'),
])
def test_imports_beyond_the_provided_codes_are_named(name, text, extra):
    verdict, message = rules.check({name: text})[f'imports {name}']
    assert verdict == 'FAIL' and message.startswith(f'{name} imports {extra}, beyond what the provided code imports')


@pytest.mark.parametrize('name, old, new, where', [
    ('dnn_misc.py', 'self.padding = int((filter_len - 1) / 2)', 'self.padding = 0', 'conv_layer.__init__'),
    ('dnn_misc.py', '(np.random.uniform(0.0, 1.0, X.shape) >= self.r)',
     '(np.random.uniform(0.0, 1.0, X.shape) < 1 - self.r)', 'dropout.forward'),
    ('dnn_cnn_2.py', '_step = 30', '_step = 10', 'main'),
    ('dnn_cnn_2.py', 'import argparse', 'import argparse\nimport time', 'the module level'),
    ('dnn_cnn_2.py', 'def predict_label(f):', 'def predict(f):', 'predict_label (missing)'),
])
def test_given_code_changed_outside_the_todos_names_its_function(name, old, new, where):
    text = (MODULES if name == 'dnn_misc.py' else DRIVER)
    assert text.count(old) == 1
    verdict, message = rules.check({name: text.replace(old, new)}, TEMPLATES)[f'given code {name}']
    assert verdict == 'FAIL' and f'changes the given code outside the TODOs in {where}' in message, message


def test_comments_blank_lines_spaces_and_quotes_are_no_change():
    text = (DRIVER.replace('\n', '\r\n').replace("'CNN2_lr'", '"CNN2_lr"').replace('    # save file\n', '')
            .replace("            ### forward ###\n", "\n\n            # forward, as given\n"))
    assert rules.check({'dnn_cnn_2.py': text}, TEMPLATES)['given code dnn_cnn_2.py'][0] == 'PASS'


def test_a_file_that_is_not_python_gets_no_rule():
    assert rules.check({'dnn_misc.py': 'def broken(:\n'}, TEMPLATES) == {}
