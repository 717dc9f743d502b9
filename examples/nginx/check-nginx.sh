#!/usr/bin/env bash
# Checks an nginx config example with `nginx -t`, without root and without touching
# /etc/nginx: the config is copied to a temp dir with a throwaway self-signed
# certificate beside it (tls/rt-api.crt, tls/rt-api.key, as the example names
# them), and nginx runs with that dir as its prefix, the pid file in it and the
# error log on stderr.
# Usage: check-nginx.sh CONF. Exit 0 when nginx accepts it, 1 when it does not,
# 77 (the test's SKIP_RETURN_CODE) when nginx is not installed.
set -euo pipefail

conf=${1:?usage: check-nginx.sh CONF}
nginx=$(command -v nginx || true)
[[ -z "$nginx" && -x /usr/sbin/nginx ]] && nginx=/usr/sbin/nginx
if [[ -z "$nginx" ]]; then
  echo "check-nginx: nginx is not installed (scripts/install-deps.sh installs nginx-light): skipped"
  exit 77
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/conf/tls"
cp "$conf" "$dir/conf/rt-api.conf"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -keyout "$dir/conf/tls/rt-api.key" -out "$dir/conf/tls/rt-api.crt" 2>/dev/null
"$nginx" -t -p "$dir" -c "$dir/conf/rt-api.conf" -e stderr -g "pid $dir/nginx.pid;"
