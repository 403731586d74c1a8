"""HTML pages, rendered on the server from the job store (no external CDN or network)."""

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from BRTP.data.serialize import dataset_from_bytes
from BRTP.report.html import TEMPLATE_DIR
from BRTP.report.images import dataset_png, plot_names
from BRTP.report.tables import kpi_rows, welfare_rows
from swagger_server import dependencies
from swagger_server.core.data_sources import SampleFiles
from swagger_server.core.errors import JobNotFoundError, ServiceError
from swagger_server.dataset_service import view
from swagger_server.problems import STATUS
from swagger_server.web.session import COOKIE, cookie_token

TEMPLATES = Environment(
    loader=ChoiceLoader([FileSystemLoader(Path(__file__).parent / "templates"), FileSystemLoader(TEMPLATE_DIR)]),
    autoescape=select_autoescape(["html"]),
)
DEFAULT_FORM = {
    "start_datetime": "2021-11-11T00:00:00Z",
    "end_datetime": "2021-11-12T00:00:00Z",
    "profit_margin": "0.2",
    "gamma_values": "0, 0.5, 1, 2, 5",
}


#: Our pages load nothing from elsewhere, run no script and may not be framed (clickjacking).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``templates/``, with :data:`SECURITY_HEADERS`."""
    return HTMLResponse(
        TEMPLATES.get_template(template).render(**context), status_code=status, headers=SECURITY_HEADERS
    )


async def caller(request: Request) -> str | None:
    """Who the session cookie's token is (its ``sub``), or None if it holds no token the API would accept."""
    token = cookie_token(request.scope["headers"])
    if not token:
        return None
    info = await dependencies.current().authorizer.check(token, "GET", "/pricing")
    return None if info is None else str(info.get("sub") or "")


async def signed_in(request: Request) -> bool:
    """True if the session cookie holds a token the API would accept."""
    return await caller(request) is not None


def to_login(request: Request) -> RedirectResponse:
    """Send the browser to the login field, then back here."""
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


async def home(request: Request) -> Response:
    """``/``: the job list."""
    return RedirectResponse("/jobs", status_code=303)


async def login_page(request: Request) -> Response:
    """``GET /login``: a token field."""
    settings = dependencies.current().settings
    return render("login.html", next=request.query_params.get("next", "/jobs"), sample_data=settings.sample_data)


