#!/usr/bin/env bash
# Until the servers land, `make run` validates the local cluster config.
set -euo pipefail
rtctl=${1:?usage: run-local-cluster.sh PATH_TO_RTCTL}
cd "$(dirname "$0")/.."
exec "$rtctl" validate-config examples/local-cluster.json
