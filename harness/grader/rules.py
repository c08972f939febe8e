"""The assignment's own rules, which staff check by hand, checked on the text of the two files handed
in (it is read, never run):

- "at the end of each submitted script (two of them), you need to list with whom you have
  discussed": a comment (or a string) after the last line of code that names classmates, or says none;
- "Please do not import packages that are not listed in the provided code": dnn_misc.py imports
  numpy and dnn_im2col, dnn_cnn_2.py what the course's drivers import (and what a template given imports);
- "Do not modify the code unless we instruct you to do so": with the course's own template of a
  file, every function and class keeps the template's code outside its TODO regions, compared as
  tokens, so that comments, blank lines and spaces do not count.

Each rule gives (verdict, message) under 'rule NAME FILE' in the graded submission; it costs
points only where the rubric gives it some.
"""
import ast
import io
import os
import re
import tokenize

ALLOWED = {'dnn_misc.py': ('numpy', 'dnn_im2col'), 'dnn_cnn_2.py': ('json', 'numpy', 'sys', 'dnn_misc', 'os', 'argparse')}
PROSE = re.compile(r'discuss|collaborat|classmate|work(ed)? with|talk(ed)?|help|\bnone\b|no one|nobody|alone|myself|'
                   r'\bmy own\b', re.IGNORECASE)
TODO_START = re.compile(r'#.*\bTODO\b', re.IGNORECASE)
TODO_END = re.compile(r'#.*\b(END OF YOUR CODE|End of TODO)\b', re.IGNORECASE)
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
           tokenize.ENDMARKER}


class TemplateError(Exception):
    """The course's templates cannot be read; the message names the file and why."""


def read_templates(folder):
    """{name: text} of the course's template files in the folder: one missing is left out, but not both."""
    templates = {}
    for name in ('dnn_misc.py', 'dnn_cnn_2.py'):
        try:
            with open(os.path.join(folder, name), encoding='utf-8') as f:
                templates[name] = f.read()
            ast.parse(templates[name])
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as error:
            raise TemplateError(f'{os.path.join(folder, name)}: cannot be read as Python ({error})') from None
    if not templates:
        raise TemplateError(f'{folder}: holds neither dnn_misc.py nor dnn_cnn_2.py')
    return templates


def check(texts, templates=None):
    """{'collaboration FILE' / 'imports FILE' / 'given code FILE': (verdict, message)} for each of
    `texts` ({file name: text}) that parses; 'given code' only where `templates` has that file."""
    found = {}
    for name, text in texts.items():
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the checks say why it does not load
        given = tail_lines(templates[name]) if templates and name in templates else ()
        found[f'collaboration {name}'] = (('PASS', 'lists whom the student discussed the homework with')
                                          if collaboration_list(text, tree, given) else
                                          ('FAIL', f'{name} does not end with the list of classmates the homework was '
                                                   f'discussed with (or "none"), as the assignment asks'))
        allowed = list(dict.fromkeys(ALLOWED.get(name, ()) + tuple(template_imports(templates, name))))
        extra = [module for module in imported(tree) if module not in allowed]
        found[f'imports {name}'] = (('FAIL', f"{name} imports {', '.join(extra)}, beyond what the provided code "
                                             f"imports ({', '.join(allowed)})") if extra else
                                    ('PASS', 'imports only what the provided code does'))
        if templates and name in templates:
            changed = changed_given_code(text, templates[name])
            found[f'given code {name}'] = (('FAIL', f"{name} changes the given code outside the TODOs in "
                                                    f"{', '.join(changed)}") if changed else
                                           ('PASS', "the given code is the template's, outside the TODOs"))
    return found


def tail_lines(text, tree=None):
    """The lines of text after the last line of code (comments, or bare strings), stripped."""
    try:
        tree = tree or ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    last_code = max((getattr(node, 'end_lineno', node.lineno) for node in tree.body
                     if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                             and isinstance(node.value.value, str))), default=0)
    tail = [node.value.value for node in tree.body if node.lineno > last_code]  # bare strings after the code
    tail += [line.strip().lstrip('#').strip() for line in text.splitlines()[last_code:] if line.strip().startswith('#')]
    return [line.strip() for part in tail for line in part.splitlines()]


