#!/usr/bin/env bash
# Runs examples/local-cluster.json on this machine: two workers and one API node,
# in the foreground, until Ctrl-C. Called by `make run`; usable on its own:
#
#   examples/run-local-cluster.sh build/cli/rtctl
#
# Data, logs, the pseudonymization secret and the workers' key (both mode 0600)
# live under ./run/ (git-ignored), so a second run continues with the data of the
# first. Exits 0 after Ctrl-C (or SIGTERM) has stopped every node, 1 if a node could
# not start or died, 2 on a usage error.
#
# Environment (all optional):
#   RT_API_PORT=8080           the API node's port
#   RT_WORKER_PORTS=9000,9001  the two workers' ports (worker 0, worker 1)
#   RT_RUN_DIR=run             data, logs and secret (relative to the repo root)
#   RT_CONFIG=file             `etcd`: start a single-member etcd (Debian's etcd-server)
#                              with its data in $RT_RUN_DIR/etcd, put the config there
#                              (key rt/local-cluster; a value kept from an earlier run
#                              stays) and run the nodes on etcd://127.0.0.1:PORT/rt/local-cluster
#   RT_ETCD_PORTS=2379,2380    etcd's client and peer ports (RT_CONFIG=etcd)
# With other ports than 8080/9000/9001, the config is a copy of
# examples/local-cluster.json with those ports, written to $RT_RUN_DIR/local-cluster.json.
# The routing never changes, so data kept under one set of ports is still read
# correctly under another.
set -euo pipefail

