"""The seven committed result files are the course's: FACTS.md's figures at epochs 1 and 30.

It reads the files; it does not train (scripts/run_all.sh makes them again, in about five minutes).
"""
import json
import os

import pytest

from conftest import REPO
from harness.course import RUNS


@pytest.mark.parametrize('run', RUNS, ids=[run.question for run in RUNS])
def test_committed_result_file_is_the_courses(run):
    with open(os.path.join(REPO, 'outputs', run.name)) as f:
        record = json.load(f)
    assert sorted(record) == ['train', 'val']
    assert len(record['train']) == len(record['val']) == 30
    assert (record['train'][0], record['val'][0]) == run.epoch1
    assert (record['train'][-1], record['val'][-1]) == run.epoch30
