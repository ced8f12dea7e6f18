"""The rig's application server: a WSGI app for gunicorn's sync workers.

GET  /item/<id>  reads one row (SELECT by primary key) and renders it;
POST /item       inserts one row (autocommit: a durable commit per write).
Each request also renders a small JSON page, so the app has CPU of its own
beside the time it waits on MariaDB. One connection per worker process.
"""

import json
import os

import pymysql

_conn = None


def _db():
    global _conn
    if _conn is None:
        _conn = pymysql.connect(
            unix_socket=os.environ["RIG_DB_SOCKET"],
            user="root",
            database="rig",
            autocommit=True,
        )
    return _conn


def _render(row):
    # A page's worth of work: a few hundred small objects serialised.
    page = {"item": row, "related": [{"id": i, "score": i * 0.5} for i in range(120)]}
    return json.dumps(page).encode()


def application(environ, start_response):
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "/")
    cur = _db().cursor()
    if method == "GET" and path.startswith("/item/"):
        cur.execute("SELECT id, name, price FROM items WHERE id = %s", (int(path[6:]),))
        row = cur.fetchone()
        body = _render([row[0], row[1], float(row[2])] if row else None)
    elif method == "POST" and path == "/item":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        form = environ["wsgi.input"].read(size).decode()
        item = int(form.split("=", 1)[1]) if "=" in form else 0
        cur.execute("INSERT INTO events (item, note) VALUES (%s, %s)", (item, "rig"))
        body = _render([item])
    else:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    cur.close()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
