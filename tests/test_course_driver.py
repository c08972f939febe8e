"""A student's dnn_cnn_2.py: checked by hw5_dnn_check.py, and run by the question scripts.

Each pattern is tests/course_style/dnn_cnn_2.py (the course's template, filled in, written from
FACTS.md) with one change, as seen in real students' files.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, small_data_file

BASE = os.path.join(REPO, 'tests', 'course_style', 'dnn_cnn_2.py')
TODO_2 = """            c2 = model['C2'].forward(m1)
            h2 = model['nonlinear2'].forward(c2)
            m2 = model['M2'].forward(h2)
"""
TODO_3 = """            grad_h2 = model['M2'].backward(h2, grad_m2)
            grad_c2 = model['nonlinear2'].backward(c2, grad_h2)
            grad_m1 = model['C2'].backward(m1, grad_c2)
"""
BUILD_C2 = """    model['C2'] = dnn_misc.conv_layer(num_input=25, num_output=25, filter_len=3, stride=1)
    model['nonlinear2'] = dnn_misc.relu()
    model['M2'] = dnn_misc.max_pool(max_len=2, stride=2)
"""
LOSS = "    model['loss'] = dnn_misc.softmax_cross_entropy()\n"
SAVE = """    json.dump({'train': train_acc_record, 'val': val_acc_record},
              open('CNN2_lr' + str(main_params['learning_rate']) +
                   '_m' + str(main_params['alpha']) +
                   '_w' + str(main_params['lambda']) +
                   '_d' + str(main_params['dropout_rate']) +
                   '.json', 'w'))
