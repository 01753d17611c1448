#!/usr/bin/env bash
# bench/run.sh - smartdns against its peers, UDP throughput on 127.0.0.1 only.
#
# Every server runs alone, one after another, pinned to CPU $SERVER_CPU, on its
# own high port, from a config generated in a temp dir. dnsperf runs pinned to
# CPU $LOAD_CPU. For each server and query mix it reports qps, the latency
# figures dnsperf gives, and the server's CPU time per query and CPU
# utilisation (from /proc/PID/stat of the server's whole process tree).
# Then it times loading a zone of $BIG_RECORDS A records.
#
# Writes the report to bench/results/latest.md (and a dated copy).
# See bench/README.md. Tunables (environment):
#   DURATION=10 WARMUP=2 CLIENTS=4 OUTSTANDING=150 TIMEOUT=2 SERVER_CPU=0 LOAD_CPU=1
#   PEERS="knot nsd gdnsd" PORT_BASE=15300 BIG_RECORDS=1000000 LOADTEST=1
#   WAIT_IDLE=0 (seconds to wait for other load to stop before each server)
#   NO_INSTALL=1 (never call apt-get)  KEEP_TMP=1 (keep the temp dir)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-150}
TIMEOUT=${TIMEOUT:-2}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PEERS=${PEERS:-knot nsd gdnsd}
PORT_BASE=${PORT_BASE:-15300}
BIG_RECORDS=${BIG_RECORDS:-1000000}
LOADTEST=${LOADTEST:-1}
NO_INSTALL=${NO_INSTALL:-0}
KEEP_TMP=${KEEP_TMP:-0}
READY_TIMEOUT=${READY_TIMEOUT:-30}
WAIT_IDLE=${WAIT_IDLE:-0}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-600}

export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
export LC_ALL=C # decimal points in `times`, dnsperf and awk output
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

ZONE_FILE=$bench/zones/bench.example.zone
Q_MIX=$bench/queries.txt
Q_A=$bench/queries-a.txt
Q_GEO=$bench/queries-geo-ecs.txt
RESULTS_DIR=$bench/results

