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
