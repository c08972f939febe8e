"""The checks by group: what students write, what the course gives (--all), --pipeline, and a driver's."""
from harness.checker import driver, given, pipeline, student
from harness.course import RUNS

GROUPS = {'student': student.CHECKS, 'given': given.CHECKS, 'pipeline': pipeline.CHECKS,
          'driver': driver.CHECKS, 'driver_pipeline': [driver.PIPELINE[run.question] for run in RUNS]}
