"""harness/grader/unpack.py: a class's zips and folders, and the zips it refuses to unpack."""
import os
import shutil
import stat
import zipfile

import pytest

from harness.grader import unpack


def make_zip(path, members):
    """members: [(name, bytes) or (name, bytes, mode)]."""
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data, *mode in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.external_attr = mode[0] << 16
            archive.writestr(info, data)
    return str(path)


def test_ids_come_from_the_zip_names(tmp_path):
    make_zip(tmp_path / 'HW_6_code_chao.209.zip', [('dnn_misc.py', b'')])
    make_zip(tmp_path / 'other.zip', [('dnn_misc.py', b'')])
    (tmp_path / 'smith.1').mkdir()
    (tmp_path / '.hidden').mkdir()
    (tmp_path / 'notes.txt').write_text('')
    assert [name for name, _ in unpack.submissions(tmp_path)] == ['chao.209', 'other', 'smith.1']


def test_files_at_the_top_or_in_one_folder(tmp_path):
    top = unpack.unpack(make_zip(tmp_path / 'a.zip', [('dnn_misc.py', b'x'), ('MLP.json', b'{}')]))
    inside = unpack.unpack(make_zip(tmp_path / 'b.zip', [('hw6/dnn_misc.py', b'y'), ('__MACOSX/._hw6', b'')]))
    try:
        assert open(os.path.join(unpack.files_root(top), 'dnn_misc.py')).read() == 'x'
        assert open(os.path.join(unpack.files_root(inside), 'dnn_misc.py')).read() == 'y'
    finally:
        shutil.rmtree(top)
        shutil.rmtree(inside)


@pytest.mark.parametrize('members, reason', [
    ([('dnn_misc.py', b''), ('../../escaped.py', b'x')], "refused: member '../../escaped.py' would land outside"),
    ([('/etc/escaped.py', b'x')], "refused: member '/etc/escaped.py' would land outside"),
    ([('dnn_misc.py', b''), ('link.py', b'/etc/passwd', stat.S_IFLNK | 0o777)],
     "refused: member 'link.py' is a symbolic link"),
    ([('zeros.json', bytes(unpack.MAX_BYTES + 1))], 'refused: it would expand to 200 MB, past the limit of 200 MB'),
])
def test_a_hostile_zip_is_refused_and_nothing_is_written(tmp_path, members, reason):
    path = make_zip(tmp_path / 'HW_6_code_x.1.zip', members)
    before = set(os.listdir(tmp_path)) | set(os.listdir(tmp_path.parent))
    with pytest.raises(unpack.Refused) as refused:
        unpack.unpack(path)
    assert str(refused.value).startswith(reason)
    assert set(os.listdir(tmp_path)) | set(os.listdir(tmp_path.parent)) == before
    assert not os.path.exists('/etc/escaped.py')


def test_the_limit_counts_what_the_members_would_expand_to(tmp_path, monkeypatch):
    monkeypatch.setattr(unpack, 'MAX_BYTES', 1000)
    path = make_zip(tmp_path / 'bomb.zip', [('a.json', bytes(600)), ('b.json', bytes(600))])
    with pytest.raises(unpack.Refused, match='refused: it would expand to 0 MB, past the limit of 0 MB'):
        unpack.unpack(path)


def test_a_file_that_is_not_a_zip(tmp_path):
    (tmp_path / 'HW_6_code_x.1.zip').write_text('not a zip')
    with pytest.raises(unpack.Refused, match='not a zip file that can be read'):
        unpack.unpack(str(tmp_path / 'HW_6_code_x.1.zip'))


def test_a_zip_whose_data_is_corrupt_is_refused(tmp_path):
    path = make_zip(tmp_path / 'HW_6_code_x.1.zip', [('dnn_misc.py', b'x' * 10000)])
    data = bytearray(open(path, 'rb').read())
    start = data.index(b'dnn_misc.py') + len('dnn_misc.py')
    data[start + 2:start + 12] = bytes(b ^ 0xFF for b in data[start + 2:start + 12])  # the deflated bytes
    open(path, 'wb').write(bytes(data))
    with pytest.raises(unpack.Refused, match=r'refused: the zip cannot be unpacked \(Error -3 while decompressing'):
        unpack.unpack(path)
