"""What can go wrong in the service, with no HTTP in it: :mod:`swagger_server.problems` maps these to problem+json."""


class ServiceError(Exception):
    """Base class: a message for the client and, where there is one, the field at fault."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class RequestValidationError(ServiceError):
    """The request is well formed but breaks a domain rule (end before start, unknown name, ...)."""


class JobNotFoundError(ServiceError):
    """No job with that id."""


class JobConflictError(ServiceError):
    """The request conflicts with the job's state (cancel a finished job, reuse an idempotency key)."""


class ServiceUnavailableError(ServiceError):
    """A backing service (broker, job store) cannot be reached."""


class DataSourceError(Exception):
    """A data source failed in a way the user should hear about (unreachable, refused, ...)."""


class UploadTooLargeError(ServiceError):
    """An upload above ``MAX_UPLOAD_BYTES``."""


class UnsupportedUploadError(ServiceError):
    """An upload of a kind no importer reads."""