log() { printf '%s\n' "bench: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# root runs apt-get and writes policy-rc.d itself; anyone else needs sudo.
SUDO=""
if [[ $(id -u) != 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartdns-bench.XXXXXX")
declare -a started=() # PIDs of every server we started
policy_backup=""
policy_installed=0

stop_pid() { # stop_pid PID: TERM, wait up to 5 s, then KILL
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

restore_policy() {
	if ((policy_installed)); then
		if [[ -n $policy_backup ]]; then
			$SUDO cp -p "$policy_backup" /usr/sbin/policy-rc.d
		else
			$SUDO rm -f /usr/sbin/policy-rc.d
		fi
		policy_installed=0
	fi
}

cleanup() {
	local pid
	if [[ -n ${LOADGEN_PID:-} ]]; then stop_pid "$LOADGEN_PID"; fi
	for pid in "${started[@]}"; do
		stop_pid "$pid"
	done
	restore_policy
	if [[ $KEEP_TMP == 1 ]]; then
		log "kept temp dir $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- installs

can_install() {
	[[ $NO_INSTALL != 1 ]] && command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 || -n $SUDO ]]
}

# Debian starts a package's service from its postinst; a policy-rc.d that
# exits 101 forbids that. Any existing policy-rc.d is put back afterwards.
guard_services() {
	((policy_installed)) && return 0
	[[ $(id -u) == 0 || -n $SUDO ]] || return 0
	if [[ -e /usr/sbin/policy-rc.d ]]; then
		policy_backup=$tmp/policy-rc.d.orig
		cp -p /usr/sbin/policy-rc.d "$policy_backup"
	fi
	printf '#!/bin/sh\n# bench/run.sh: no service starts during install\nexit 101\n' |
		$SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	policy_installed=1
}

# With systemd as init, make sure the packaged services are neither running
# nor enabled (they would bind port 53 on every address).
stop_services() {
	local unit
	[[ -d /run/systemd/system ]] || return 0
	for unit in "$@"; do
		$SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
	done
}

updated=0
apt_install() { # apt_install PKG...: 0 when all installed
	local rc=0
	guard_services
	if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$tmp/apt.log" 2>&1; then
		if ((updated == 0)); then
			updated=1
			log "apt-get install $* failed; running apt-get update and retrying"
			$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$tmp/apt.log" 2>&1 || true
			$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$tmp/apt.log" 2>&1 || rc=1
		else
			rc=1
		fi
	fi
	restore_policy
	return $rc
}

ensure() { # ensure COMMAND PACKAGE [SERVICE]: 0 when COMMAND is available
	local cmd=$1 pkg=$2 svc=${3:-}
	command -v "$cmd" >/dev/null 2>&1 && return 0
	if ! can_install; then
		log "$cmd not found and cannot install $pkg (not root, no apt-get, or NO_INSTALL=1)"
		return 1
	fi
	log "installing $pkg"
	if ! apt_install "$pkg"; then
		log "could not install $pkg (see apt log below)"
		tail -n 5 "$tmp/apt.log" >&2 || true
	fi
	if [[ -n $svc ]]; then stop_services "$svc"; fi
	command -v "$cmd" >/dev/null 2>&1
}

ensure dnsperf dnsperf || die "dnsperf is required"
ensure dig bind9-dnsutils || die "dig (bind9-dnsutils) is required"
command -v taskset >/dev/null 2>&1 || ensure taskset util-linux || die "taskset is required"

declare -A peer_cmd=([knot]=knotd [nsd]=nsd [gdnsd]=gdnsd)
declare -a peers=()
for p in $PEERS; do
	[[ -n ${peer_cmd[$p]:-} ]] || {
		log "unknown peer $p (known: knot nsd gdnsd), skipped"
		continue
	}
	if ensure "${peer_cmd[$p]}" "$p" "$p"; then
		peers+=("$p")
	else
		log "peer $p skipped: package $p is not installable here"
	fi
done

for f in "$ZONE_FILE" "$Q_MIX" "$Q_A"; do
	[[ -s $f ]] || die "$f missing: run bench/gen-zone.sh"
done
if (($(nproc) < 2)); then
	log "warning: only $(nproc) CPU; server and dnsperf will share it"
	SERVER_CPU=0 LOAD_CPU=0
fi
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- builds

have_smartdns=0
log "building bin/smartdns (make build)"
if make -C "$root" --no-print-directory build >"$tmp/make-build.log" 2>&1 && [[ -x $root/bin/smartdns ]]; then
	have_smartdns=1
else
	log "smartdns SKIPPED: 'make build' failed (cmd/smartdns not written yet?); last lines:"
	tail -n 5 "$tmp/make-build.log" | sed 's/^/    /' >&2
fi

log "building bench/baremiekg"
(cd "$root" && go build -o "$tmp/bin/baremiekg" ./bench/baremiekg) || die "go build ./bench/baremiekg failed"

# ---------------------------------------------------------------- helpers

port_busy() { # port_busy PORT: someone listens on 127.0.0.1:PORT (udp)
	command -v ss >/dev/null 2>&1 || return 1
	[[ -n $(ss -Hlun "sport = :$1" 2>/dev/null) ]]
}

# TREE: the PIDs of the process tree rooted at $1 (nsd forks xfrd, main and
# server processes). Builtins only, so sampling costs next to no CPU.
declare -a TREE=()
tree_pids() {
	local p ppid line
	local -A kids=()
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		read -r line 2>/dev/null <"/proc/$p/stat" || continue
		line=${line##*) }
		read -r _ ppid _ <<<"$line"
		kids[$ppid]+=" $p"
	done
	TREE=("$1")
	local i=0
	while ((i < ${#TREE[@]})); do
		for p in ${kids[${TREE[i]}]:-}; do TREE+=("$p"); done
		i=$((i + 1))
	done
}

# TICKS: utime+stime in clock ticks summed over the tree rooted at $1 (each
# process's /proc/PID/stat already counts all of its threads).
TICKS=0
cpu_ticks() {
	local p line
	local -a f
	tree_pids "$1"
	TICKS=0
	for p in "${TREE[@]}"; do
		read -r line 2>/dev/null <"/proc/$p/stat" || continue
		line=${line##*) }
		read -r -a f <<<"$line"
		# after "pid (comm) ": f[0] is field 3 (state); utime=14, stime=15
		TICKS=$((TICKS + f[11] + f[12]))
	done
}

# From /proc/stat, in clock ticks: BUSY, what processes ran on all CPUs
# (user nice system) plus steal (the hypervisor running something else);
# SIRQ, interrupt and softirq time on all CPUs (loopback packet delivery is
# mostly softirq, and it is not charged to any process); SRV_IDLE, idle and
# iowait time of the server's CPU.
BUSY=0 SIRQ=0 SRV_IDLE=0
busy_ticks() {
	local cpu user nice system idle iowait irq softirq steal rest
	while read -r cpu user nice system idle iowait irq softirq steal rest; do
		case $cpu in
		cpu)
			BUSY=$((user + nice + system + steal))
			SIRQ=$((irq + softirq))
			;;
		"cpu$SERVER_CPU")
			SRV_IDLE=$((idle + iowait))
			break
			;;
		esac
	done </proc/stat
}

# CHILD_CS: CPU centiseconds used by this shell's finished children (the
# `times` builtin), to account for dnsperf itself.
CHILD_CS=0
child_cs() {
	local a b
	times >"$tmp/times"
	{
		read -r _ _
		read -r a b
	} <"$tmp/times"
	CHILD_CS=$(awk -v a="$a" -v b="$b" 'BEGIN {
		split(a, x, "m"); split(b, y, "m"); sub(/s/, "", x[2]); sub(/s/, "", y[2])
		printf "%d", (x[1] * 60 + x[2] + y[1] * 60 + y[2]) * 100 }')
}

now_ns() { date +%s%N; }

# wait_answer PORT NAME WANT TIMEOUT PID: poll until NAME/A answers WANT.
wait_answer() {
	local port=$1 name=$2 want=$3 timeout=$4 pid=$5 deadline ans
	deadline=$(($(date +%s) + timeout))
	while (($(date +%s) < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then return 2; fi
		ans=$(dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 "$name" A 2>/dev/null || true)
		if [[ $ans == *"$want"* ]]; then return 0; fi
		sleep 0.05
	done
	return 1
}

# start_server NAME PORT CMD...: starts CMD pinned to SERVER_CPU, logs to
# $tmp/NAME.log, sets SERVER_PID. Fails when the port is taken.
SERVER_PID=""
start_server() {
	local name=$1 port=$2
	shift 2
	if port_busy "$port"; then
		log "$name: port $port already in use, skipped"
		return 1
	fi
	taskset -c "$SERVER_CPU" "$@" >"$tmp/$name.log" 2>&1 &
	SERVER_PID=$!
	started+=("$SERVER_PID")
}

stop_server() {
	stop_pid "$1"
	local -a keep=()
	local p
	for p in "${started[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	started=("${keep[@]}")
}

# IDLE_BUSY: % of one core the machine used over one second.
IDLE_BUSY=0
sample_busy() {
	local b0
	busy_ticks
	b0=$BUSY
	sleep 1
	busy_ticks
	IDLE_BUSY=$(((BUSY - b0) * 100 / CLK_TCK))
}

# wait_idle: with WAIT_IDLE=N, wait up to N seconds for the machine to go
# quiet (under 10% of a core busy) before a measurement. Other work on the
# machine skews everything, so it is reported either way.
wait_idle() {
	local deadline=$(($(date +%s) + WAIT_IDLE))
	sample_busy
	while ((IDLE_BUSY > 10 && $(date +%s) < deadline)); do
		sample_busy
	done
	if ((IDLE_BUSY > 10)); then
		log "WARNING: other processes use ${IDLE_BUSY}% of a core; numbers will be noisy"
	fi
}

# ---------------------------------------------------------------- servers
# Each writes its config into $tmp/NAME and runs with one worker: it has one
# CPU. Static zone answers for host001.bench.example. are 10.1.0.1.

zonedir=$tmp/zones
mkdir -p "$zonedir"
cp "$ZONE_FILE" "$zonedir/bench.example.zone"

cfg_smartdns() { # cfg_smartdns DIR PORT ZONEFILE ZONE [LOGLEVEL]
	local dir=$1 port=$2 zf=$3 zone=$4 level=${5:-warn}
	mkdir -p "$dir/zones"
	cp "$zf" "$dir/zones/${zone%.}.zone"
	# The dynamic-record zone for the geo-ecs mix (static mixes never touch it).
	[[ $zone == bench.example. ]] && cp "$bench/zones/dyn.bench.example.yaml" "$dir/zones/"
	cat >"$dir/smartdns.yaml" <<EOF
listen: [127.0.0.1:$port]
zones: zones
data: smartdns.db
nameservers: [ns1.$zone, ns2.$zone]
soa: {rname: hostmaster.$zone}
log: {level: $level}
EOF
}

cfg_knot() {
	local dir=$1 port=$2 zf=$3 zone=$4
	mkdir -p "$dir/zones" "$dir/db" "$dir/run"
	cp "$zf" "$dir/zones/${zone%.}.zone"
	cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir/run"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$dir/db"
template:
  - id: default
    storage: "$dir/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: $zone
EOF
}

cfg_nsd() {
	local dir=$1 port=$2 zf=$3 zone=$4
	mkdir -p "$dir/zones"
	cp "$zf" "$dir/zones/${zone%.}.zone"
	cat >"$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    port: $port
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$dir/zones"
    database: ""
    zonelistfile: "$dir/zone.list"
    pidfile: "$dir/nsd.pid"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    logfile: "$dir/nsd-file.log"
    verbosity: 0
    hide-version: yes
    # Debian builds NSD with response rate limiting at 200 qps per /24 by
    # default; every dnsperf query comes from 127.0.0.1, so switch it off.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $zone
    zonefile: ${zone%.}.zone
EOF
}

cfg_gdnsd() {
	local dir=$1 port=$2 zf=$3 zone=$4
	mkdir -p "$dir/zones" "$dir/run" "$dir/state"
	cp "$zf" "$dir/zones/${zone%.}" # gdnsd: file name = zone name
	cat >"$dir/config" <<EOF
options => {
  listen => [ 127.0.0.1 ]
  dns_port => $port
  udp_threads => 1
  tcp_threads => 1
  run_dir => "$dir/run"
  state_dir => "$dir/state"
  lock_mem => false
}
EOF
}

# cmd_NAME DIR: the command line that serves from DIR's config.
cmd_smartdns() { echo "$root/bin/smartdns serve --config $1/smartdns.yaml"; }
cmd_baremiekg() { echo "$tmp/bin/baremiekg -addr 127.0.0.1:$2"; }
cmd_knot() { echo "knotd -c $1/knot.conf"; }
cmd_nsd() { echo "nsd -d -c $1/nsd.conf"; }
cmd_gdnsd() { echo "gdnsd -c $1 start"; }

first_line() { # first_line CMD...: the first line CMD prints, never failing
	local out
	out=$("$@" 2>&1 || true)
	printf '%s\n' "${out%%$'\n'*}"
}

server_version() {
	case $1 in
	smartdns) first_line "$root/bin/smartdns" version ;;
	baremiekg) echo "miekg/dns $(cd "$root" && go list -m -f '{{.Version}}' github.com/miekg/dns 2>/dev/null || echo '?')" ;;
	knot) first_line knotd --version ;;
	nsd) first_line nsd -v ;;
	gdnsd)
		local out
		out=$(gdnsd -V 2>&1 || true)
		awk '/version/ { print; exit }' <<<"$out"
		;;
	esac
}

# ---------------------------------------------------------------- measuring

DNSPERF_FLAGS="-s 127.0.0.1 -c $CLIENTS -q $OUTSTANDING -t $TIMEOUT"
declare -a rows=()
declare -A qps_of=()

# run_loadgen OUT CMD...: runs CMD in the background and waits for it, so a
# TERM or INT reaches our trap at once rather than after the run.
LOADGEN_PID=""
run_loadgen() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	LOADGEN_PID=$!
	wait "$LOADGEN_PID" || true
	LOADGEN_PID=""
}

# measure SERVER MIX PORT PID QFILE [DNSPERF FLAGS]: one dnsperf run,
# appends a table row.
measure() {
	local server=$1 mix=$2 port=$3 pid=$4 qfile=$5 out=$tmp/dnsperf-$1-$2.txt
	local DNSPERF_FLAGS="$DNSPERF_FLAGS ${6:-}"
	if ((WARMUP > 0)); then
		# shellcheck disable=SC2086
		run_loadgen /dev/null taskset -c "$LOAD_CPU" dnsperf $DNSPERF_FLAGS -l "$WARMUP" -p "$port" -d "$qfile"
	fi
	local c0 c1 t0 t1 b0 b1 d0 d1 s0 s1 i0 i1
	child_cs
	d0=$CHILD_CS
	cpu_ticks "$pid"
	c0=$TICKS
	busy_ticks
	b0=$BUSY s0=$SIRQ i0=$SRV_IDLE
	t0=$(now_ns)
	# shellcheck disable=SC2086
	run_loadgen "$out" taskset -c "$LOAD_CPU" dnsperf $DNSPERF_FLAGS -l "$DURATION" -p "$port" -d "$qfile"
	t1=$(now_ns)
	busy_ticks
	b1=$BUSY s1=$SIRQ i1=$SRV_IDLE
	cpu_ticks "$pid"
	c1=$TICKS
	child_cs
	d1=$CHILD_CS
	if ! kill -0 "$pid" 2>/dev/null; then
		log "$server died during the $mix run"
	fi
	local row
	row=$(awk -v server="$server" -v mix="$mix" -v ticks=$((c1 - c0)) -v hz="$CLK_TCK" \
		-v wall_ns=$((t1 - t0)) -v busy=$((b1 - b0)) -v dnsperf_cs=$((d1 - d0)) \
		-v sirq=$((s1 - s0)) -v srv_idle=$((i1 - i0)) '
		/Queries completed:/ { done = $3 }
		/Queries lost:/      { lost = $3; lostpct = $4; gsub(/[()]/, "", lostpct) }
		/Queries per second:/ { qps = $4 }
		/Run time \(s\):/   { runtime = $4 }
		/Average packet size:/ { resp = $7 }
		/Average Latency \(s\):/ {
			avg = $4; min = $6; max = $8
			gsub(/[(),]/, "", min); gsub(/[(),]/, "", max)
		}
		/Latency StdDev \(s\):/ { sd = $4 }
		/Response codes:/ {
			sub(/.*Response codes:[ \t]*/, "")
			n = split($0, parts, ", ")
			rc = ""
			for (i = 1; i <= n; i++) {
				split(parts[i], w, " ")
				rc = rc (rc == "" ? "" : " ") w[1] " " w[3]
			}
			gsub(/[()]/, "", rc)
		}
		END {
			if (done == "" || done == 0) {
				printf "| %s | %s | FAILED | | | | | | | | | | | | |\n", mix, server
				exit
			}
			# dnsperf waits up to -t for lost replies after the time limit;
			# the server is idle then, so utilisation is over the dnsperf run time.
			if (runtime == "" || runtime == 0) runtime = wall_ns / 1e9
			cpu = ticks / hz
			us_per_q = cpu / done * 1e6
			util = cpu / runtime * 100
			# In % of one core over the whole wall time (dnsperf included its
			# final wait): interrupt+softirq time of all CPUs, idle time of
			# the server CPU, and CPU used by anything but the server and
			# dnsperf (other processes, steal).
			wall = wall_ns / 1e9
			sirqpct = sirq / hz / wall * 100
			idlepct = srv_idle / hz / wall * 100
			other = (busy / hz - cpu - dnsperf_cs / 100) / wall * 100
			if (other < 0) other = 0
			printf "| %s | %s | %.0f | %.3f | %.3f | %.3f | %s | %.2f | %.0f%% | %.0f%% | %.0f%% | %.0f%% | %.0f%% | %s | %s |\n", \
				mix, server, qps, avg * 1000, sd * 1000, max * 1000, lostpct, us_per_q, util, \
				idlepct, dnsperf_cs / 100 / runtime * 100, sirqpct, other, resp, rc
		}' "$out")
	rows+=("$row")
	qps_of[$server/$mix]=$(awk -F'|' '{ gsub(/ /, "", $4); print $4 }' <<<"$row")
	log "  $row"
}

# run_server NAME PORT MIXES...: configure, start, wait, measure, stop.
run_server() {
	local name=$1 port=$2
	shift 2
	local dir=$tmp/$name
	mkdir -p "$dir"
	local want=10.1.0.1
	case $name in
	baremiekg) want=192.0.2.1 ;;
	*) "cfg_$name" "$dir" "$port" "$ZONE_FILE" bench.example. ;;
	esac
	local cmd
	cmd=$("cmd_$name" "$dir" "$port")
	wait_idle
	log "$name: $cmd (pinned to CPU $SERVER_CPU, port $port)"
	# shellcheck disable=SC2086
	start_server "$name" "$port" $cmd || return 0
	local pid=$SERVER_PID rc=0
	wait_answer "$port" host001.bench.example. "$want" "$READY_TIMEOUT" "$pid" || rc=$?
	if ((rc != 0)); then
		log "$name SKIPPED: no answer within ${READY_TIMEOUT}s (rc=$rc); its log:"
		tail -n 20 "$tmp/$name.log" | sed 's/^/    /' >&2
		stop_server "$pid"
		return 0
	fi
	versions+=("$name: $(server_version "$name")")
	local mix
	for mix in "$@"; do
		case $mix in
		static-a) measure "$name" "$mix" "$port" "$pid" "$Q_A" ;;
		static-mix) measure "$name" "$mix" "$port" "$pid" "$Q_MIX" ;;
		# A geo-targeted dynamic answer, every query with an EDNS Client
		# Subnet of 81.2.69.0/24 (GB, so the EU pool): option 8, family 1,
		# source 24, scope 0, address 81.2.69.
		geo-ecs) measure "$name" "$mix" "$port" "$pid" "$Q_GEO" "-E 8:00011800510245" ;;
		esac
	done
	stop_server "$pid"
}