def collaboration_list(text, tree, given=()):
    """Whether the text after the last line of code (comments, or a last bare string) names classmates
    or says none: words that say so, or prose that is not commented-out code. The lines `given` (the
    template's own, such as the handout's request for the list) are not the student's."""
    for line in tail_lines(text, tree):
        if not re.search(r'[A-Za-z]', line) or line in given:
            continue
        if PROSE.search(line):
            return True
        try:
            compile(line, '<line>', 'exec')
        except SyntaxError:
            return True  # "Alice Smith, Bob Jones": not code
    return False


def template_imports(templates, name):
    """What the template of `name` imports (the handout's dnn_cnn_2.py imports harness), if one is given."""
    try:
        return imported(ast.parse(templates[name])) if templates and name in templates else []
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []


def imported(tree):
    """The top-level names of every module the file imports, in order, each once."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split('.')[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append('.' * node.level + (node.module or '').split('.')[0])
    return list(dict.fromkeys(names))


def _tokens(text):
    """[(line, token)] of the code, comments and layout left out; a string as the value it spells."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in SKIPPED:
            continue
        value = token.string
        if token.type == tokenize.STRING:
            try:
                value = repr(ast.literal_eval(value))
            except (ValueError, SyntaxError):
                pass
        found.append((token.start[0], value))
    return found


def _units(tree):
    """{qualified name: (first line, last line)} of the functions and of each method of a class,
    and 'module level': None for the lines outside them all."""
    units = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            units[node.name] = (node.lineno, node.end_lineno)
        elif isinstance(node, ast.ClassDef):
            units.update({f'{node.name}.{item.name}': (item.lineno, item.end_lineno) for item in node.body
                          if isinstance(item, ast.FunctionDef)})
            units.setdefault(node.name, None)  # a class with no method is compared at the module level
    return units


def _module_level(tree, line):
    """Whether `line` lies outside every function and class of the module."""
    return not any(node.lineno <= line <= node.end_lineno for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef)))


def _todo_lines(text):
    """The lines of the TODO regions: from each TODO banner to its END OF YOUR CODE banner."""
    lines, inside = set(), False
    for number, line in enumerate(text.splitlines(), start=1):
        if TODO_START.search(line):
            inside = True
        if inside:
            lines.add(number)
        if TODO_END.search(line):
            inside = False
    return lines


def _segments(tokens, inside, todo):
    """The runs of tokens of the lines for which inside(line) holds, cut wherever a TODO region lies
    (one left empty too: between two tokens, or on their lines)."""
    runs, run, previous = [], [], None
    for line, value in tokens:
        if not inside(line) or line in todo:
            continue
        if previous is not None and any(previous <= between <= line and inside(between) for between in todo):
            runs.append(run)
            run = []
        run.append(value)
        previous = line
    return runs + ([run] if run else [])


def _in_order(runs, tokens):
    """Whether each run appears in `tokens` as it is, one after the other."""
    start = 0
    for run in runs:
        for at in range(start, len(tokens) - len(run) + 1):
            if tokens[at:at + len(run)] == run:
                start = at + len(run)
                break
        else:
            return False
    return True


def changed_given_code(text, template):
    """The functions and methods of `template` whose code outside its TODO regions the file `text`
    does not keep, in the template's order, and the module level (the code outside them all)."""
    try:
        ours, theirs = ast.parse(template), ast.parse(text)
        template_tokens, text_tokens = _tokens(template), _tokens(text)
    except (SyntaxError, ValueError, tokenize.TokenError, RecursionError, MemoryError):
        return []
    todo, their_units = _todo_lines(template), _units(theirs)
    spans = {name: span for name, span in _units(ours).items() if span}
    changed = []
    for name, span in spans.items():
        if name not in their_units:
            changed.append(f'{name} (missing)')
            continue
        first, last = their_units[name]
        mine = [value for line, value in text_tokens if first <= line <= last]
        if not _in_order(_segments(template_tokens, lambda line: span[0] <= line <= span[1], todo), mine):
            changed.append(name)
    mine = [value for line, value in text_tokens if _module_level(theirs, line)]
    if not _in_order(_segments(template_tokens, lambda line: _module_level(ours, line), todo), mine):
        changed.append('the module level (imports, the main block)')
    return changed
