"""Write the students' handout, made from this repository (the answer key) every time.

    python3 scripts/handout.py --out ../hw6 [--zip] [--no-fixes]

The handout is what a student starts the homework from: dnn_misc.py with the five methods students
write left as TODO blocks, dnn_cnn_2.py with Q3.9's numbered TODOs, the files the course gives
unchanged (the other drivers, dnn_im2col.py, data_loader.py, what of harness/ the drivers and the
checker need, the question scripts, the data), a README for the student (scripts/handout.md), and
hw5_dnn_check.py, whose checker holds no answer (harness/checker/edition.py says so).

--zip also writes DIR.zip, the folder as one file for Carmen; the folder itself can be pushed as a
GitHub Classroom template. --no-fixes makes the handout's checker name a mistake without saying how
to mend it (its harness/checker/fixes.py holds none). The folder is written whole or not at all; an
existing DIR is never written into.
"""
import argparse
import ast
import os
import re
import shutil
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from harness import NOT_WRITTEN  # noqa: E402  (the words a TODO as handed out raises)

HANDED_OUT = 'harness/checker/handed_out_dnn_misc.py'  # the checker's copy of dnn_misc.py as handed out

GIVEN = ['dnn_mlp.py', 'dnn_mlp_nononlinear.py', 'dnn_cnn.py', 'dnn_im2col.py', 'data_loader.py', 'hw5_dnn_check.py',
         '.gitignore', 'requirements.txt', 'requirements-plot.txt', 'data/README.md', 'data/mnist_subset.json', 'outputs/.gitignore',
         'scripts/python.sh', 'scripts/run_all.sh', 'scripts/report.py', 'scripts/plot_curves.py',
         'scripts/show_model.py']
GIVEN_FOLDERS = [('harness', ('grader',)), ('scripts/windows', ())]  # (folder, subfolders left out)
QUESTIONS = ['q33', 'q34', 'q35', 'q36', 'q37', 'q38', 'q310']

BANNER = '#' * 80
END = f"{BANNER}\n#{'END OF YOUR CODE':^78}#\n{BANNER}"

# What students write in dnn_misc.py: (class, method): what its TODO block says.
TODOS = {
    ('linear_layer', 'forward'): """\
Compute u = X W + b (Equation 2, one row per sample), with self.params['W'] (input_D, output_D)
and self.params['b'] (1, output_D). X: (N, input_D).
Keep: nothing is needed; backward gets the same X.
Return: u, of shape (N, output_D).""",
    ('linear_layer', 'backward'): """\
X: (N, input_D), the X the forward got; grad = dL/du: (N, output_D), one row per sample.
Derive and compute the partial derivatives of the minibatch's loss with respect to W, b and X.
Store: dL/dW in self.gradient['W'] (input_D, output_D) and dL/db in self.gradient['b'] (1, output_D),
set anew at each call (=), not added to what the call before left.
Return: dL/dX, of shape (N, input_D). (When self.input_is_data is True, nothing needs dL/dX:
you may return None.)""",
    ('relu', 'forward'): """\
Compute max(0, X) elementwise (Equation 3). X: any shape.
Keep: whatever backward needs, if anything; backward gets the same X.
Return: an array of X's shape.""",
    ('relu', 'backward'): """\
X: the X the forward got; grad = dL/d(output), of X's shape.
Derive and compute dL/dX.
Return: dL/dX, of X's shape.""",
    ('dropout', 'backward'): """\
X: the X the forward got (q in Equation 19); grad = dL/d(output) (dL/ds), of X's shape.
Compute dL/dX as Equation 21 defines dL/dq, with the mask the training forward kept (see forward).
Return: dL/dX, of X's shape.""",
}

