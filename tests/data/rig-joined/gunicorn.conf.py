workers = 4
worker_class = "sync"
backlog = 2048
bind = "10.77.0.2:8001"
# gunicorn settings of the traced app: flush each worker's spans on a stop.
def worker_exit(server, worker):
    import app_otel

    app_otel.flush()
