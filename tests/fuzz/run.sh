#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for SECONDS each, one after the other
# (`make fuzz`; tests/fuzz/README.md). Fails on the first crash, leak, timeout or
# out-of-memory and prints the reproducer's path and the command that replays it.
#
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# The seed corpus (tests/fuzz/corpus/NAME) is only read: new inputs go to
# BUILD_DIR/fuzz-corpus/NAME, reproducers to BUILD_DIR/fuzz-artifacts/NAME/.
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir=$1
seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(event_query http_session batch_codec worker_answers config)

# The dictionary of a target, if it has one.
dict_of() {
  case $1 in
    http_session) echo tests/fuzz/dict/http.dict ;;
    worker_answers | config) echo tests/fuzz/dict/json.dict ;;
  esac
}

# Bigger inputs where the parser's real inputs are bigger: several pipelined
# requests, a config file.
max_len_of() {
  case $1 in
    http_session | config) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

for name in "${targets[@]}"; do
  binary=$build_dir/tests/fuzz/fuzz_$name
  corpus=$build_dir/fuzz-corpus/$name
  artifacts=$build_dir/fuzz-artifacts/$name/
  mkdir -p "$corpus" "$artifacts"
  args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -max_len="$(max_len_of "$name")" -artifact_prefix="$artifacts")
  dict=$(dict_of "$name")
  [ -z "$dict" ] || args+=(-dict="$dict")
  echo "== fuzz $name for ${seconds}s"
  # Marks the run's start, so that only this run's reproducers are reported.
  stamp=$artifacts/.started
  touch "$stamp"
  if ! "$binary" "${args[@]}" "$corpus" "tests/fuzz/corpus/$name" >"$build_dir/fuzz-$name.log" 2>&1; then
    tail -n 60 "$build_dir/fuzz-$name.log"
    echo "fuzz $name FAILED (full log: $build_dir/fuzz-$name.log)" >&2
    find "$artifacts" -type f -newer "$stamp" ! -name .started | while read -r repro; do
      echo "reproducer: $repro" >&2
      echo "replay:     $binary $repro" >&2
    done
    exit 1
  fi
  grep -E '^(stat::|Done |#[0-9]+[[:space:]]+DONE)' "$build_dir/fuzz-$name.log" || true
done