# dnn_cnn_2.py's TODOs, numbered as the course's template numbers them and the checker's messages
# name them: (the answer key's lines, the TODO's banner, whether the lines stay: TODO (1) only asks
# to read the new modules, which Figure 4 gives).
CNN2_TODOS = [
    ("""\
        'C2': conv_layer(num_input=25, num_output=25, filter_len=3, stride=1),
        'nonlinear2': relu(),
        'M2': max_pool(max_len=2, stride=2),
""", """\
TODO (1): Understand the new modules, compared to dnn_cnn.py: C2, nonlinear2, M2 (Figure 4)""", True),
    ("""\
    c2 = model['C2'].forward(m1)
    h2 = model['nonlinear2'].forward(c2)
    m2 = model['M2'].forward(h2)
""", """\
TODO (2): Connect the three modules C2, nonlinear2, M2 in the forward chain: c2, h2, m2.
The course's template writes this chain three times, as TODO (2) for training and as TODO (4)
and TODO (5) for the training and validation accuracy; here one function serves all three
passes, so the checker's messages about TODO (4) and TODO (5) are about these lines too.""", False),
    ("""\
    grad_h2 = model['M2'].backward(h2, grad_m2)
    grad_c2 = model['nonlinear2'].backward(c2, grad_h2)
    grad_m1 = model['C2'].backward(m1, grad_c2)
""", """\
TODO (3): Connect the three modules M2, nonlinear2, C2 in the backward chain: grad_h2, grad_c2,
grad_m1 (each module's backward gets the input its forward got and the grad after it).""", False),
]

COLLABORATION = f"""

{BANNER}
# Collaboration: as the assignment asks, list here with whom you discussed this homework
# (or write that you discussed it with no one).
{BANNER}
"""


class HandoutError(Exception):
    """The handout cannot be made from this repository; the message says why."""


def block(indent, lines, code):
    """A TODO region: its banner with the text `lines`, then `code` (the lines inside), then the end banner."""
    pad = ' ' * indent
    text = '\n'.join(pad + ('# ' + line if line else '#') for line in lines.splitlines())
    end = '\n'.join(pad + line for line in END.splitlines())
    return f"{pad}{BANNER}\n{text}\n{pad}{BANNER}\n{code}{end}\n"


def unwritten(indent, lines, todo):
    """A TODO block as handed out: what the student's code replaces is a `raise` naming the TODO."""
    return block(indent, lines, f"{' ' * indent}raise NotImplementedError({not_written(todo)!r})\n")


def students_methods(text):
    """{(class, method): its ast.FunctionDef} of the methods of TODOS in the dnn_misc.py `text`."""
    found = {(node.name, item.name): item for node in ast.parse(text).body if isinstance(node, ast.ClassDef)
             for item in node.body if isinstance(item, ast.FunctionDef) and (node.name, item.name) in TODOS}
    missing = [f'{c}.{m}' for c, m in TODOS if (c, m) not in found]
    if missing:
        raise HandoutError(f"dnn_misc.py has no method {', '.join(missing)}: the handout's TODOs name them")
    return found


def not_written(name):
    """What a TODO as handed out raises, which the checker and the drivers report in one line."""
    return name + NOT_WRITTEN + (' (its TODO in dnn_misc.py)' if '.' in name.split()[0] else '')


def student_dnn_misc(text):
    """The answer key's dnn_misc.py with the body (docstring included) of each method of TODOS a TODO block."""
    lines = text.splitlines(keepends=True)
    for (class_name, method), item in sorted(students_methods(text).items(), key=lambda kv: -kv[1].lineno):
        first, last = item.body[0].lineno - 1, item.end_lineno  # from the end, so that line numbers hold
        lines[first:last] = [unwritten(item.body[0].col_offset, f'TODO: {class_name}.{method}\n' +
                                       TODOS[(class_name, method)], f'{class_name}.{method}')]
    return ''.join(lines).rstrip('\n') + '\n' + COLLABORATION


def student_dnn_cnn_2(text):
    """The answer key's dnn_cnn_2.py with Q3.9's TODOs."""
    for lines, banner, kept in CNN2_TODOS:
        if text.count(lines) != 1:
            raise HandoutError(f"dnn_cnn_2.py does not hold, once, the lines of {banner.split(':')[0]}:\n{lines}")
        indent = len(lines) - len(lines.lstrip(' '))
        replacement = block(indent, banner, lines) if kept else \
            unwritten(indent, banner, f"{banner.split(':')[0]} of dnn_cnn_2.py")
        text = text.replace(lines, replacement)
    return text.rstrip('\n') + '\n' + COLLABORATION


def rewritten(name, pattern, new):
    """The repository's file `name` with what the regular expression `pattern` finds, once, made `new`."""
    with open(os.path.join(REPO, name), encoding='utf-8') as f:
        text, found = re.subn(pattern, new, f.read(), flags=re.MULTILINE | re.DOTALL)
    if found != 1:
        raise HandoutError(f'{name} does not hold {pattern!r} once')
    return text.encode()


