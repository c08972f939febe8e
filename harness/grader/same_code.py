"""Which submissions hand in the same code: the same dnn_misc.py or dnn_cnn_2.py once comments,
blank lines and whitespace are set aside. Staff ask for this; neither Otter nor nbgrader has it."""
import hashlib
import io
import tokenize

FILES = ('dnn_misc.py', 'dnn_cnn_2.py')
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENCODING, tokenize.ENDMARKER}


def fingerprint(text):
    """A digest of the code's tokens without comments and layout; text that does not tokenize is
    taken line by line, each stripped of its comment and whitespace."""
    try:
        tokens = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in SKIPPED]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens = [''.join(line.split('#')[0].split()) for line in text.splitlines()]
        tokens = [t for t in tokens if t]
    return hashlib.sha256('\x00'.join(tokens).encode()).hexdigest()


def groups(texts):
    """texts: {submission: {file name: text}}. Returns {file name: [[submissions], ...]}, each group of
    two or more submissions whose file is the same code, groups and members sorted."""
    found = {}
    for name in FILES:
        by_print = {}
        for submission, files in texts.items():
            if name in files:
                by_print.setdefault(fingerprint(files[name]), []).append(submission)
        found[name] = sorted(sorted(members) for members in by_print.values() if len(members) > 1)
    return found


def report(found):
    """The groups as Markdown lines."""
    lines = ['# Submissions that hand in the same code', '',
             'The same file once comments, blank lines and whitespace are set aside.', '']
    for name, sets in found.items():
        lines.append(f'- `{name}`: ' + ('; '.join(', '.join(members) for members in sets) if sets else 'none'))
    return lines