async def login(request: Request) -> Response:
    """``POST /login``: check the token once, keep it in an HttpOnly cookie."""
    if not _same_origin(request):
        settings = dependencies.current().settings
        return render("login.html", status=403, next="/jobs", sample_data=settings.sample_data,
                      error="A sign-in from another site is refused.")  # fmt: skip
    form = await request.form()
    token = str(form.get("token", "")).strip()
    target = str(form.get("next", "/jobs"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/jobs"
    settings = dependencies.current().settings
    if not token or await dependencies.current().authorizer.check(token, "GET", "/pricing") is None:
        return render(
            "login.html", status=401, next=target, sample_data=settings.sample_data, error="That token is not accepted."
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    """Forget the session token."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _form_choices() -> dict[str, Any]:
    source = dependencies.current().service.source
    if isinstance(source, SampleFiles):
        return {
            "prosumers": sorted(source.prosumers_by_name, key=_natural),
            "flex_requests": sorted(source.flex_requests_by_name),
        }
    return {"prosumers": [], "flex_requests": []}


def _natural(name: str) -> tuple[str, int, str]:
    parts = name.split("_")
    number = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0
    return (parts[-1], number, name)


def _jobs_page(identity: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The jobs page: recent jobs, the caller's datasets, the upload and submit forms."""
    listing = dependencies.current().service.list(None, 50, 0, identity)
    datasets = dependencies.current().datasets.list(identity, 50, 0)
    context.setdefault("form", DEFAULT_FORM)
    return render(
        "jobs.html",
        status=status,
        jobs=listing["items"],
        total=listing["total"],
        datasets=datasets["items"],
        datasets_total=datasets["total"],
        **context,
        **_form_choices(),
    )


async def jobs_page(request: Request) -> Response:
    """``GET /jobs``: recent jobs, datasets, and forms to upload a dataset and to submit a job."""
    identity = await caller(request)
    if identity is None:
        return to_login(request)
    return _jobs_page(identity)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.url.netloc


async def submit_job(request: Request) -> Response:
    """``POST /jobs``: the form's job, submitted like the API would; then its report.

    On a dataset with no prosumer chosen, the job takes all of the dataset's.
    """
    identity = await caller(request) if _same_origin(request) else None
    if identity is None:
        return to_login(request)
    form = await request.form()
    values = {key: str(form.get(key, "")) for key in DEFAULT_FORM}
    prosumers = [str(v) for v in form.getlist("dr_prosumers") if str(v)]
    prosumers += [n.strip() for n in str(form.get("dr_prosumers_text", "")).replace("\n", ",").split(",") if n.strip()]
    dataset = str(form.get("dataset", "")) or None
    try:
        if dataset is not None and not prosumers:
            prosumers = list(dependencies.current().datasets.get(dataset, identity).prosumers)
        body = {
            "start_datetime": values["start_datetime"],
            "end_datetime": values["end_datetime"],
            "dr_prosumers": list(dict.fromkeys(prosumers)),
            "flex_request": str(form.get("flex_request", "")),
            "profit_margin": float(values["profit_margin"] or 0),
            "gamma_values": [float(g) for g in values["gamma_values"].replace(";", ",").split(",") if g.strip()],
            "dataset": dataset,
        }
        if not body["dr_prosumers"]:
            raise ServiceError("choose at least one prosumer", field="dr_prosumers")
        if not body["gamma_values"]:
            raise ServiceError("give at least one gamma value", field="gamma_values")
        record, _ = dependencies.current().service.submit(body, None, identity)
    except ValueError:
        error = "profit margin and gamma values must be numbers"
    except ServiceError as exc:
        error = f"{exc.field}: {exc.detail}" if exc.field else exc.detail
    else:
        return RedirectResponse(f"/pricing/{record.job_id}/report", status_code=303)
    return _jobs_page(identity, status=400, form=values, error=error, chosen=prosumers, chosen_dataset=dataset)


async def upload_dataset(request: Request) -> Response:
    """``POST /jobs/datasets``: the upload form's file, stored like ``POST /datasets`` would; then its page."""
    identity = await caller(request) if _same_origin(request) else None
    if identity is None:
        return to_login(request)
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ServiceError("choose a file to upload", field="file")
        summary = dependencies.current().datasets.upload(
            upload.file, upload.filename, str(form.get("name", "")) or None, None, identity
        )
    except ServiceError as exc:
        status = STATUS.get(type(exc), (400, "Bad Request"))[0]
        return _jobs_page(identity, status=status, upload_error=exc.detail)
    return RedirectResponse(f"/datasets/{summary.dataset_id}/page", status_code=303)


async def dataset_page(request: Request) -> Response:
    """``GET /datasets/{dataset_id}/page``: a dataset's summary, its picture, and a form to price it."""
    identity = await caller(request)
    if identity is None:
        return to_login(request)
    try:
        summary = dependencies.current().datasets.get(request.path_params["dataset_id"], identity)
    except JobNotFoundError as exc:
        return render("not_found.html", status=404, detail=exc.detail)
    grid = summary.grid
    day = min(grid.n_slots, round(24 / grid.dt_hours))
    form = DEFAULT_FORM | {
        "start_datetime": grid.label(0),
        "end_datetime": grid.slot_start(day).isoformat().replace("+00:00", "Z"),
    }
    return render("dataset.html", dataset=view(summary), form=form)


async def dataset_plot(request: Request) -> Response:
    """``GET /datasets/{dataset_id}/plot.png``: the dataset's aggregate load and flex requests."""
    identity = await caller(request)
    if identity is None:
        return to_login(request)
    datasets = dependencies.current().datasets
    dataset_id = request.path_params["dataset_id"]
    try:
        datasets.get(dataset_id, identity)
        arrays = datasets.store.arrays(dataset_id)
        if arrays is None:
            raise JobNotFoundError(f"no dataset with id {dataset_id!r}", field="dataset_id")
    except JobNotFoundError as exc:
        return render("not_found.html", status=404, detail=exc.detail)
    image = dataset_png(dataset_from_bytes(arrays))
    return Response(image, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


async def report_page(request: Request) -> Response:
    """``GET /pricing/{job_id}/report``: one page per job."""
    identity = await caller(request)
    if identity is None:
        return to_login(request)
    job_id = request.path_params["job_id"]
    try:
        job = dependencies.current().service.get(job_id, identity)
    except JobNotFoundError as exc:
        return render("not_found.html", status=404, detail=exc.detail)
    context: dict[str, Any] = {"job": job, "refresh": job["state"] in ("queued", "running")}
    if job["state"] == "succeeded":
        raw = job["result"]["raw_data"]
        context.update(
            kpis=kpi_rows(raw),
            welfare=welfare_rows(raw),
            gammas=raw["GAMMA"],
            images=[(name, f"/pricing/{job_id}/plots/{name}.png") for name in plot_names(job["result"]["plots"])],
            warnings=job["result"].get("warnings", []),
        )
    return render("report.html", **context)


ROUTES = [
    ("/", "home", home, ["GET"]),
    ("/login", "login_page", login_page, ["GET"]),
    ("/login", "login", login, ["POST"]),
    ("/logout", "logout", logout, ["GET"]),
    ("/jobs", "jobs_page", jobs_page, ["GET"]),
    ("/jobs", "submit_job", submit_job, ["POST"]),
    ("/jobs/datasets", "upload_dataset", upload_dataset, ["POST"]),
    ("/datasets/{dataset_id}/page", "dataset_page", dataset_page, ["GET"]),
    ("/datasets/{dataset_id}/plot.png", "dataset_plot", dataset_plot, ["GET"]),
    ("/pricing/{job_id}/report", "report_page", report_page, ["GET"]),
]
