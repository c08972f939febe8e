#!/usr/bin/env bash
# Run the seven question scripts (30 epochs each) and write outputs/*.json.
#   scripts/run_all.sh         one after another
#   scripts/run_all.sh -j 2    two at a time, one BLAS thread each
# The longest runs start first. Each run's log goes to outputs/logs/QUESTION.log; every
# $PROGRESS_SECONDS (default 10) seconds a line shows the epoch each running question has reached.
# At the end: the total wall time, the report of scripts/report.py and, when matplotlib is
# installed, outputs/curves.png.
# Every step runs under $PYTHON, or the README's .venv, or python3 (scripts/python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh

jobs=1
while getopts "j:" opt; do
  case $opt in
    j) jobs=$OPTARG ;;
    *) echo "usage: $0 [-j N]" >&2; exit 2 ;;
  esac
done
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: -j takes a whole number >= 1, got '$jobs'" >&2
  exit 2
fi

questions=(q310 q38 q37 q33 q34 q35 q36)  # longest first, so that no long run is left alone at the end
mkdir -p outputs/logs
rm -f outputs/logs/*.log outputs/logs/*.ended  # what is there belongs to a run of this call
if (( jobs > 1 )); then
  # One BLAS thread each; and each CNN run evaluates on a second CPU only if it has one to itself.
  export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 DNN_RUNS_AT_ONCE=$jobs
fi

seconds_since() {  # seconds since a `date +%s%N` stamp, one decimal
  local ms=$(( ($(date +%s%N) - $1) / 1000000 ))
  printf '%d.%d' $(( ms / 1000 )) $(( ms % 1000 / 100 ))
}
export -f seconds_since

start=$(date +%s%N)
run() {
  local q=$1 t0 status=0
  t0=$(date +%s%N)
  bash "scripts/$q.sh" > "outputs/logs/$q.log" 2>&1 || status=$?
  touch "outputs/logs/$q.ended"  # no longer shown as running
  if (( status != 0 )); then
    printf '%-5s FAILED, see outputs/logs/%s.log\n' "$q" "$q"
    return 1
  fi
  printf '%-5s done in %6s s: %s\n' "$q" "$(seconds_since "$t0")" "$(grep -m1 -o 'outputs/[^ ]*json' "scripts/$q.sh")"
}
export -f run

progress() {  # "q310 epoch 7/30, q38 epoch 12/30": the questions under way and their last finished epoch
  local q line=
  for q in "${questions[@]}"; do
    [[ -f outputs/logs/$q.log && ! -f outputs/logs/$q.ended ]] || continue
    line+="${line:+, }$q epoch $(grep -c '^At epoch ' "outputs/logs/$q.log" || true)/30"
  done
  echo "$line"
}

monitor() {  # print progress when it changed, until killed
  local shown= now
  while sleep "${PROGRESS_SECONDS:-10}"; do
    now=$(progress)
    if [[ -n $now && $now != "$shown" ]]; then
      printf '[%6s s] %s\n' "$(seconds_since "$start")" "$now"
      shown=$now
    fi
  done
}
monitor &
monitor_pid=$!
trap 'kill "$monitor_pid" 2>/dev/null || true' EXIT

status=0
printf '%s\n' "${questions[@]}" | xargs -P "$jobs" -I{} bash -c 'run {}' || status=1
kill "$monitor_pid" 2>/dev/null || true
echo "all seven runs: $(seconds_since "$start") s wall time (-j $jobs)"
echo
"$PYTHON" scripts/report.py || status=1
if "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
  "$PYTHON" scripts/plot_curves.py || status=1
else
  echo "(no plot: matplotlib is not installed for $PYTHON; $PYTHON -m pip install -r requirements-plot.txt," \
       "then $PYTHON scripts/plot_curves.py)"
fi
exit $status
