#!/usr/bin/env bash
# How long a fresh clone takes from `make lab` to a JupyterLab that answers: the first
# impression of the kit. Run it twice: the first run fills the package cache, the second is the
# figure that counts (warm cache, as on a student's second try or a classroom machine).
# It prints the wall-clock time, the load average it was measured under, and the CPU time of
# everything `make lab` ran (which a busy machine does not inflate).
#   tools/time-make-lab.sh [REPO] [REVISION]   (default: this checkout, its current commit)
set -euo pipefail
repo=${1:-$(git rev-parse --show-toplevel)}
revision=${2:-$(git -C "$repo" rev-parse HEAD)}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
workdir=$(mktemp -d)
lab_pid=
trap '[ -n "$lab_pid" ] && kill -- -"$lab_pid" 2>/dev/null; rm -rf "$workdir"' EXIT
git clone --quiet "$repo" "$workdir/jwtlab"
cd "$workdir/jwtlab"
git checkout --quiet "$revision"
start=$(date +%s.%N)
set -m  # own process group, so the trap can stop make, JupyterLab and its kernels together
/usr/bin/time -f '%U %S' -o "$workdir/cpu" make lab NO_BROWSER=1 LAB_PORT="$port" >"$workdir/lab.log" 2>&1 &
lab_pid=$!
set +m
deadline=$(( $(date +%s) + 900 ))
until curl -fsS "http://127.0.0.1:$port/api" >/dev/null 2>&1; do
  if ! kill -0 "$lab_pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
    echo "make lab stopped or took over 900 s; its log:" >&2; cat "$workdir/lab.log" >&2; exit 1
  fi
  sleep 0.2
done
end=$(date +%s.%N)
load=$(cut -d' ' -f1-3 /proc/loadavg)
# Stop JupyterLab (the one process of this group listening on our port) so that make, and
# time with it, finish and report the CPU used by the whole run.
jupyter_pid=$(pgrep -g "$lab_pid" -f "jupyter-lab .*--port=$port" | head -1)
kill "$jupyter_pid"
wait "$lab_pid" 2>/dev/null || true
lab_pid=
cpu=$(awk '{printf "%.1f", $1 + $2}' "$workdir/cpu")
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
echo "make lab on a fresh clone at ${revision:0:12}: JupyterLab answered after $elapsed s;" \
     "CPU $cpu s (user+sys); load average $load on $(nproc) cores"
