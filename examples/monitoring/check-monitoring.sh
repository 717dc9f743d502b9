#!/usr/bin/env bash
# The Prometheus side of examples/monitoring: promtool accepts the scrape config and
# the alert rules, and the rules' unit tests (rt-alerts.test.yml) pass. Exit 77
# (skipped) only where promtool is not installed (scripts/install-deps.sh installs
# the prometheus package, which has it).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v promtool >/dev/null; then
  echo "SKIPPED: promtool is not installed" >&2
  exit 77
fi
promtool check config prometheus.yml
promtool check rules rt-alerts.yml
promtool test rules rt-alerts.test.yml
