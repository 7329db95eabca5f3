#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks, from Debian's packages.
#   scripts/postgres.sh start DIR [PORT [ADDRESS]]
#                                          initdb a cluster in DIR (if new), start it on ADDRESS:PORT
#                                          (default 127.0.0.1:55432) and on a Unix socket in DIR; prints
#                                          its URL
#   scripts/postgres.sh stop DIR           stop it (fast shutdown)
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user that
# Debian's package creates. Authentication is `trust`, on loopback, the socket and — given an
# ADDRESS (scripts/multihost.sh: a private network of namespaces) — that address's /24.
set -euo pipefail
command=${1:?start|stop}
dir=${2:?cluster directory}
port=${3:-55432}
address=${4:-127.0.0.1}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bin/pg_ctl" ]] || { echo "PostgreSQL is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$command" in
  start)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log"
      # Tests race hundreds of clients; several instances share the server. A deadlock between two
      # group-commit transactions is found after deadlock_timeout (1 s by default): the store then
      # runs each write alone, so finding it sooner costs little (docs/scale-out.md).
      cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '$address'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 128MB
deadlock_timeout = 100ms
fsync = on
synchronous_commit = on
CONF
      if [[ $address != 127.0.0.1 ]]; then
        echo "host all all ${address%.*}.0/24 trust" >>"$dir/data/pg_hba.conf"
      fi
    fi
    # The server outlives this script: it must not inherit descriptors beyond 0-2 (a caller's pipe
    # or the socket a parent process watches for this script's exit would then never close).
    for fd in $(ls /proc/$$/fd); do
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    echo "postgres://postgres@$address:$port/postgres"
    ;;
  stop)
    [[ -f "$dir/data/postmaster.pid" ]] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
