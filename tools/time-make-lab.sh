#!/usr/bin/env bash
# How long a fresh clone takes from `make lab` to a JupyterLab that answers: the first
# impression of the kit. Run it twice: the first run fills the package cache, the second is the
# figure that counts (warm cache, as on a student's second try or a classroom machine).
#   tools/time-make-lab.sh [REPO] [BRANCH]     (default: this checkout, its current branch)
set -euo pipefail
repo=${1:-$(git rev-parse --show-toplevel)}
branch=${2:-$(git -C "$repo" rev-parse --abbrev-ref HEAD)}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
workdir=$(mktemp -d)
trap 'kill -- -"$lab_pid" 2>/dev/null || true; rm -rf "$workdir"' EXIT
git clone --quiet --branch "$branch" "$repo" "$workdir/jwtlab"
cd "$workdir/jwtlab"
start=$(date +%s.%N)
set -m  # own process group, so the trap stops make, JupyterLab and its kernels together
make lab NO_BROWSER=1 LAB_PORT="$port" >"$workdir/lab.log" 2>&1 &
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
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)
python3 -c "print(f'make lab on a fresh clone of $branch: JupyterLab answered after {$end - $start:.1f} s (load average $load, {__import__(\"os\").cpu_count()} cores)')"
