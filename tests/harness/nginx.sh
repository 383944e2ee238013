#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/harness/nginx.sh: a private nginx configuration for the tests and
# benchmarks that run nginx (sourced; no state of its own).

# nginx_conf_write FILE PREFIX MASTER DAEMON WORKERS PIDFILE ERRORLOG LISTEN:
# write to FILE a configuration that keeps everything under the directory
# PREFIX (PREFIX/www is the root, PREFIX/tmp/* the temporary paths, which
# the caller creates): master_process MASTER, daemon DAEMON,
# worker_processes WORKERS, the pid file PIDFILE, error_log ERRORLOG ("FILE
# LEVEL" or "stderr LEVEL"), one server on LISTEN ("PORT" or "IP:PORT");
# no access log, sendfile and tcp_nopush on, keep-alive 30 s.
nginx_conf_write()
{
	local file=$1 d=$2

	cat >"$file" <<-CONF
		master_process $3;
		daemon $4;
		worker_processes $5;
		user nobody nogroup;
		pid $6;
		error_log $7;
		events { worker_connections 1024; }
		http {
		    access_log off;
		    client_body_temp_path $d/tmp/body;
		    proxy_temp_path $d/tmp/proxy;
		    fastcgi_temp_path $d/tmp/fastcgi;
		    uwsgi_temp_path $d/tmp/uwsgi;
		    scgi_temp_path $d/tmp/scgi;
		    sendfile on;
		    tcp_nopush on;
		    keepalive_timeout 30;
		    server {
		        listen $8;
		        root $d/www;
		    }
		}
	CONF
}

# nginx_stop_pidfile FILE: stop (QUIT) the nginx whose master's pid FILE
# holds and wait for it, at most 10 s, then KILL it: 1 if it came to that,
# 0 otherwise (also when FILE is empty or the process is gone).
nginx_stop_pidfile()
{
	local pid i

	[[ -s "$1" ]] || return 0
	pid=$(cat "$1")
	kill -QUIT "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	return 1
}

# nginx_wrk OUT SECS URL: wrk -t 2 -c 16 for SECS seconds from NS_B against
# URL, its output in OUT (and logged); fails the test when wrk fails,
# makes no request, or sees socket errors or non-2xx answers. Sets
# WRK_REQUESTS to its number of requests. (Needs the test harness.)
nginx_wrk()
{
	local out=$1

	ns_b timeout $(($2 + 17)) wrk -t 2 -c 16 -d "${2}s" "$3" >"$out" 2>&1 ||
		fail "wrk: $(cat "$out")"
	log "wrk: $(grep -E 'requests in|Requests/sec' "$out" | xargs)"
	WRK_REQUESTS=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out")
	((${WRK_REQUESTS:-0} > 0)) || fail "wrk made no request: $(cat "$out")"
	if grep -qE 'Socket errors|Non-2xx' "$out"; then
		fail "wrk saw errors: $(cat "$out")"
	fi
}
