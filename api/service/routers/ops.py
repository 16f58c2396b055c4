"""Operations: liveness, readiness, Prometheus metrics (open); the served run (guarded by the
API key like the other endpoints); run reload (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from tailgraph.api.service.dependencies import RuntimeDep, StateDep
from tailgraph.api.service.errors import responses
from tailgraph.api.service.schemas import (
    Health,
    Ready,
    ReadyRun,
    ReloadRequest,
    ReloadResult,
    RunInfo,
)
from tailgraph.api.service.state import ServingState

router = APIRouter(tags=["ops"])
info = APIRouter(tags=["ops"])
admin = APIRouter(prefix="/admin", tags=["admin"])


def run_info(state: ServingState) -> RunInfo:
    info = state.describe()
    return RunInfo(
        **info,
        entity_types=sorted(t for t in state.catalogue.type_mask if t),
        user_attributes=state.attributes.describe() if state.attributes else {},
    )


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health() -> Health:
    return Health()


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "No run loaded yet."}},
    summary="Readiness: a run is loaded (the graph may be down: recommendations still work)",
)
def ready(runtime: RuntimeDep) -> Response:
    """Open to probes even with an API key set, so it tells no internals: no run path, no
    attribute vocabulary (GET /run has those, behind the key)."""
    loaded = runtime.loaded
    state = runtime.state if loaded else None
    run = None
    if state is not None:
        facts = state.describe()
        run = ReadyRun(
            dataset=facts["dataset"],
            loaded_at=facts["loaded_at"],
            items=facts["items"],
            users=facts["users"],
        )
    body = Ready(
        ready=loaded,
        run=run,
        graph="up" if runtime.graph.up() else "down",
        encoder="loaded" if state and runtime.encoders.is_loaded(state.text_model) else "lazy",
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if loaded else 503)


@info.get(
    "/run",
    response_model=RunInfo,
    responses=responses(401),
    summary="The served run: counts, relations, entity types, user-attribute values",
)
async def served_run(state: StateDep) -> RunInfo:
    return run_info(state)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    payload, content_type = runtime.metrics.render()
    return Response(payload, media_type=content_type)


@admin.post(
    "/reload",
    response_model=ReloadResult,
    responses=responses(401, 403, 409, 413, 422),
    summary="Load a run without restarting (atomic swap)",
)
def reload(runtime: RuntimeDep, body: ReloadRequest | None = None) -> ReloadResult:
    """Builds the new state completely while the old one keeps serving, replays what was
    recorded live (interactions, added items) that the new run lacks — all outside the
    write lock — then, under it, only what was recorded meanwhile, and swaps one
    reference: requests already running finish on the old state. The run must lie inside
    the runs folder (TAILGRAPH_API_RUNS_DIR, default the served run's parent). A run that
    cannot be loaded → 422 and the old one stays. Without an API key configured, only
    loopback clients may call it (403)."""
    run_dir = body.run_dir if body is not None else None
    report = runtime.reload(run_dir)
    return ReloadResult(
        run=run_info(report.state),
        seconds=report.seconds,
        replayed_interactions=report.replayed_interactions,
        replayed_items=report.replayed_items,
        skipped=report.skipped,
        locked_seconds=report.locked_seconds,
    )
