"""Logging configured once for the API and the workers: structlog through stdlib.

Events are named ``area.action`` with ids as fields; JSON lines in production
(``LOG_JSON=1``), readable console lines otherwise. The service logs through
structlog with keyword fields; the BRTP library logs through stdlib with
``extra={...}`` (a library must not configure output), and those fields are
kept as fields too (``ExtraAdder``).
"""

import logging
import sys

import structlog


def describe_errors(_logger: object, _method: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """An exception passed as ``error=`` becomes its message and ``error_type`` (a timeout's message may be empty)."""
    error = event.get("error")
    if isinstance(error, BaseException):
        event["error"] = str(error) or type(error).__name__
        event["error_type"] = type(error).__name__
    return event


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Route structlog and stdlib logging through one handler on stderr."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        describe_errors,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    # JSON lines carry the traceback as text; the console renderer formats it itself.
    formatting = [structlog.processors.format_exc_info] if json_lines else []
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # The real stderr: Celery replaces sys.stderr in worker processes with a proxy into logging.
    handler = logging.StreamHandler(sys.__stderr__)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *formatting, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