def files(fixes=True):
    """{path in the handout: bytes or the path of the repository's file to copy}."""
    read = lambda name: open(os.path.join(REPO, name), encoding='utf-8').read()
    handed_out = student_dnn_misc(read('dnn_misc.py'))
    found = {name: os.path.join(REPO, name) for name in GIVEN}
    for folder, left_out in GIVEN_FOLDERS:
        for root, subfolders, names in os.walk(os.path.join(REPO, folder)):
            subfolders[:] = sorted(s for s in subfolders if s not in left_out and s != '__pycache__')
            for name in names:
                if not name.endswith('.pyc'):
                    path = os.path.join(root, name)
                    found[os.path.relpath(path, REPO).replace(os.sep, '/')] = path
    for question in QUESTIONS:
        found[f'scripts/{question}.sh'] = os.path.join(REPO, 'scripts', f'{question}.sh')
    found.update({
        'dnn_misc.py': handed_out.encode(),
        HANDED_OUT: handed_out.encode(),
        'dnn_cnn_2.py': student_dnn_cnn_2(read('dnn_cnn_2.py')).encode(),
        'harness/checker/edition.py': rewritten('harness/checker/edition.py', r'^HANDED_OUT = None$',
                                                f'HANDED_OUT = {HANDED_OUT!r}'),
        'README.md': read('scripts/handout.md').encode(),
    })
    if not fixes:  # no fix said, and none to read
        found['harness/checker/fixes.py'] = rewritten('harness/checker/fixes.py', r'^FIXES = \{.*?^\}$', 'FIXES = {}')
    absent = [name for name, source in found.items() if isinstance(source, str) and not os.path.isfile(source)]
    if absent:
        raise HandoutError(f"{absent[0]}: no such file in {REPO}, and the handout gives it")
    return found


def write_folder(out, fixes):
    """Write the handout into `out`, which must not exist: into a new folder beside it, renamed once whole."""
    parent = os.path.dirname(os.path.abspath(out)) or '.'
    building = tempfile.mkdtemp(prefix='.handout-', dir=parent)
    try:
        for name, source in sorted(files(fixes).items()):
            target = os.path.join(building, *name.split('/'))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if isinstance(source, bytes):
                with open(target, 'wb') as f:
                    f.write(source)
            else:
                shutil.copyfile(source, target)
                shutil.copymode(source, target)
        os.chmod(building, 0o755)
        os.rename(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def write_zip(folder, path):
    """`folder` as a zip at `path`, its files under the folder's name, modes kept; written whole or not at all."""
    top = os.path.basename(os.path.abspath(folder))
    part = path + '.part'
    try:
        with zipfile.ZipFile(part, 'w', zipfile.ZIP_DEFLATED) as archive:
            for root, subfolders, names in os.walk(folder):
                subfolders.sort()
                for name in sorted(names):
                    source = os.path.join(root, name)
                    archive.write(source, os.path.join(top, os.path.relpath(source, folder)))
        os.replace(part, path)
    except BaseException:
        if os.path.exists(part):
            os.remove(part)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(prog='handout.py', description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, metavar='DIR', help='the folder to write: it must not exist')
    parser.add_argument('--zip', action='store_true', help='also write DIR.zip, for Carmen')
    parser.add_argument('--no-fixes', dest='fixes', action='store_false',
                        help="the handout's checker names a mistake without saying how to mend it")
    args = parser.parse_args(argv)
    out = args.out.rstrip('/\\') or args.out
    zip_path = out + '.zip'
    if os.path.lexists(out):
        parser.error(f'{out}: already exists; the handout is written into a new folder')
    if args.zip and os.path.lexists(zip_path):
        parser.error(f'{zip_path}: already exists')
    if not os.path.isdir(os.path.dirname(os.path.abspath(out))):
        parser.error(f'{os.path.dirname(os.path.abspath(out))}: no such folder')
    try:
        write_folder(out, args.fixes)
        if args.zip:
            write_zip(out, zip_path)
    except HandoutError as error:
        print(f'handout.py: error: {error}', file=sys.stderr)
        return 1
    except OSError as error:
        print(f'handout.py: error: cannot write the handout: {error}', file=sys.stderr)
        return 1
    print(f"wrote {out}{' and ' + zip_path if args.zip else ''}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