usage() { echo "usage: $0 PATH_TO_RTCTL" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
[[ -x $1 ]] || { echo "run-local-cluster: $1 is not an executable rtctl (run make first)" >&2; exit 1; }
rtctl="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
cd "$(dirname "$0")/.."

# How to show rtctl in the hints: relative to the repo root when it is inside it.
shown_rtctl=${rtctl#"$PWD"/}
example_config=examples/local-cluster.json
run_dir=${RT_RUN_DIR:-run}
api_port=${RT_API_PORT:-8080}
IFS=', ' read -r -a worker_ports <<<"${RT_WORKER_PORTS:-9000,9001}"
worker_ids=(0 1)
ready_timeout_s=30
stop_timeout_s=15

valid_port() { [[ $1 =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )); }
valid_port "$api_port" || { echo "run-local-cluster: RT_API_PORT=$api_port is not a port" >&2; exit 2; }
config_source=${RT_CONFIG:-file}
IFS=', ' read -r -a etcd_ports <<<"${RT_ETCD_PORTS:-2379,2380}"
case $config_source in
  file) etcd_ports=() ;;
  etcd)
    command -v etcd >/dev/null || { echo "run-local-cluster: RT_CONFIG=etcd needs etcd (apt-get install etcd-server)" >&2; exit 1; }
    if (( ${#etcd_ports[@]} != 2 )) || ! valid_port "${etcd_ports[0]}" || ! valid_port "${etcd_ports[1]}"; then
      echo "run-local-cluster: RT_ETCD_PORTS needs two ports (client, peer), got '${RT_ETCD_PORTS:-}'" >&2
      exit 2
    fi ;;
  *) echo "run-local-cluster: RT_CONFIG=$config_source: expected file or etcd" >&2; exit 2 ;;
esac
if (( ${#worker_ports[@]} != 2 )); then
  echo "run-local-cluster: RT_WORKER_PORTS needs exactly two ports (worker 0, worker 1), got '${RT_WORKER_PORTS:-}'" >&2
  exit 2
fi
for port in "${worker_ports[@]}"; do
  valid_port "$port" || { echo "run-local-cluster: RT_WORKER_PORTS: $port is not a port" >&2; exit 2; }
done
api_url=http://127.0.0.1:$api_port

[[ -f $example_config ]] || { echo "run-local-cluster: $example_config not found" >&2; exit 1; }
mkdir -p "$run_dir"
config=$example_config
if [[ "$api_port ${worker_ports[*]}" != "8080 9000 9001" ]]; then
  # The example's node URLs with the chosen ports; everything else as it is.
  config=$run_dir/local-cluster.json
  sed -e "s|127\.0\.0\.1:8080/|127.0.0.1:$api_port/|" \
      -e "s|127\.0\.0\.1:9000/|127.0.0.1:${worker_ports[0]}/|" \
      -e "s|127\.0\.0\.1:9001/|127.0.0.1:${worker_ports[1]}/|" \
      "$example_config" >"$config.tmp"
  mv "$config.tmp" "$config"
fi

# A port is busy if something accepts connections on it.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
busy=0
for port in "${worker_ports[@]}" "$api_port" "${etcd_ports[@]}"; do
  if port_busy "$port"; then
    echo "run-local-cluster: port $port on 127.0.0.1 is already in use (another rt, or: ss -ltnp 'sport = :$port')" >&2
    busy=1
  fi
done
(( busy == 0 )) || exit 1

"$rtctl" validate-config "$config" >/dev/null

secret_file=$run_dir/secret
if [[ ! -s $secret_file ]]; then
  # Every API node of a cluster must share the secret; here there is one node,
  # but keeping it across runs keeps each user's key stable over restarts.
  (
    umask 077
    if command -v openssl >/dev/null; then
      openssl rand -hex 32 >"$secret_file"
    else
      od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$secret_file"
      echo >>"$secret_file"
    fi
  )
fi
chmod 600 "$secret_file"
# The workers never see the secret: they check the API node's signed requests with
# the worker key derived from it (docs/design.md §3).
worker_key_file=$run_dir/worker-key
(
  umask 077
  "$rtctl" worker-key --secret-file "$secret_file" >"$worker_key_file.tmp"
  mv "$worker_key_file.tmp" "$worker_key_file"
)
chmod 600 "$worker_key_file"

pids=()
names=()
logs=()

# shellcheck disable=SC2317  # invoked from the traps
stop_all() {
  local code=$1
  trap - INT TERM EXIT
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + stop_timeout_s))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "run-local-cluster: process $pid did not stop within ${stop_timeout_s}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  exit "$code"
}
trap 'echo; echo "run-local-cluster: stopping..."; stop_all 0' INT TERM
trap 'stop_all 1' EXIT

# start NAME LOG ARGS...: starts one node in the background, logging to LOG
# (`--etcd ARGS...`: etcd instead of rtctl).
start() {
  local name=$1 log=$2
  shift 2
  local program=$rtctl
  if [[ $1 == --etcd ]]; then program=etcd; shift; fi
  "$program" "$@" >"$log" 2>&1 &
  pids+=("$!")
  names+=("$name")
  logs+=("$log")
}

# wait_ready INDEX: waits until node INDEX prints its ready line.
wait_ready() {
  local i=$1
  local deadline=$((SECONDS + ready_timeout_s))
  until grep -q "listening on " "${logs[$i]}" 2>/dev/null; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "run-local-cluster: ${names[$i]} exited during start; last lines of ${logs[$i]}:" >&2
      tail -n 5 "${logs[$i]}" >&2 || true
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      echo "run-local-cluster: ${names[$i]} printed no ready line within ${ready_timeout_s}s; see ${logs[$i]}" >&2
      exit 1
    fi
    sleep 0.1
  done
}

if [[ $config_source == etcd ]]; then
  # A single-member etcd for trying the config in etcd; its client port also serves
  # the v3 JSON gateway the nodes use (on by default when etcd is started with flags,
  # not with a config file: docs/operations.md).
  etcd_url=http://127.0.0.1:${etcd_ports[0]}
  peer_url=http://127.0.0.1:${etcd_ports[1]}
  start "etcd" "$run_dir/etcd.log" --etcd --name rt-local --data-dir "$run_dir/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
    --initial-cluster "rt-local=$peer_url"
  location=etcd://127.0.0.1:${etcd_ports[0]}/rt/local-cluster
  deadline=$((SECONDS + ready_timeout_s))
  until "$rtctl" config get "$location" >/dev/null 2>"$run_dir/etcd-get.err" \
        || grep -q "no such key" "$run_dir/etcd-get.err"; do
    if ! kill -0 "${pids[0]}" 2>/dev/null || (( SECONDS >= deadline )); then
      echo "run-local-cluster: etcd did not start; last lines of $run_dir/etcd.log:" >&2
      tail -n 5 "$run_dir/etcd.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  if grep -q "no such key" "$run_dir/etcd-get.err"; then
    "$rtctl" config put "$location" "$config" --worker-key-file "$worker_key_file" --offline >/dev/null
  else
    echo "run-local-cluster: keeping the config already in $location (rtctl config get $location)"
  fi
  config=$location
fi

for i in "${!worker_ids[@]}"; do
  id=${worker_ids[$i]}
  start "worker $id" "$run_dir/worker-$id.log" serve-worker --config "$config" --node "$id" \
    --data-dir "$run_dir/worker-$id" --worker-key-file "$worker_key_file"
done
start "API node 0" "$run_dir/api-0.log" serve-api --config "$config" --node 0 \
  --secret-file "$secret_file" --spool-dir "$run_dir/api-0-spool"
first_node=0  # etcd (when started) has no ready line; it answered above
[[ $config_source == etcd ]] && first_node=1
for i in "${!pids[@]}"; do (( i < first_node )) || wait_ready "$i"; done

cat <<INFO
rt local cluster is running ($config):
  API node 0  $api_url/analytics  spool $run_dir/api-0-spool, log $run_dir/api-0.log
$(for i in "${!worker_ids[@]}"; do
    id=${worker_ids[$i]}
    echo "  worker $id    http://127.0.0.1:${worker_ports[$i]}/worker  data $run_dir/worker-$id, log $run_dir/worker-$id.log"
  done)

Try, in another terminal:
  $shown_rtctl send --api $api_url --user alice --click
  $shown_rtctl query --api $api_url --fresh
  curl -i -X POST "$api_url/analytics?timestamp=\$(date +%s%3N)&user=bob&impression"
  curl -H 'Cache-Control: no-cache' "$api_url/analytics?timestamp=\$(date +%s%3N)"

Ctrl-C (or kill -TERM $$) stops the cluster.
INFO

# Stay in the foreground until Ctrl-C, or until a node dies on its own.
set +e
wait -n "${pids[@]}"
status=$?
set -e
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "run-local-cluster: ${names[$i]} exited with status $status; see ${logs[$i]}" >&2
  fi
done
exit 1
