#!/usr/bin/env bash
# Instances on separate hosts: PostgreSQL, three commerce-server instances and the load generator,
# each in a network namespace of its own (its own interfaces, addresses and loopback), joined by veth
# pairs to a bridge in one more namespace. Only addresses this script assigns (a 10.231.N.0/24 that
# exists inside its namespaces alone; the machine's own network is not touched), all removed at exit.
#
#   scripts/multihost.sh [BIN_DIR]     BIN_DIR holds commerce-server and commerce-load (.build/debug)
#
# Checks, with calls from the load generator's host rotating over the three instances:
#   1. flash sale: 2,000 users race for 100 coupons and order with them: exactly 100 issued and used;
#   2. hot product: 1,000 buyers race for 100 units: exactly 100 orders;
#   3. one instance SIGKILLed mid-run under sustained orders: every acknowledged order is in the
#      database and nothing beyond the calls left unanswered, the other two keep serving (a run
#      against them alone has no error);
# and after each, the load generator's invariant check (through the API and AdminService/Audit) and
# `commerce-server audit` on the database.
# Exit 0: all held. 1: a check failed. 77: this machine cannot make network namespaces (skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${1:-.build/debug}" && pwd)
skip() { echo "multihost: SKIPPED: $*" >&2; exit 77; }
fail() { echo "multihost: FAILED: $*" >&2; exit 1; }
say() { echo "multihost: $*" >&2; }
[[ $(id -u) -eq 0 ]] || skip "network namespaces need root"
command -v ip >/dev/null || skip "no ip command (iproute2)"
[[ -x $BIN/commerce-server && -x $BIN/commerce-load ]] || fail "no commerce-server and commerce-load in $BIN"

