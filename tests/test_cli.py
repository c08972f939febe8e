"""The command line: every bad input gets one clear line and a non-zero exit, and no result is lost."""
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import tempfile

import pytest

from conftest import REPO, endless_run, small_data_file

MLP = os.path.join(REPO, 'dnn_mlp.py')
CNN = os.path.join(REPO, 'dnn_cnn.py')


def run(args, driver=MLP, timeout=120):
    return subprocess.run([sys.executable, driver] + args, capture_output=True, text=True, timeout=timeout)


def assert_clean_failure(result, status, *fragments):
    assert result.returncode == status, (result.returncode, result.stderr)
    assert 'Traceback' not in result.stdout + result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.parametrize('flag, value, allowed', [
    ('--learning_rate', '0', 'a finite number > 0'),
    ('--learning_rate', '-0.1', 'a finite number > 0'),
    ('--learning_rate', 'nan', 'a finite number > 0'),
    ('--learning_rate', 'inf', 'a finite number > 0'),
    ('--learning_rate', 'fast', 'a finite number > 0'),
    ('--alpha', '1', 'a number in [0, 1)'),
    ('--alpha', '-0.5', 'a number in [0, 1)'),
    ('--lambda', '-1', 'a finite number >= 0'),
    ('--lambda', 'inf', 'a finite number >= 0'),
    ('--dropout_rate', '1.0', 'a number in [0, 1)'),
    ('--dropout_rate', '-0.1', 'a number in [0, 1)'),
    ('--num_epoch', '0', 'an integer >= 1'),
    ('--num_epoch', '2.5', 'an integer >= 1'),
    ('--minibatch_size', '0', 'an integer from 1 to the training-set size'),
    ('--random_seed', '-1', 'an integer from 0 to 4294967295'),
    ('--random_seed', '4294967296', 'an integer from 0 to 4294967295'),
    ('--random_seed', 'x', 'an integer from 0 to 4294967295'),
])
def test_bad_flag_values_exit_2_naming_the_flag(tmp_path, flag, value, allowed):
    result = run([flag, value, '--output_dir', str(tmp_path)])
    assert_clean_failure(result, 2, 'usage:', f'argument {flag}: must be {allowed}', repr(value))
    error_lines = [line for line in result.stderr.splitlines() if 'error:' in line]
    assert error_lines == [result.stderr.strip().splitlines()[-1]]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('sizes, batch, split, size', [((60, 20, 20), 61, 'train', 60), ((60, 3, 20), 5, 'valid', 3),
                                                       ((60, 20, 20), 21, 'valid', 20)])
def test_minibatch_larger_than_an_evaluated_split(tmp_path, sizes, batch, split, size):
    data = small_data_file(tmp_path / 'data.json', *sizes)
    out = tmp_path / 'out'
    result = run(['--minibatch_size', str(batch), '--data', data, '--output_dir', str(out)])
    assert_clean_failure(result, 2, 'argument --minibatch_size', f"split '{split}' has {size} samples, got {batch}")
    assert 'At epoch' not in result.stdout and os.listdir(out) == []


def test_the_largest_seed_is_taken(tmp_path, small_data):
    result = run(['--random_seed', '4294967295', '--num_epoch', '1', '--data', small_data, '--output_dir', str(tmp_path)])
    assert result.returncode == 0, result.stderr


def test_help_documents_every_flag_with_its_default():
    result = run(['--help'])
    assert result.returncode == 0
    text_of_help = ' '.join(result.stdout.split())
    for text in ['--random_seed', '(default: 2)', '--learning_rate', '(default: 0.01)', '--alpha', 'Q3.8',
                 '--lambda', '--dropout_rate', 'Q3.4', '--num_epoch', '(default: 30)', '--minibatch_size',
                 '(default: 5)', '--data', '--output_dir']:
        assert text in text_of_help


def write(path, text):
    path.write_text(text)
    return str(path)


def good_split(n=6):
    return [[[0.25] * 784 for _ in range(n)], [i % 10 for i in range(n)]]


