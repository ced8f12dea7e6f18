"""The rig's application (app.py) traced with the OpenTelemetry Python SDK.

The WSGI instrumentation makes a server span per request, the PyMySQL
instrumentation a client span per statement (`db.system = mysql`). Spans
are written by a BatchSpanProcessor to the file RIG_TRACES as OTLP JSON
lines: one TracesData object per export batch, ids in hex and times in
nanoseconds as strings, as the OTLP/JSON encoding specifies. The SDK ships
no file exporter for Python, so this one (OtlpJsonLines) serialises the
SDK's own span objects; each batch is one write() to a file opened with
O_APPEND, so the gunicorn workers' lines never interleave.

Resource: service.name "app", service.instance.id "app-1" (one gunicorn
server, whatever its worker processes), host.name from RIG_HOST.
"""

import json
import os

from opentelemetry import trace
from opentelemetry.instrumentation.pymysql import PyMySQLInstrumentor
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


def _value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def _attrs(a):
    return [{"key": k, "value": _value(v)} for k, v in (a or {}).items()]


class OtlpJsonLines(SpanExporter):
    """Each batch as one OTLP JSON TracesData line."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def export(self, spans):
        by_resource = {}
        for s in spans:
            by_resource.setdefault(id(s.resource), (s.resource, []))[1].append(s)
        out = []
        for resource, group in by_resource.values():
            js = []
            for s in group:
                c = s.context
                parent = s.parent.span_id if s.parent is not None else 0
                js.append({
                    "traceId": format(c.trace_id, "032x"),
                    "spanId": format(c.span_id, "016x"),
                    "parentSpanId": format(parent, "016x") if parent else "",
                    "name": s.name,
                    "kind": s.kind.value + 1,  # the SDK's INTERNAL is 0, OTLP's 1
                    "startTimeUnixNano": str(s.start_time),
                    "endTimeUnixNano": str(s.end_time),
                    "attributes": _attrs(s.attributes),
                    "status": {"code": s.status.status_code.value},
                })
            out.append({
                "resource": {"attributes": _attrs(resource.attributes)},
                "scopeSpans": [{"scope": {"name": "rig"}, "spans": js}],
            })
        line = json.dumps({"resourceSpans": out}, separators=(",", ":")) + "\n"
        os.write(self.fd, line.encode())
        return SpanExportResult.SUCCESS

    def shutdown(self):
        os.close(self.fd)


_provider = None


def _setup():
    # After gunicorn forks: the processor's thread must live in the worker.
    global _provider
    if _provider is not None:
        return
    _provider = TracerProvider(resource=Resource.create({
        "service.name": "app",
        "service.instance.id": "app-1",
        "host.name": os.environ.get("RIG_HOST", "back"),
    }))
    _provider.add_span_processor(BatchSpanProcessor(OtlpJsonLines(os.environ["RIG_TRACES"])))
    trace.set_tracer_provider(_provider)
    # RIG_SQLCOMMENTER=1: each statement carries its trace context in a
    # comment (sqlcommenter), as the slow log then shows it.
    PyMySQLInstrumentor().instrument(enable_commenter=os.environ.get("RIG_SQLCOMMENTER") == "1")


import app  # noqa: E402  (the rig's app, unchanged)

_traced = None


def application(environ, start_response):
    global _traced
    if _traced is None:
        _setup()
        _traced = OpenTelemetryMiddleware(app.application)
    return _traced(environ, start_response)


def flush():
    """Exports the worker's last batch (gunicorn's worker_exit hook)."""
    if _provider is not None:
        _provider.shutdown()