declare -a versions=()
declare -a servers=()
((have_smartdns)) && servers+=(smartdns)
servers+=(baremiekg "${peers[@]}")

port=$PORT_BASE
for s in "${servers[@]}"; do
	port=$((port + 1))
	if [[ $s == baremiekg ]]; then
		run_server "$s" "$port" static-a
	elif [[ $s == smartdns ]]; then
		run_server "$s" "$port" static-a static-mix geo-ecs
	else
		run_server "$s" "$port" static-a static-mix
	fi
done

# ---------------------------------------------------------------- load time

declare -a load_rows=()

gen_big_zone() { # gen_big_zone FILE N
	awk -v n="$2" 'BEGIN {
		print "$ORIGIN big.example."
		print "$TTL 3600"
		print "@ IN SOA ns1.big.example. hostmaster.big.example. 1 7200 3600 1209600 300"
		print "@ IN NS ns1.big.example."
		print "@ IN NS ns2.big.example."
		print "ns1 IN A 192.0.2.53"
		print "ns2 IN A 192.0.2.54"
		for (i = 1; i <= n; i++)
			printf "host%d.big.example. 3600 IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
	}' >"$1"
}

# Largest VmHWM (peak resident set, KiB) in the process tree rooted at $1:
# nsd loads zones in a forked child, so the root alone would under-report.
vm_hwm_kb() {
	local p max=0 key val _
	tree_pids "$1"
	for p in "${TREE[@]}"; do
		while read -r key val _; do
			if [[ $key == VmHWM: ]] && ((val > max)); then max=$val; fi
		done 2>/dev/null <"/proc/$p/status" || true
	done
	echo "$max"
}

