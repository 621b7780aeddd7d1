#!/usr/bin/env bash
# Builds the release binaries (gateway, mock upstream, harness) and runs the
# load harness; every argument goes to modelgate-bench, for example
#   bench/run.sh --concurrency 1,16,64 --duration 5s --litellm
#   bench/run.sh --postgres --scenarios gateway-pg,gateway-api-key-pg --concurrency 1,16
# (--postgres starts a durable throwaway PostgreSQL cluster with
# scripts/pg-cluster and stops it at the end: `scripts/pg-cluster install`
# first if the postgresql package is missing.)
# Gateway, mock and load generator share this machine's CPUs; nothing is
# pinned. Results: bench/results/results.{md,json} (or --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

# 1,000 open streams need about 2,000 descriptors in the gateway and 1,000
# in each of the load generator and the mock: raise the soft limit.
want=8192
soft=$(ulimit -Sn)
if [ "$soft" != unlimited ] && [ "$soft" -lt "$want" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
    ulimit -Sn "$want"
  else
    ulimit -Sn "$hard"
  fi
fi

cargo build --release -p modelgate -p modelgate-mock -p modelgate-bench
exec cargo run --quiet --release -p modelgate-bench -- "$@"
