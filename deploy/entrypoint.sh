#!/bin/sh
# The container's entrypoint: `serve` checks the configuration first (smsdesk check-config: database, Redis,
# migrations, SMS providers, public URL; it exits non-zero on a problem and the container stops with its report),
# then runs the server. Any other arguments are an smsdesk command: `demo`, `migrate`, `users add ...`.
set -e
if [ "${1:-serve}" = "serve" ]; then
  [ "$#" -gt 0 ] && shift
  smsdesk check-config "$@"
  exec smsdesk serve "$@"
fi
exec smsdesk "$@"