# load_time NAME PORT: start NAME on the big zone; time to ready, peak RSS.
load_time() {
	local name=$1 port=$2 dir=$tmp/big-$1
	mkdir -p "$dir"
	# info for smartdns: its msg=ready line is logged at info level
	"cfg_$name" "$dir" "$port" "$tmp/big.example.zone" big.example. info
	local cmd last=host$BIG_RECORDS.big.example. want
	want=$(awk -v i="$BIG_RECORDS" 'BEGIN { printf "10.%d.%d.%d", int(i / 65536) % 256, int(i / 256) % 256, i % 256 }')
	cmd=$("cmd_$name" "$dir" "$port")
	if port_busy "$port"; then
		log "$name: port $port in use, load test skipped"
		return 0
	fi
	wait_idle
	log "load: $name on $BIG_RECORDS records: $cmd"
	local t0 t1 pid rc=0 how
	t0=$(now_ns)
	# shellcheck disable=SC2086
	$cmd >"$tmp/big-$name.log" 2>&1 &
	pid=$!
	started+=("$pid")
	if [[ $name == smartdns ]]; then
		# smartdns logs msg=ready at info level once it listens with every
		# zone loaded; if no such line shows, the last host answering counts.
		how="until msg=ready"
		local deadline=$(($(date +%s) + LOAD_TIMEOUT)) n=0 ans
		rc=1
		while (($(date +%s) < deadline)); do
			if grep -q 'msg=ready' "$tmp/big-$name.log"; then
				rc=0
				break
			fi
			kill -0 "$pid" 2>/dev/null || {
				rc=2
				break
			}
			n=$((n + 1))
			if ((n % 25 == 0)); then
				ans=$(dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 "$last" A 2>/dev/null || true)
				if [[ $ans == *"$want"* ]]; then
					how="until $last answers (no msg=ready line seen)"
					rc=0
					break
				fi
			fi
			sleep 0.02
		done
		t1=$(now_ns)
		if ((rc == 0)) && [[ $how == "until msg=ready" ]]; then
			wait_answer "$port" "$last" "$want" 30 "$pid" || {
				log "smartdns: ready but $last does not answer $want"
				how="$how (but $last did NOT answer)"
			}
		fi
	else
		how="until $last answers"
		wait_answer "$port" "$last" "$want" "$LOAD_TIMEOUT" "$pid" || rc=$?
		t1=$(now_ns)
	fi
	local hwm
	hwm=$(vm_hwm_kb "$pid")
	if ((rc != 0)); then
		log "$name: did not get ready (rc=$rc); its log:"
		tail -n 20 "$tmp/big-$name.log" | sed 's/^/    /' >&2
		load_rows+=("| $name | FAILED | | $how |")
	else
		load_rows+=("$(awk -v ns=$((t1 - t0)) -v kb="$hwm" -v n="$name" -v how="$how" \
			'BEGIN { printf "| %s | %.2f | %.0f | %s |", n, ns / 1e9, kb / 1024, how }')")
		log "  ${load_rows[-1]}"
	fi
	stop_server "$pid"
}

