# Sourced by the question scripts: sets PYTHON, the interpreter they run.
# $PYTHON when set; else the virtual environment .venv that the README's commands make; else python3.
if [[ -z ${PYTHON:-} ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHON
