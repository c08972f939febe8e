#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu): a virtual
# environment with NumPy, the grader's only dependency, beside the autograder's files; and the user
# that runs a submission's code (harness/checker/launch.py, STUDENT_USER), who may read neither the
# autograder's files (the answer key among them) nor its results.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-venv
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install -r /autograder/source/requirements.txt
id -u hw5student >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin hw5student
chmod 755 /autograder
chmod -R go-rwx /autograder/source
chmod -R go+rX /autograder/venv
