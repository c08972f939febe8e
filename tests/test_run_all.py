"""scripts/run_all.sh, with a stand-in interpreter: the order of the runs, progress, failures."""
import os
import re
import shutil
import stat
import subprocess

import pytest

from conftest import REPO

QUESTIONS = ['q310', 'q38', 'q37', 'q33', 'q34', 'q35', 'q36']
# The stand-in for $PYTHON: a driver notes that it started and prints three epochs, slowly; a failing
# question exits 1; anything else (the report, the matplotlib probe) does nothing.
FAKE_PYTHON = '''#!/usr/bin/env bash
case "$1 $2" in
  "-m harness.run_driver")
    echo "$*" >> started.txt
    [[ "$*" == "{failing}" ]] && {{ echo "error: no data" >&2; exit 1; }}
    for epoch in 1 2 3; do sleep 0.4; echo "At epoch $epoch"; done
    echo "Finish running!" ;;
  -c*) exit 1 ;;
esac
'''


def run_all(tmp_path, *options, failing='none'):
    """Run a copy of scripts/run_all.sh and the question scripts in tmp_path, under the stand-in."""
    shutil.copytree(os.path.join(REPO, 'scripts'), tmp_path / 'scripts', ignore=shutil.ignore_patterns('*.py'))
    fake = tmp_path / 'fake_python'
    fake.write_text(FAKE_PYTHON.format(failing=failing))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PYTHON=str(fake), PROGRESS_SECONDS='0.3')
    return subprocess.run(['bash', 'scripts/run_all.sh', *options], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


def driver_line(question):
    return open(os.path.join(REPO, 'scripts', question + '.sh')).read().split('"$PYTHON" ')[1].split(' "$@"')[0]


def test_runs_start_longest_first_and_show_progress(tmp_path):
    result = run_all(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 'started.txt').read_text().splitlines() == [driver_line(q) for q in QUESTIONS]
    progress = [line for line in result.stdout.splitlines() if line.startswith('[')]
    assert progress and all(re.fullmatch(r'\[ *[\d.]+ s\] q\d+ epoch [0-3]/30', line) for line in progress)
    shown = [line.split('] ')[1].split()[0] for line in progress]
    assert shown == sorted(shown, key=QUESTIONS.index)  # one at a time, in the order they ran
    assert [line.split()[0] for line in result.stdout.splitlines() if ' done in ' in line] == QUESTIONS
    assert 'all seven runs: ' in result.stdout and '(-j 1)' in result.stdout


def test_two_at_a_time_start_the_two_longest_together(tmp_path):
    result = run_all(tmp_path, '-j', '2')
    assert result.returncode == 0, result.stderr
    started = (tmp_path / 'started.txt').read_text().splitlines()
    assert set(started[:2]) == {driver_line('q310'), driver_line('q38')}
    assert any(re.search(r'q310 epoch \d/30, q38 epoch \d/30', line) for line in result.stdout.splitlines())


def test_a_failed_run_is_named_and_no_longer_shown_running(tmp_path):
    result = run_all(tmp_path, failing=driver_line('q37'))
    assert result.returncode == 1
    assert 'q37   FAILED, see outputs/logs/q37.log' in result.stdout
    after = [line for line in result.stdout.split('q37   FAILED')[1].splitlines() if line.startswith('[')]
    # The first line may have been read just before q37 ended; every later one is without it.
    assert len(after) > 2 and not any('q37' in line for line in after[1:])
    assert 'q36   done in' in result.stdout.split('q37   FAILED')[1]
    assert 'error: no data' in (tmp_path / 'outputs' / 'logs' / 'q37.log').read_text()


@pytest.mark.parametrize('jobs', ['0', 'two'])
def test_a_bad_job_count_is_refused(tmp_path, jobs):
    result = run_all(tmp_path, '-j', jobs)
    assert result.returncode == 2 and '-j takes a whole number >= 1' in result.stderr
    assert not (tmp_path / 'started.txt').exists()
