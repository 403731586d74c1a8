"""Every error becomes ``application/problem+json`` (RFC 9457), in one place.

Service errors carry the offending ``field``; Connexion's own validation
errors are rewritten to name theirs too. Unexpected exceptions become a
plain 500 problem without a traceback (it is logged).
"""

import re

import redis
import structlog
from connexion import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator

from swagger_server.core.errors import (
    JobConflictError,
    JobNotFoundError,
    RequestValidationError,
    ServiceError,
    ServiceUnavailableError,
    UnsupportedUploadError,
    UploadTooLargeError,
)

logger = structlog.get_logger(__name__)

STATUS: dict[type[ServiceError], tuple[int, str]] = {
    RequestValidationError: (400, "Bad Request"),
    JobNotFoundError: (404, "Not Found"),
    JobConflictError: (409, "Conflict"),
    UploadTooLargeError: (413, "Content Too Large"),
    UnsupportedUploadError: (415, "Unsupported Media Type"),
    ServiceUnavailableError: (503, "Service Unavailable"),
}

# Connexion's messages look like "'x' is a required property" or "... - 'body.callback.url'".
_PATH = re.compile(r" - '([^']+)'$")
_REQUIRED = re.compile(r"^'([^']+)' is a required property")
_MISSING = re.compile(r"^Missing \w+ parameter '([^']+)'")


def _field_of(detail: str) -> str | None:
    path = _PATH.search(detail)
    required = _REQUIRED.match(detail) or _MISSING.match(detail)
    name = required.group(1) if required else None
    if path:
        parts = [p for p in path.group(1).split(".") if p != "body"]
        joined = ".".join(re.sub(r"^(\d+)$", r"[\1]", p) for p in parts).replace(".[", "[")
        return f"{joined}.{name}" if name and joined else (name or joined or None)
    return name


class NamedParameterValidator(ParameterValidator):
    """Connexion's parameter validator, with the parameter's name appended to its messages."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: object, param: dict[str, object], param_name: str | None = None
    ) -> str | None:
        """The first line of the schema error, then `` - '<name>'``."""
        error = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if error and not error.startswith("Missing"):
            return f"{error.splitlines()[0]} - '{param.get('name', param_name)}'"
        return error


class Utf8JSONBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body validator, answering a body that is not UTF-8 with a 400 (it raised, so 500)."""

    async def _parse(self, stream, scope):  # type: ignore[no-untyped-def]
        """Connexion's parsing; undecodable bytes are the client's mistake."""
        try:
            return await super()._parse(stream, scope)
        except UnicodeDecodeError as exc:
            raise ProblemException(
                status=400,
                title="Bad Request",
                detail=f"the request body is not valid {self._encoding} JSON",
                ext={"field": "body"},
            ) from exc
        except RecursionError as exc:  # the parser's stack ran out: nesting no request needs
            raise ProblemException(
                status=400, title="Bad Request", detail="the request body is nested too deeply", ext={"field": "body"}
            ) from exc


#: Connexion's validators with the two above in place of its own.
VALIDATORS = {
    "parameter": NamedParameterValidator,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": Utf8JSONBodyValidator}),
}


def service_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """A :class:`ServiceError` as problem+json with its field."""
    if not isinstance(exc, ServiceError):  # registered for ServiceError only
        raise exc
    status, title = next(v for k, v in STATUS.items() if isinstance(exc, k))
    ext = {"field": exc.field} if exc.field else None
    return problem(status, title, exc.detail, ext=ext)


def connexion_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Connexion's validation/auth problems, with ``field`` added where the message names one."""
    if not isinstance(exc, ProblemException):  # registered for ProblemException only
        raise exc
    detail = str(exc.detail or exc.title or "")
    ext = dict(exc.ext or {})
    if isinstance(exc, BadRequestProblem):
        detail = detail.splitlines()[0]
        field = _field_of(detail)
        if field:
            ext["field"] = field
            detail = _PATH.sub("", detail)
    return problem(exc.status, exc.title or "Error", detail, type=exc.type, headers=exc.headers, ext=ext or None)


def store_unavailable(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Redis (the job store and broker) does not answer: a 503 the client can retry, not a 500."""
    logger.warning("http.store_unavailable", error=exc)
    return problem(
        503, "Service Unavailable", "the job store is unavailable; try again shortly", headers={"Retry-After": "5"}
    )


def unexpected_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Anything else: logged with its traceback, answered without one."""
    logger.error("http.unhandled_error", path=request.url.path if hasattr(request, "url") else "?", exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")


def register_error_handlers(app: AsyncApp) -> None:
    """Install the handlers on ``app``."""
    for cls in STATUS:
        app.add_error_handler(cls, service_error)
    app.add_error_handler(ProblemException, connexion_problem)
    app.add_error_handler(redis.ConnectionError, store_unavailable)
    app.add_error_handler(redis.TimeoutError, store_unavailable)
    app.add_error_handler(Exception, unexpected_error)