@pytest.mark.parametrize('content, problem', [
    ('{"train": [[[0.5', 'not valid JSON'),
    ('not json at all', 'not valid JSON'),
    (json.dumps({'train': good_split(), 'valid': good_split()}), "split 'test' is missing"),
    (json.dumps({'train': [good_split()[0][:3], [1, 2]], 'valid': good_split(), 'test': good_split()}),
     "split 'train': X has 3 rows but Y has 2 labels"),
    (json.dumps({'train': good_split(), 'valid': [[[0.1] * 783], [1]], 'test': good_split()}),
     "split 'valid': row 0 has 783 values, expected 784"),
    (json.dumps({'train': good_split(), 'valid': good_split(), 'test': [[[0.1] * 783 + [2.0]], [1]]}),
     "split 'test': pixel values must lie in [0, 1]"),
    (json.dumps({'train': good_split(), 'valid': good_split(), 'test': [[[0.1] * 784], [12]]}),
     "split 'test': labels must lie in 0..9"),
    (json.dumps({'train': [[], []], 'valid': good_split(), 'test': good_split()}), "split 'train': is empty"),
    (json.dumps({'train': good_split(), 'valid': good_split(), 'test': [[[0.1] * 783 + [float('nan')]], [1]]}),
     "split 'test': X holds values that are not finite"),
    (json.dumps({'train': 'images', 'valid': good_split(), 'test': good_split()}), "split 'train': expected a list"),
])
def test_bad_data_files_fail_before_training_with_one_line(tmp_path, content, problem):
    path = write(tmp_path / 'bad.json', content)
    out = tmp_path / 'out'
    result = run(['--data', path, '--output_dir', str(out)])
    assert_clean_failure(result, 1, path, problem)
    assert len(result.stderr.strip().splitlines()) == 1
    assert 'At epoch' not in result.stdout and os.listdir(out) == []


def test_missing_data_file(tmp_path):
    result = run(['--data', str(tmp_path / 'nowhere.json'), '--output_dir', str(tmp_path)])
    assert_clean_failure(result, 1, 'nowhere.json: no such file')


def test_output_dir_is_created(tmp_path, small_data):
    out = tmp_path / 'a' / 'b'
    result = run(['--num_epoch', '1', '--data', small_data, '--output_dir', str(out)])
    assert result.returncode == 0, result.stderr
    assert os.listdir(out) == ['MLP_lr0.01_m0.0_w0.0_d0.0.json']


def test_unwritable_output_dir_fails_before_training(tmp_path, small_data):
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    result = run(['--data', small_data, '--output_dir', str(blocker / 'sub')])
    assert_clean_failure(result, 1, 'cannot write the result file', str(blocker / 'sub'))
    assert 'At epoch' not in result.stdout


def test_a_directory_in_place_of_the_result_file_fails_before_training(tmp_path, small_data):
    (tmp_path / 'MLP_lr0.01_m0.0_w0.0_d0.0.json').mkdir()
    result = run(['--data', small_data, '--output_dir', str(tmp_path)])
    assert_clean_failure(result, 1, 'cannot write the result file', 'a directory has that name')
    assert 'At epoch' not in result.stdout