if [[ $LOADTEST == 1 ]]; then
	log "generating a zone of $BIG_RECORDS A records"
	gen_big_zone "$tmp/big.example.zone" "$BIG_RECORDS"
	port=$((PORT_BASE + 50))
	for s in smartdns "${peers[@]}"; do
		port=$((port + 1))
		if [[ $s == smartdns ]] && ((!have_smartdns)); then
			load_rows+=("| smartdns | SKIPPED (no bin/smartdns) | | |")
			continue
		fi
		load_time "$s" "$port"
	done
fi

# ---------------------------------------------------------------- report

declare -A us_of=()
for r in "${rows[@]}"; do
	IFS='|' read -r _ m n _ _ _ _ _ us _ <<<"$r"
	m=${m// /} n=${n// /} us=${us// /}
	[[ -n $us ]] && us_of[$n/$m]=$us
done

ratio_lines() {
	local mix peer s p su pu
	if ((!have_smartdns)); then
		echo "smartdns was not measured (make build failed), so there are no ratios."
		return
	fi
	echo "qps ratio above 1: smartdns answered more queries per second. CPU ratio above 1: smartdns spent"
	echo "less server CPU per query than the peer (peer µs/query divided by smartdns µs/query); it holds up"
	echo "better than qps when the load generator, not the server, is the limit or the machine is busy."
	echo
	echo "| mix | peer | smartdns qps / peer qps | peer CPU per query / smartdns CPU per query |"
	echo "| --- | --- | ---: | ---: |"
	for mix in static-a static-mix; do
		s=${qps_of[smartdns/$mix]:-}
		su=${us_of[smartdns/$mix]:-}
		for peer in baremiekg "${peers[@]}"; do
			p=${qps_of[$peer/$mix]:-}
			pu=${us_of[$peer/$mix]:-}
			[[ -n $s && -n $p && $p != 0 ]] || continue
			awk -v m="$mix" -v n="$peer" -v s="$s" -v p="$p" -v su="$su" -v pu="$pu" 'BEGIN {
				c = (su + 0 > 0 && pu != "") ? sprintf("%.2f", pu / su) : "n/a"
				printf "| %s | %s | %.2f | %s |\n", m, n, s / p, c }'
		done
	done
	s=${qps_of[smartdns/geo-ecs]:-}
	p=${qps_of[smartdns/static-a]:-}
	if [[ -n $s && -n $p && $p != 0 ]]; then
		echo
		echo "Dynamic answers: a geo-targeted dynamic record with ECS against a static A, same server, same run:"
		awk -v s="$s" -v p="$p" -v su="${us_of[smartdns/geo-ecs]:-}" -v pu="${us_of[smartdns/static-a]:-}" 'BEGIN {
			printf "geo-ecs qps / static-a qps = %.2f (bar: 0.70); CPU per query %s vs %s µs\n", s / p, su, pu }'
	fi
}

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo "?")
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$RESULTS_DIR"
report=$RESULTS_DIR/latest.md
{
	echo "# smartdns benchmark, $stamp"
	echo
	echo "- host: $(nproc) CPUs, $cpu_model, Linux $(uname -r)"
	if ((!have_smartdns)); then
		echo "- smartdns: NOT MEASURED (make build failed) at $(cd "$root" && git describe --always --dirty 2>/dev/null || echo dev)"
	fi
	for v in "${versions[@]}"; do echo "- $v"; done
	echo "- servers pinned to CPU $SERVER_CPU, dnsperf to CPU $LOAD_CPU (taskset); one server at a time"
	echo "- dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}'): \`dnsperf $DNSPERF_FLAGS -l $DURATION -p PORT -d FILE\` after a ${WARMUP}s warm-up"
	echo
	echo "## Throughput (UDP, 127.0.0.1)"
	echo
	echo "| mix | server | qps | avg latency ms | latency stddev ms | max latency ms | lost | server CPU µs/query | server CPU | server core idle | dnsperf CPU | irq+softirq | other CPU | avg response bytes | response codes |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	for r in "${rows[@]}"; do echo "$r"; done
	echo
	echo "dnsperf 2.10 reports average, min, max and standard deviation of latency, no percentiles (no p99)."
	echo "Server CPU and dnsperf CPU: their user+system time in % of one core over the dnsperf run time."
	echo "Server core idle: idle time of the server's CPU; well above 0 means the server was not the bottleneck."
	echo "Irq+softirq: kernel packet delivery on both CPUs (not charged to any process). Other CPU: what"
	echo "other processes and the hypervisor (steal) used meanwhile. These three in % of one core over wall time."
	noisy=$(printf '%s\n' "${rows[@]}" | awk -F'|' '{ v = $14; gsub(/[ %]/, "", v); if (v + 0 > 10) n++ } END { print n + 0 }')
	if ((noisy > 0)); then
		echo
		echo "**WARNING: in $noisy run(s) other work used over 10% of a core (other CPU column): the machine was not idle, treat qps and latency as unreliable; CPU µs/query holds up better.**"
	fi
	echo
	echo "## smartdns relative to peers"
	echo
	ratio_lines
	if ((${#load_rows[@]})); then
		echo
		echo "## Load time: zone of $BIG_RECORDS A records (not pinned)"
		echo
		echo "| server | seconds to ready | peak RSS MiB (VmHWM) | measured |"
		echo "| --- | ---: | ---: | --- |"
		for r in "${load_rows[@]}"; do echo "$r"; done
	fi
} >"$report"
cp "$report" "$RESULTS_DIR/$(date -u +%Y%m%d-%H%M%S).md"

echo
cat "$report"
echo
log "report written to ${report#"$root"/}"
