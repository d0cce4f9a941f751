#!/bin/sh
# Healthy when PostgreSQL accepts connections on its TCP port (not during initialisation, when
# only the temporary Unix-socket server runs). pg_isready sends no password; it asks as the
# configured superuser so that the server has no unknown role to complain about in its log.
user=${POSTGRES_USER:-}
if [ -z "$user" ] && [ -n "${POSTGRES_USER_FILE:-}" ] && [ -r "$POSTGRES_USER_FILE" ]; then
	user=$(cat "$POSTGRES_USER_FILE")
fi
exec pg_isready --quiet --host=127.0.0.1 --port=5432 --dbname=postgres --username="${user:-postgres}"
