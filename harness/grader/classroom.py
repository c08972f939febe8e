"""A class graded, as grade.py runs it: each submission graded (grading.grade_submission), or its
stored grading reused where nothing that decides it changed (store.py), then scored.

Each grading is stored the moment it ends, so that an interrupted run (Ctrl-C) keeps what it
finished; what was going on when it stopped is dropped, never stored half-done.
"""
import concurrent.futures
import sys
import time

from harness.grader import rubric, rules
from harness.grader.grading import grade_submission
from harness.grader.store import OTHER_GRADER, files_key


class Interrupted(Exception):
    """Grading stopped part-way (Ctrl-C); the message says what was kept."""


def plan(entries, ids, store, fresh=False, only=()):
    """({submission: stored grading}, [(submission, entry, files digest)] to grade, {why: [submissions]}
    graded again, or reused though another grader made them). `fresh`: none is reused; `only`: those
    named are graded, and the others reused whenever their files are those stored, whatever grader
    stored them."""
    reused, to_grade, why = {}, [], {}
    for submission, entry in zip(ids, entries):
        files = files_key(entry.path)
        stored, reason = (None, None) if fresh or submission in only else store.load(submission, files, bool(only))
        if stored is None:
            to_grade.append((submission, entry, files))
        else:
            reused[submission] = stored
        if reason:
            why.setdefault(reason, []).append(submission)
    return reused, to_grade, why


def grade_class(to_grade, store, sandbox, templates, jobs, progress):
    """{submission: (graded, status, texts)} of the submissions `to_grade`, `jobs` at a time, each
    stored as it ends and passed to progress(done, total, submission, grading, elapsed)."""
    gradings, started, unkept = {}, time.monotonic(), set()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(grade_submission, entry.path, sandbox, templates): (submission, files)
                   for submission, entry, files in to_grade}
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            submission, files = futures[future]
            gradings[submission] = future.result()
            try:
                store.save(submission, files, gradings[submission])
            except OSError as error:
                if not unkept:  # said once: the grading goes on, and the table is written as ever
                    print(f'grade.py: warning: cannot keep the gradings in {store.folder} ({error.strerror}): '
                          f'a rerun will grade them again', file=sys.stderr)
                unkept.add(submission)
            progress(done, len(to_grade), submission, gradings[submission], time.monotonic() - started)
    except KeyboardInterrupt:
        sandbox.stop()  # the gradings going on end now, and none of them is kept
        pool.shutdown(wait=True, cancel_futures=True)
        raise Interrupted(f'interrupted: {len(set(gradings) - unkept)} of the {len(to_grade)} gradings of this run '
                          f'ended and are kept in {store.folder}; run the same command again to grade the rest') from None
    pool.shutdown()
    return gradings


def row(items, submission, entry, grading, templates, overrides):
    """The CSV row of a submission from its grading: its rules checked again (against `templates`,
    which may have changed since it was stored), scored by the rubric, with the staff's `overrides`."""
    graded, status, texts = grading
    if status == 'graded':
        graded['rule'] = rules.check(texts, templates)
    scored = rubric.score(items, graded, overrides)
    scored['notes'] = '; '.join(note for note in (scored['notes'], entry.note) if note)
    return {'submission': submission, 'canvas_id': entry.canvas_id, 'late': 'late' if entry.late else '',
            **scored, 'status': status}


def say_why(why, out=sys.stderr):
    """One line for each reason a stored grading is not reused (or is, made by another grader),
    naming a few of the submissions."""
    for reason, submissions in why.items():
        submissions = sorted(submissions)
        named = ', '.join(submissions[:5]) + (f' and {len(submissions) - 5} more' if len(submissions) > 5 else '')
        doing = 'using the stored grading of' if reason == OTHER_GRADER else 'grading'
        print(f'grade.py: {doing} {named} again: {reason}', file=out)
