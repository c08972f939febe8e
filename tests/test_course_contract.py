"""The course's module contract, both ways round.

A student's dnn_misc.py, written to the course's template, runs unchanged in
our drivers and gives the course's numbers; and our dnn_misc.py runs beside
a dnn_im2col.py that has only the course's six functions (FACTS.md, "What a
student's dnn_misc.py relies on").
"""
import ast
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from harness.course import BY_QUESTION, CNN_TOLERANCE

COURSE_STYLE = os.path.join(REPO, 'tests', 'course_style')
DRIVERS_AND_SHARED = ['dnn_mlp.py', 'dnn_mlp_nononlinear.py', 'dnn_cnn.py', 'dnn_cnn_2.py', 'data_loader.py']
DATA = os.path.join(REPO, 'data', 'mnist_subset.json')


def project_copy(folder, dnn_misc, dnn_im2col):
    """Our drivers in `folder`, beside the given dnn_misc.py and dnn_im2col.py."""
    folder.mkdir()
    for name in DRIVERS_AND_SHARED:
        shutil.copy(os.path.join(REPO, name), folder / name)
    shutil.copytree(os.path.join(REPO, 'harness'), folder / 'harness', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(dnn_misc, folder / 'dnn_misc.py')
    shutil.copy(dnn_im2col, folder / 'dnn_im2col.py')
    return folder


def first_epoch(folder, driver, *flags):
    """Run one epoch of a driver in `folder`; return its record {'train': [a], 'val': [b]}."""
    out = folder / 'out'
    result = subprocess.run([sys.executable, driver, '--num_epoch', '1', '--data', DATA, '--output_dir', str(out),
                             *flags], cwd=str(folder), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'Finish running!' in result.stdout
    (name,) = os.listdir(out)
    record = json.loads((out / name).read_text())
    shutil.rmtree(out)
    return record


def flag_words(flags):
    """{'alpha': 0.9} as ['--alpha', '0.9']."""
    return [word for flag, value in flags.items() for word in (f'--{flag}', str(value))]


def committed_first_epoch(name):
    with open(os.path.join(REPO, 'outputs', name)) as f:
        return {key: values[:1] for key, values in json.load(f).items()}


@pytest.fixture(scope='module')
def students_folder(tmp_path_factory):
    return project_copy(tmp_path_factory.mktemp('student') / 'project',
                        os.path.join(COURSE_STYLE, 'dnn_misc.py'), os.path.join(REPO, 'dnn_im2col.py'))


@pytest.fixture(scope='module')
def course_folder(tmp_path_factory):
    return project_copy(tmp_path_factory.mktemp('course') / 'project',
                        os.path.join(REPO, 'dnn_misc.py'), os.path.join(COURSE_STYLE, 'dnn_im2col.py'))


@pytest.mark.parametrize('question', ['Q3.3', 'Q3.4', 'Q3.5', 'Q3.6'])
@pytest.mark.slow
def test_a_template_style_file_gives_the_courses_first_epoch_of_the_linear_runs(students_folder, question):
    run = BY_QUESTION[question]
    record = first_epoch(students_folder, run.driver + '.py', *flag_words(run.flags))
    assert (record['train'][0], record['val'][0]) == run.epoch1


@pytest.mark.parametrize('question', ['Q3.7', 'Q3.8', 'Q3.10'])
@pytest.mark.slow
def test_a_template_style_file_gives_the_courses_first_epoch_of_the_conv_runs(students_folder, question):
    # Its convolution sums in another order than ours: a sample or two may differ (FACTS.md).
    run = BY_QUESTION[question]
    record = first_epoch(students_folder, run.driver + '.py', *flag_words(run.flags))
    for got, course in zip((record['train'][0], record['val'][0]), run.epoch1):
        assert abs(got - course) <= CNN_TOLERANCE + 1e-12, (question, record, run.epoch1)


def test_our_modules_need_nothing_but_numpy():
    """So dnn_misc.py runs in the course's folder, beside the course's dnn_im2col.py."""
    tree = ast.parse(open(os.path.join(REPO, 'dnn_misc.py')).read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {'numpy'}


@pytest.mark.parametrize('driver, flags, name', [
    ('dnn_mlp.py', [], 'MLP_lr0.01_m0.0_w0.0_d0.0.json'),
    ('dnn_cnn.py', ['--alpha', '0.9'], 'CNN_lr0.01_m0.9_w0.0_d0.5.json'),
    ('dnn_cnn_2.py', ['--alpha', '0.9'], 'CNN2_lr0.001_m0.9_w0.0_d0.5.json'),
])
@pytest.mark.slow
def test_our_modules_give_the_same_first_epoch_beside_the_courses_im2col(course_folder, driver, flags, name):
    assert first_epoch(course_folder, driver, *flags) == committed_first_epoch(name)
