"""Microseconds to send and read one message through a pipe: harness/messages.py's framing (a JSON
header that lists each array's dtype and shape, then the raw bytes) against NumPy's own, each array
framed as .npy (numpy.lib.format.write_array / read_array, allow_pickle=False).

    python3 bench/messages_ab.py [--repeat 7]

Two messages, as the checker's pipeline sends them: a training step of the MLP (its minibatch, its
labels and the 13 operations that name them), and the parameters it reads back (784 x 1000 and
1000 x 10 weights and their biases). The two framings alternate within each round; each figure is the
median of the rounds, and the ratio that of the rounds' ratios.
"""
import argparse
import io
import json
import os
import statistics
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import messages  # noqa: E402


def send_ours(fd, header, arrays):
    messages.send(fd, header, arrays)


def read_ours(fd):
    return messages.receive(lambda size: messages.read_exactly(fd, size))


def send_npy(fd, header, arrays):
    """The same message with each array framed as .npy: the header's length and JSON, the length of the
    arrays' frames, then the frames, in one write."""
    buffer = io.BytesIO()
    for array in arrays:
        np.lib.format.write_array(buffer, array, allow_pickle=False)
    text = json.dumps(dict(header, count=len(arrays))).encode()
    frames = buffer.getvalue()
    os.write(fd, len(text).to_bytes(8, 'little') + text + len(frames).to_bytes(8, 'little') + frames)


def read_npy(fd):
    header = json.loads(messages.read_exactly(fd, int.from_bytes(messages.read_exactly(fd, 8), 'little')))
    body = io.BytesIO(messages.read_exactly(fd, int.from_bytes(messages.read_exactly(fd, 8), 'little')))
    return header, [np.lib.format.read_array(body, allow_pickle=False) for _ in range(header['count'])]


def timed(send, read, header, arrays, times):
    """Seconds per message, over `times` messages through one pipe, written by a thread as the other
    process would write them."""
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: [send(write_end, header, arrays) for _ in range(times)])
    try:
        start = time.perf_counter()
        writer.start()
        for _ in range(times):
            read(read_end)
        writer.join()
        return (time.perf_counter() - start) / times
    finally:
        os.close(read_end)
        os.close(write_end)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=7)
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    x, y = rng.rand(5, 784), rng.randint(0, 10, (5, 1))
    step_arrays = []
    step = {'ops': [messages.encode_op({'op': 'call', 'of': n, 'method': 'forward', 'args': [x if n == 1 else {'#': n}],
                                        'kwargs': {}, 'as': 100 + n}, step_arrays) for n in range(1, 12)]
            + [messages.encode_op({'op': 'call', 'of': 5, 'method': 'forward', 'args': [{'#': 4}, y]}, step_arrays)]}
    params = [rng.randn(784, 1000), rng.randn(1, 1000), rng.randn(1000, 10), rng.randn(1, 10)]
    for label, header, arrays, times in [('training step', step, step_arrays, 2000), ('parameters', {}, params, 20)]:
        rounds = []
        for _ in range(args.repeat):
            a = timed(send_ours, read_ours, header, arrays, times)
            b = timed(send_npy, read_npy, header, arrays, times)
            rounds.append((a, b))
        a, b = statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)
        ratios = sorted(r[1] / r[0] for r in rounds)
        print(f'{label}: messages.py {a * 1e6:.0f} us, .npy {b * 1e6:.0f} us a message; .npy / messages.py '
              f'median {statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f}) over {args.repeat} rounds')


if __name__ == '__main__':
    main()
