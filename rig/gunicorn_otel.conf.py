# gunicorn settings of the traced app: flush each worker's spans on a stop.
def worker_exit(server, worker):
    import app_otel

    app_otel.flush()
