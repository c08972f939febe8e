"""The class at a glance, after grading: NAME-summary.md (the totals, full marks per item, the checks
failed most often, late, same code, not graded) and NAME-summary.png where matplotlib is installed.

Every figure is over the graded submissions; those that could not be graded (a refused zip) are
listed apart with their reason, not counted as 0. A check with no verdict (its file missing, or not
loading) counts as failed, with that reason, as it costs its item; the pipeline's runs do not (the
result files' items say what they found)."""
import math
import statistics
from collections import Counter

from harness.grader import rubric
from harness.result_files import write_atomically

BINS = 5  # of the histogram of totals
TOP = 10  # checks failed most often
WIDTH = 120  # characters of a message kept in the table
BAR = 40  # characters of the longest bar of the text histogram


def graded_only(rows):
    """{submission: row} of the submissions that were graded."""
    return {submission: row for submission, row in rows.items() if row['status'] == 'graded'}


def histogram(totals, maximum):
    """[(label, low, width, count)]: bins of a whole number of points from 0, the maximum in the last."""
    width = max(1, math.ceil(maximum / BINS))
    lows = list(range(0, max(1, math.ceil(maximum / width)) * width, width))
    counts = Counter(min(int(total // width), len(lows) - 1) for total in totals)
    highs = [low + width - 1 for low in lows[:-1]] + [maximum]
    return [(f'{low}-{high:g}' if high != low else f'{low}', low, width, counts[i])
            for i, (low, high) in enumerate(zip(lows, highs))]


def full_marks(items, graded):
    """[(item name, points, submissions with all its points)], in the rubric's order."""
    return [(name, points, sum(row[name] == points for row in graded.values())) for name, points, _, _ in items]


def failures(items, graded):
    """{(kind, what): message} of what failed in one graded submission: what the items name (one with
    no verdict fails with the reason), then every other failed check and rule."""
    failed = {}
    for _, _, kind, what in items:
        found, message = rubric.verdict(graded, kind, what)
        if found == 'FAIL':
            failed[kind, what] = message
    for kind in rubric.KINDS:
        for what, (found, message) in graded.get(kind, {}).items():
            if found == 'FAIL' and not (kind == 'check' and what.startswith('pipeline.')):
                failed.setdefault((kind, what), message)
    return failed


def failed_most(items, graded_by, submissions):
    """[((kind, what), submissions it failed in, its most common first line)], most often first, then in
    the rubric's order; at most TOP."""
    messages = {}
    for submission in sorted(submissions):
        for key, message in failures(items, graded_by[submission]).items():
            messages.setdefault(key, Counter())[(str(message).splitlines() or [''])[0]] += 1
    order = {(kind, what): i for i, (_, _, kind, what) in enumerate(items)}
    ranked = sorted(messages, key=lambda key: (-sum(messages[key].values()), order.get(key, len(order)), key))
    return [(key, sum(messages[key].values()), messages[key].most_common(1)[0][0]) for key in ranked[:TOP]]


def cell(text):
    """Text for a Markdown table's cell: one line of at most WIDTH characters, its '|' escaped."""
    text = ' '.join(str(text).split())
    return (text if len(text) <= WIDTH else text[:WIDTH - 1] + '…').replace('|', '\\|')


def markdown(items, rows, graded_by, groups, title='The class at a glance'):
    """The summary in Markdown: the totals, full marks per item, the checks failed most often, and
    the late, the same code and the not graded."""
    graded = graded_only(rows)
    left_out = sorted(set(rows) - set(graded))
    n, maximum = len(graded), rubric.possible(items)['total']
    lines = [f'# {title}', '', f'{len(rows)} submissions: {n} graded' +
             (f', {len(left_out)} not graded (left out of every figure; their rows read 0)' if left_out else '') + '.',
             '', '## Totals', '']
    totals = sorted(row['total'] for row in graded.values())
    if totals:
        lines += ['| graded | mean | median | min | max | of |', '|---|---|---|---|---|---|',
                  f'| {n} | {statistics.mean(totals):.1f} | {statistics.median(totals):g} | {totals[0]:g} '
                  f'| {totals[-1]:g} | {maximum:g} |', '', '```']
        bins = histogram(totals, maximum)
        most = max(count for *_, count in bins)
        label_width = max(len(label) for label, *_ in bins)
        for label, _, _, count in bins:
            bar = '#' * (count if most <= BAR else max(count > 0, round(count * BAR / most)))
            lines.append(f"{label:>{label_width}} | {bar}{' ' * bool(bar)}{count}")
        lines.append('```')
    else:
        lines.append('No submission was graded.')
    lines += ['', '## Full marks per item', '', '| item | points | full marks | share |', '|---|---|---|---|']
    for name, points, full in full_marks(items, graded):
        lines.append(f"| {cell(name)} | {points:g} | {full} of {n} | {f'{100 * full / n:.0f}%' if n else '-'} |")
    lines += ['', '## Checks failed most often', '',
              'A check with no verdict (its file missing, or not loading) counts as failed, with the reason.', '',
              '| check | item | failed in | most common message (first line) |', '|---|---|---|---|']
    item_of = {(kind, what): name for name, _, kind, what in items}
    failed = failed_most(items, graded_by, graded)
    lines += [] if failed else ['| none | | | |']
    for (kind, what), count, message in failed:
        lines.append(f"| {cell(f'{kind} {what}')} | {cell(item_of.get((kind, what), '(no points)'))} "
                     f"| {count} of {n} | {cell(message)} |")
    late = sorted(submission for submission, row in rows.items() if row['late'])
    lines += ['', '## Late, the same code, not graded', '',
              f"- Late: {len(late)}" + (f" ({', '.join(late)})" if late else '')]
    for name, sets in groups.items():
        members = sum(len(members) for members in sets)
        lines.append(f'- The same `{name}`: ' + (f"{len(sets)} group{'s' * (len(sets) > 1)}, {members} submissions ("
                                                  + '; '.join(', '.join(m) for m in sets) + ')' if sets else 'none'))
    lines.append(f'- Not graded: {len(left_out)}')
    lines += [f"  - {submission}: {' '.join(str(rows[submission]['status']).split())}" for submission in left_out]
    return '\n'.join(lines) + '\n'


def picture(path, items, rows):
    """Write a PNG at `path`: the histogram of totals (left), each item's share of full marks (right).
    Returns False, writing nothing, where matplotlib cannot be imported."""
    try:  # an optional extra (requirements-plot.txt): the grader needs NumPy only
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    graded = graded_only(rows)
    n, maximum = len(graded), rubric.possible(items)['total']
    figure = Figure(figsize=(10, 4), dpi=100, layout='constrained')
    FigureCanvasAgg(figure)  # Agg without pyplot: no global backend, no window, safe in threads
    totals_axes, items_axes = figure.subplots(1, 2, width_ratios=[1, 1.25])
    bins = histogram([row['total'] for row in graded.values()], maximum)
    totals_axes.bar([low for _, low, _, _ in bins], [count for *_, count in bins], width=bins[0][2],
                    align='edge', color='C0', edgecolor='white')
    totals_axes.axvline(maximum, color='C3', linestyle='--', label=f'maximum: {maximum:g} points')
    if graded:
        mean = statistics.mean(row['total'] for row in graded.values())
        totals_axes.axvline(mean, color='black', linestyle=':', label=f'mean: {mean:.1f}')
    totals_axes.set_xlim(0, (bins[-1][1] + bins[-1][2]) * 1.03)  # the maximum's line clear of the frame
    totals_axes.set(xlabel='total (points)', ylabel='submissions', title='Totals')
    totals_axes.yaxis.get_major_locator().set_params(integer=True)
    totals_axes.legend(loc='upper left', fontsize=8)
    marks = full_marks(items, graded)
    shares = [100 * full / n if n else 0 for _, _, full in marks]
    items_axes.barh(range(len(marks)), shares, color='C2')
    items_axes.set_yticks(range(len(marks)), [name for name, _, _ in marks], fontsize=8)
    for y, (_, _, full) in enumerate(marks):
        items_axes.text(1, y, f'{full} of {n}', va='center', fontsize=7, color='white' if full else 'black')
    items_axes.invert_yaxis()  # the rubric's first item on top
    items_axes.set(xlim=(0, 100), xlabel='% of submissions with full marks', title='Full marks per item')
    left_out = len(rows) - n
    figure.suptitle(f'{n} submissions graded' + (f' ({left_out} not graded, left out)' if left_out else ''))
    write_atomically(path, lambda f: figure.savefig(f, format='png'), binary=True)
    return True