def limit_file_size(size):
    """A preexec_fn: the child can write no file larger than `size` bytes (a full disk, as far as it knows)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def test_a_write_that_fails_after_training_loses_nothing(tmp_path, small_data):
    out = tmp_path / 'out'
    out.mkdir()
    result = subprocess.run([sys.executable, MLP, '--num_epoch', '2', '--data', small_data, '--output_dir', str(out)],
                            capture_output=True, text=True, timeout=120, preexec_fn=limit_file_size(10))
    assert_clean_failure(result, 1, 'cannot write', 'MLP_lr0.01_m0.0_w0.0_d0.0.json', 'File too large',
                         'printed above')
    assert len(result.stderr.strip().splitlines()) == 1
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(record['train']) == len(record['val']) == 2
    assert os.listdir(out) == []  # and no half-written or temporary file


def test_the_fallback_copy_is_saved_in_the_temporary_folder(tmp_path, monkeypatch, capsys):
    from harness import result_files
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    target = tmp_path / 'gone' / 'MLP.json'  # its folder does not exist: the write fails
    status = result_files.write_or_rescue(str(target), lambda f: f.write('{"train": [1.0]}'), 'dnn_mlp.py',
                                          'the result', text='{"train": [1.0]}')
    out, err = capsys.readouterr()
    assert status == 1 and out == '{"train": [1.0]}\n'
    assert err.startswith(f'dnn_mlp.py: error: cannot write {target}: ')
    assert f'saved to {tmp_path / "MLP.json"} and printed above' in err
    assert (tmp_path / 'MLP.json').read_text() == '{"train": [1.0]}'


@pytest.mark.parametrize('umask, mode', [(0o022, 0o644), (0o077, 0o600)])
def test_result_files_get_the_permissions_of_the_umask(tmp_path, small_data, umask, mode):
    result = subprocess.run([sys.executable, MLP, '--num_epoch', '1', '--data', small_data, '--output_dir',
                             str(tmp_path)], capture_output=True, text=True, timeout=120,
                            preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(tmp_path / 'MLP_lr0.01_m0.0_w0.0_d0.0.json').st_mode) == mode


def test_report_to_a_full_disk_says_so(tmp_path):
    with open('/dev/full', 'w') as full:
        result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'report.py')], stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines() == [
        'report.py: error: cannot write the report to standard output: No space left on device; '
        'the result files are unchanged, so it can be made again']


def test_plot_that_cannot_be_written_says_so_and_leaves_nothing_behind(tmp_path):
    out = tmp_path / 'curves.png'
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'plot_curves.py'), '--output', str(out)],
                            capture_output=True, text=True, timeout=120, preexec_fn=limit_file_size(1000))
    assert_clean_failure(result, 1, f'cannot write {out}: File too large', 'the plot is not saved anywhere else')
    assert [line for line in result.stderr.splitlines() if 'error:' in line] == [result.stderr.strip().splitlines()[-1]]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('driver', [MLP, CNN])
def test_progress_shows_durations_and_time_left(tmp_path, small_data, driver):
    result = run(['--num_epoch', '2', '--data', small_data, '--output_dir', str(tmp_path)], driver=driver)
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stdout.splitlines() if line.startswith('(epoch')]
    assert [line.split(':')[0] for line in progress] == ['(epoch 1', '(epoch 2']
    assert all(' s training, ' in line and line.endswith(' s left)') for line in progress)
    # With a second CPU, the CNN drivers evaluate in the background; the MLPs, whose BLAS has a
    # thread per CPU, evaluate in line (harness/__init__.py), unless one thread was asked for.
    one_thread = driver == CNN or os.environ.get('OPENBLAS_NUM_THREADS', '').strip() == '1'
    background = os.cpu_count() > 1 and one_thread
    assert (' s evaluating alongside the next epoch; ' in progress[0]) == background
    assert ' s evaluating; ' in progress[1]
    assert result.stdout.index('At epoch 1') < result.stdout.index('At epoch 2')


@pytest.mark.parametrize('driver', [MLP, CNN])
def test_divergence_stops_without_a_result(tmp_path, small_data, driver):
    result = run(['--learning_rate', '1e300', '--data', small_data, '--output_dir', str(tmp_path)], driver=driver)
    assert_clean_failure(result, 1, 'training diverged', 'smaller --learning_rate')
    assert 'Warning' not in result.stderr
    assert 'At epoch 2' not in result.stdout
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('sig, status', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_leaves_earlier_results_intact(tmp_path, small_data, sig, status):
    earlier = tmp_path / 'CNN2_lr0.001_m0.0_w0.0_d0.5.json'
    earlier.write_text('{"train": [0.5], "val": [0.5]}')
    with endless_run('dnn_cnn_2.py', small_data, tmp_path) as process:
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == status
    assert 'Traceback' not in stderr and 'interrupted' in stderr and len(stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == [earlier.name]
    assert earlier.read_text() == '{"train": [0.5], "val": [0.5]}'
