#!/bin/sh
# bzzz/redis:7 entrypoint (the official image's behaviour): `docker run bzzz/redis:7 --appendonly yes`
# passes the flags to redis-server; started as root, it makes /data the redis user's and drops to it.
set -eu

if [ "${1#-}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find /data \! -user redis -exec chown redis:redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi

exec "$@"
