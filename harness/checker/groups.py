"""The checks by group: what students write, what the course gives (--all), and --pipeline."""
from harness.checker import given, pipeline, student

GROUPS = {'student': student.CHECKS, 'given': given.CHECKS, 'pipeline': pipeline.CHECKS}