TAG=cm$$                                # names of this run's namespaces and links
SUBNET=10.231.$((RANDOM % 250 + 1))
WORK=$(mktemp -d /tmp/commerce-multihost.XXXXXX)
chmod 755 "$WORK"                       # the postgres user reaches its cluster folder in it
SERVERS=()
cleanup() {
  set +e
  for pid in "${SERVERS[@]}"; do kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  ip netns exec "${TAG}db" scripts/postgres.sh stop "$WORK/pg" 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$TAG"); do ip netns del "$ns"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "${TAG}net" 2>/dev/null || skip "ip netns add failed (no CAP_SYS_ADMIN here?)"
ip -n "${TAG}net" link add br0 type bridge
ip -n "${TAG}net" link set br0 up

host() {  # name last-octet: a namespace with eth0 at $SUBNET.octet, cabled to the bridge
  ip netns add "$TAG$1"
  ip -n "${TAG}net" link add "p$TAG$1" type veth peer name eth0 netns "$TAG$1"
  ip -n "${TAG}net" link set "p$TAG$1" master br0 up
  ip -n "$TAG$1" addr add "$SUBNET.$2/24" dev eth0
  ip -n "$TAG$1" link set eth0 up
  ip -n "$TAG$1" link set lo up
}
host db 2; host s1 11; host s2 12; host s3 13; host ld 20
say "hosts: PostgreSQL $SUBNET.2, instances $SUBNET.11-13, load generator $SUBNET.20 (namespaces $TAG*)"

# Tokens as deployed: every instance verifies with one key set; the load generator acts as a service.
"$BIN/commerce-server" keys add --file "$WORK/auth-keys.json" >/dev/null
export COMMERCE_AUTH_KEYS="$WORK/auth-keys.json"
COMMERCE_TOKEN=$("$BIN/commerce-server" token --keys "$WORK/auth-keys.json" --service multihost --ttl 1h)
export COMMERCE_TOKEN
DB_URL=$(ip netns exec "${TAG}db" scripts/postgres.sh start "$WORK/pg" 5432 "$SUBNET.2")
DB=${DB_URL%/*}/commerce
ip netns exec "${TAG}db" psql -q "$DB_URL" -c "CREATE DATABASE commerce"
ip netns exec "${TAG}s1" "$BIN/commerce-server" migrate --db "$DB" >/dev/null

start_instance() {  # n: instance n on its host, port 7070
  rm -f "$WORK/port-$1.json"
  ip netns exec "${TAG}s$1" "$BIN/commerce-server" serve --db "$DB" --host "$SUBNET.1$1" --port 7070 --metrics-port=-1 \
    --admin-token multihost --log-level warning --port-file "$WORK/port-$1.json" >>"$WORK/server-$1.log" 2>&1 &
  SERVERS[$1]=$!
  for _ in $(seq 600); do [[ -s "$WORK/port-$1.json" ]] && return; sleep 0.05; done
  fail "instance $1 did not start: $(tail -5 "$WORK/server-$1.log")"
}
for n in 1 2 3; do start_instance "$n"; done

load() {  # output-file first-instance other-instances commerce-load-arguments...
  local out=$1 first=$2 others=$3
  shift 3
  ip netns exec "${TAG}ld" "$BIN/commerce-load" --host "$SUBNET.1$first" --port 7070 --also-targets "$others" \
    --admin-token multihost --json --quiet --warmup 0 "$@" >"$out"
}
field() {  # report python-expression over d (the report)
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
ok_calls() { field "$1" "d['methods'].get('$2', {'count': 0, 'errors': {}})['count'] - sum(d['methods'].get('$2', {'errors': {}})['errors'].values())"; }
audit() {
  ip netns exec "${TAG}s1" "$BIN/commerce-server" audit --db "$DB" >"$WORK/audit.txt" 2>&1 || fail "audit: $(cat "$WORK/audit.txt")"
}
ALL_OTHERS="$SUBNET.12:7070,$SUBNET.13:7070"

say "1. flash sale over three instances: 2,000 users, 100 coupons"
load "$WORK/flash.json" 1 "$ALL_OTHERS" --scenario flash-sale --users 2000 --coupons 100 --concurrency 64 --connections 2 --requests 2000 \
  || fail "flash sale: invariants broken (exit $?)"
[[ $(field "$WORK/flash.json" "d['invariants']") == hold ]] || fail "flash sale: invariants $(field "$WORK/flash.json" "d['invariants_broken']")"
used=$(ok_calls "$WORK/flash.json" "IssueCoupon+PlaceOrder")
[[ $used == 100 ]] || fail "flash sale: $used coupons issued and used, not 100"
audit
say "   exactly 100 coupons issued and used; invariants hold; audit clean"

say "2. hot product over three instances: 1,000 buyers, 100 units"
load "$WORK/hot.json" 1 "$ALL_OTHERS" --scenario hot-product --users 1000 --stock 100 --concurrency 64 --connections 2 --requests 1000 \
  || fail "hot product: invariants broken (exit $?)"
[[ $(field "$WORK/hot.json" "d['invariants']") == hold ]] || fail "hot product: invariants $(field "$WORK/hot.json" "d['invariants_broken']")"
sold=$(ok_calls "$WORK/hot.json" PlaceOrder)
[[ $sold == 100 ]] || fail "hot product: $sold orders, not 100"
audit
say "   exactly 100 sold; invariants hold; audit clean"

say "3. sustained orders over three instances; instance 2 SIGKILLed after 3 s"
load "$WORK/kill.json" 1 "$ALL_OTHERS" --scenario order --users 300 --concurrency 48 --connections 2 --duration 8 &
loader=$!
sleep 3
kill -9 "${SERVERS[2]}"
wait "${SERVERS[2]}" 2>/dev/null || true
unset 'SERVERS[2]'
wait "$loader" || fail "orders with a killed instance: the load generator failed (exit $?): $(cat "$WORK/kill.json")"
[[ $(field "$WORK/kill.json" "d['invariants']") == hold ]] || fail "kill: invariants $(field "$WORK/kill.json" "d['invariants_broken']")"
acknowledged=$(ok_calls "$WORK/kill.json" PlaceOrder)
stored=$(ip netns exec "${TAG}db" psql -qtA "$DB" -c \
  "SELECT count(*) FROM order_lines l JOIN products p ON p.id = l.product_id WHERE p.name = 'everyday product 0'")
((acknowledged > 0)) || fail "kill: no order was acknowledged"
((stored >= acknowledged)) || fail "kill: $acknowledged orders acknowledged but $stored stored"
unknown=$(field "$WORK/kill.json" "d['methods']['PlaceOrder']['unknown']")
((stored <= acknowledged + unknown)) || fail "kill: $stored stored, more than $acknowledged acknowledged + $unknown unanswered"
outcomes=$(field "$WORK/kill.json" "f\"{d['failed']} failed, {d['unknown']} unknown: \" + (', '.join(f'{n} {r}' for r, n in d['methods']['PlaceOrder']['errors'].items()) or 'none')")
say "   $acknowledged orders acknowledged, $stored stored (an unknown call — in flight on the killed instance — may have committed); $outcomes"
load "$WORK/after.json" 1 "$SUBNET.13:7070" --scenario order --users 50 --concurrency 16 --connections 1 --duration 2 \
  || fail "the surviving instances: invariants broken"
errors=$(field "$WORK/after.json" "sum(sum(m['errors'].values()) for m in d['methods'].values())")
served=$(ok_calls "$WORK/after.json" PlaceOrder)
((errors == 0 && served > 0)) || fail "the surviving instances: $served orders, $errors errors"
audit
say "   instances 1 and 3 kept serving: $served orders, 0 errors; audit clean"
say "all held"