"""


def changed(old, new, occurrence=None):
    """The base file with `old` replaced by `new`: everywhere, or at the occurrence-th place (from 0)."""
    def make(text):
        assert old in text, old
        if occurrence is None:
            return text.replace(old, new)
        parts = text.split(old)
        assert len(parts) > occurrence + 1, old
        return old.join(parts[:occurrence + 1]) + new + old.join(parts[occurrence + 1:])
    return make


def renamed(text):
    return text.replace('c2', 'conv_out').replace('h2', 'relu_out').replace('m2', 'pool_out')


OK = ['PASS'] * 4
PATTERNS = {  # name: (change, verdicts of network, training pass, accuracy passes, result file, what a message says)
    'filled': (lambda text: text, OK, None),
    'renamed variables': (renamed, OK, None),
    'CRLF line endings': (lambda text: text.replace('\n', '\r\n'), OK, None),
    'C2.backward given its output': (changed("model['C2'].backward(m1, grad_c2)", "model['C2'].backward(c2, grad_c2)"),
                                     ['PASS', 'WARN', 'PASS', 'PASS'], 'TODO (3): C2.backward is given C2.forward'),
    'M1 in place of M2, validation': (changed("m2 = model['M2'].forward(h2)", "m2 = model['M1'].forward(h2)", 2),
                                      ['PASS', 'PASS', 'WARN', 'PASS'], 'TODO (5): M1.forward is called where M2.forward'),
    'no result file': (changed(SAVE, ''), ['PASS', 'PASS', 'PASS', 'FAIL'], 'writes no result file'),
    'a missing relu': (changed("h2 = model['nonlinear2'].forward(c2)", 'h2 = c2', 0),
                       ['PASS', 'FAIL', 'PASS', 'PASS'], 'TODO (2): nonlinear2.forward is never called'),
    'a skipped relu backward': (changed("grad_c2 = model['nonlinear2'].backward(c2, grad_h2)", 'grad_c2 = grad_h2'),
                                ['PASS', 'FAIL', 'PASS', 'PASS'], 'TODO (3): nonlinear2.backward is never called'),
    '20 channels in C2': (changed('conv_layer(num_input=25, num_output=25', 'conv_layer(num_input=25, num_output=20'),
                          ['FAIL', 'FAIL', 'FAIL', 'FAIL'], 'C2 is conv_layer(num_input=25, num_output=20'),
    'C2 with 5x5 filters': (changed('num_output=25, filter_len=3', 'num_output=25, filter_len=5'),
                            ['FAIL', 'PASS', 'PASS', 'PASS'], "filter_len=5, stride=1); the course's C2"),
    'C2 built after L1': (lambda text: changed(LOSS, LOSS + BUILD_C2)(changed(BUILD_C2, '')(text)),
                          ['FAIL', 'PASS', 'PASS', 'PASS'], 'C2 is built after L1'),
    'the unfilled template': (lambda text: changed(TODO_3, '')(changed(TODO_2, '')(text)),
                              ['PASS', 'FAIL', 'FAIL', 'FAIL'], "TODO (2): C2.forward is never called in the "
                                                                "training pass (the driver stops: NameError: name 'm2'"),
}


def check(path, *options):
    result = subprocess.run([sys.executable, os.path.join(REPO, 'hw5_dnn_check.py'), '--json', *options, str(path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout), result.returncode


def student_driver(folder, name):
    change = PATTERNS[name][0]
    path = folder / 'dnn_cnn_2.py'
    path.write_bytes(change(open(BASE).read()).encode())
    return path


@pytest.mark.parametrize('name', list(PATTERNS))
def test_each_pattern_gets_its_verdict_naming_the_cause(tmp_path, name):
    _, verdicts, said = PATTERNS[name]
    report, status = check(student_driver(tmp_path, name))
    got = [c['verdict'] for c in report['checks']]
    assert [c['check'] for c in report['checks']] == ['network', 'training pass', 'accuracy passes', 'result file']
    assert got == verdicts, [c['message'] for c in report['checks']]
    assert status == (1 if 'FAIL' in verdicts else 0)
    if said:
        assert any(said in c['message'] for c in report['checks'] if c['verdict'] != 'PASS'), report['checks']


def test_the_changes_are_real():
    base = open(BASE).read()
    assert all(change(base) != base for key, (change, _, _) in PATTERNS.items() if key != 'filled')


@pytest.mark.parametrize('driver', ['dnn_cnn_2.py', 'dnn_cnn.py', 'dnn_mlp.py', 'dnn_mlp_nononlinear.py'])
def test_our_drivers_pass_and_write_nothing_into_outputs(driver):
    before = sorted(os.listdir(os.path.join(REPO, 'outputs')))
    report, status = check(os.path.join(REPO, driver))
    assert status == 0 and [c['verdict'] for c in report['checks']] == OK
    assert sorted(os.listdir(os.path.join(REPO, 'outputs'))) == before


@pytest.mark.slow
def test_pipeline_gives_the_course_first_epoch(tmp_path):
    report, status = check(student_driver(tmp_path, 'filled'), '--pipeline')
    epoch = report['checks'][-1]
    assert epoch['check'] == 'Q3.10 epoch 1' and epoch['verdict'] == 'PASS', epoch
    assert epoch['figures'] == {'train': 0.9056, 'val': 0.913} and status == 0


def test_modules_only_go_with_a_driver():
    result = subprocess.run([sys.executable, os.path.join(REPO, 'hw5_dnn_check.py'), '--modules',
                             os.path.join(REPO, 'dnn_misc.py'), os.path.join(REPO, 'dnn_misc.py')],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith('argument --modules: only for a driver, and '
                                                           f"{os.path.join(REPO, 'dnn_misc.py')} is a dnn_misc.py")


@pytest.fixture
def clone(tmp_path):
    """A copy of what the question scripts need, with a small data file in data/."""
    for name in ['scripts', 'harness', 'data_loader.py', 'dnn_misc.py', 'dnn_im2col.py', 'dnn_cnn_2.py']:
        source = os.path.join(REPO, name)
        (shutil.copytree if os.path.isdir(source) else shutil.copy)(
            source, tmp_path / name, **({'ignore': shutil.ignore_patterns('__pycache__')} if os.path.isdir(source) else {}))
    (tmp_path / 'data').mkdir()
    small_data_file(tmp_path / 'data' / 'mnist_subset.json')
    return tmp_path


def run_q310(folder, *flags):
    return subprocess.run(['bash', 'scripts/q310.sh', '--num_epoch', '2', *flags], cwd=folder, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, PYTHON=sys.executable))


def test_a_course_style_driver_runs_through_q310_and_its_result_lands_in_outputs(clone):
    student_driver(clone, 'renamed variables')
    result = run_q310(clone)
    assert result.returncode == 0, result.stderr
    assert 'Finish running!' in result.stdout
    assert 'dnn_cnn_2.py wrote outputs/CNN2_lr0.001_m0.9_w0.0_d0.5.json' in result.stdout
    record = json.loads((clone / 'outputs' / 'CNN2_lr0.001_m0.9_w0.0_d0.5.json').read_text())
    assert len(record['train']) == len(record['val']) == 2
    assert os.listdir(clone / 'outputs') == ['CNN2_lr0.001_m0.9_w0.0_d0.5.json']  # no scratch folder left


def test_ours_and_the_students_give_the_same_file(clone):
    assert run_q310(clone).returncode == 0
    ours = (clone / 'outputs' / 'CNN2_lr0.001_m0.9_w0.0_d0.5.json').read_text()
    student_driver(clone, 'filled')
    assert run_q310(clone).returncode == 0
    assert json.loads((clone / 'outputs' / 'CNN2_lr0.001_m0.9_w0.0_d0.5.json').read_text()) == json.loads(ours)


def test_a_driver_that_writes_no_result_file_says_so_in_one_line(clone):
    student_driver(clone, 'no result file')
    (clone / 'outputs').mkdir()
    (clone / 'outputs' / 'CNN2_lr0.001_m0.9_w0.0_d0.5.json').write_text('{"train": [1.0], "val": [1.0]}')
    result = run_q310(clone)
    assert result.returncode == 1
    assert result.stderr.strip() == ('dnn_cnn_2.py wrote no result file: a course-style driver writes one with '
                                     'json.dump after its last epoch, into the folder it runs in')
    assert (clone / 'outputs' / 'CNN2_lr0.001_m0.9_w0.0_d0.5.json').read_text() == '{"train": [1.0], "val": [1.0]}'
    assert os.listdir(clone / 'outputs') == ['CNN2_lr0.001_m0.9_w0.0_d0.5.json']


def test_a_driver_that_stops_moves_nothing(clone):
    student_driver(clone, 'the unfilled template')
    result = run_q310(clone)
    assert result.returncode == 1
    assert "NameError: name 'm2' is not defined" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == ('dnn_cnn_2.py stopped with exit status 1; '
                                                      'nothing was moved into outputs/')
    assert os.listdir(clone / 'outputs') == []
