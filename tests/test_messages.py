"""harness/messages.py, the one format the checker and the student process speak: what goes in comes
back out, and what the checker reads that is not the format is Garbled, never an exception of its own."""
import json
import os

import numpy as np
import pytest

from harness import messages
from harness.messages import Garbled, Other


def through_a_pipe(header, arrays):
    """What receive() reads of a message that send() wrote."""
    read_end, write_end = os.pipe()
    try:
        messages.send(write_end, header, arrays)
        os.close(write_end)
        return messages.receive(lambda size: messages.read_exactly(read_end, size))
    finally:
        os.close(read_end)


def raw(header_bytes, body=b''):
    """receive() of hand-made bytes."""
    data = len(header_bytes).to_bytes(8, 'little') + header_bytes + body
    position = [0]

    def read(size):
        chunk = data[position[0]:position[0] + size]
        position[0] += size
        if len(chunk) < size:
            raise EOFError
        return bytearray(chunk)
    return messages.receive(read)


def test_values_come_back_as_they_went():
    kept = {7: 'the module kept under 7'}
    value = {'scores': np.arange(6.0).reshape(2, 3), 'labels': np.array([[1], [2]]), 'rate': 0.5, 'n': 3,
             'names': ['W', 'b'], 'nothing': None, 'flag': True, 'module': 'placeholder', 'odd': object()}
    arrays = []
    encoded = messages.encode(value, arrays, lambda v: 7 if isinstance(v, str) and v == 'placeholder' else None)
    header, received = through_a_pipe({'value': encoded}, arrays)
    back = messages.decode(header['value'], received, kept)
    assert np.array_equal(back['scores'], value['scores']) and back['scores'].dtype == np.float64
    assert np.array_equal(back['labels'], value['labels']) and back['labels'].dtype == value['labels'].dtype
    assert (back['rate'], back['n'], back['names'], back['nothing'], back['flag']) == (0.5, 3, ['W', 'b'], None, True)
    assert back['module'] == 'the module kept under 7'
    assert isinstance(back['odd'], Other) and back['odd'].type_name == 'object'


def test_an_array_given_to_several_calls_is_sent_once():
    x, arrays = np.ones((5, 4)), []
    encoded = [messages.encode_op({'op': 'call', 'args': [x]}, arrays) for _ in range(3)]
    assert len(arrays) == 1 and all(op['args'] == [{'$': 0}] for op in encoded)


def test_an_array_of_no_numeric_dtype_is_no_array():
    arrays = []
    assert messages.encode(np.array(['a', 'b']), arrays) == {'other': 'ndarray'} and arrays == []


@pytest.mark.parametrize('header, body, why', [
    (b'not json', b'', 'not JSON'),
    (json.dumps({'arrays': [['|O', [2]]]}).encode(), b'', 'described as'),
    (json.dumps({'arrays': [['<f8', [-1]]]}).encode(), b'', 'described as'),
    (json.dumps({'arrays': [['<f8', [2, 'x']]]}).encode(), b'', 'described as'),
    (json.dumps({'arrays': [['<f8', [1 << 20, 1 << 20]]]}).encode(), b'', 'numbers in one message'),
    (json.dumps({'arrays': [['|b1', [1 << 13, 1 << 13]]] * 3}).encode(), b'', 'numbers in one message'),
    (json.dumps({'arrays': [[[1], [2]]]}).encode(), b'', 'described as'),
    (b'[' * 100000 + b']' * 100000, b'', 'not JSON'),
    (json.dumps({'no arrays': []}).encode(), b'', 'not JSON'),
])
def test_what_is_not_the_format_is_garbled(header, body, why):
    with pytest.raises(Garbled, match=why):
        raw(header, body)


def test_a_header_past_its_limit_is_garbled_before_it_is_read():
    with pytest.raises(Garbled, match='a header of'):
        messages.receive(lambda size: (messages.MAX_HEADER + 1).to_bytes(8, 'little') if size == 8 else b'')


DEEP = 1
for _ in range(messages.MAX_DEPTH + 2):
    DEEP = [DEEP]


@pytest.mark.parametrize('value', [{'$': 3}, {'$': True}, {'#': 9}, {'map': 1}, {'a': 1, 'b': 2}, {'?': 1}, DEEP])
def test_a_value_that_is_not_the_format_is_garbled(value):
    with pytest.raises(Garbled):
        messages.decode(value, [np.zeros(2)], {1: 'kept'})


@pytest.mark.parametrize('change', [{1: -10 ** 9}, {1: 10 ** 30}, {1: 625}, {2: 2}, {3: float('nan')}, {0: {'$': 1}}])
def test_a_random_state_that_is_not_numpys_is_garbled(change):
    arrays = []
    value = messages.state(arrays)
    arrays.append(np.zeros(3))
    for index, new in change.items():
        value[index] = new
    before = np.random.get_state()
    with pytest.raises(Garbled, match='random state'):
        messages.set_state(value, arrays)
    assert np.array_equal(np.random.get_state()[1], before[1])


def test_a_random_state_crosses_whole():
    arrays = []
    value = messages.state(arrays)
    expected = np.random.uniform(size=3)
    np.random.seed(1)
    messages.set_state(value, [array.astype(np.float64) for array in arrays])  # as the checker reads it
    assert np.array_equal(np.random.uniform(size=3), expected)
