"""The `tailgraph` command line (typer + rich).

Global options `--graph-uri` and `--home` override `TAILGRAPH_GRAPH_URI` and
`TAILGRAPH_HOME`. Errors a user can fix (bad input files, unknown statement
names, a stopped server) print one clear message and exit non-zero; they never
print a traceback.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from tailgraph.kg.errors import (
    CypherError,
    DatasetError,
    EmbeddedServerError,
    GraphUnavailable,
    ValidationFailed,
)
from tailgraph.kg.settings import GraphSettings

app = typer.Typer(
    help="Tailgraph: knowledge-graph-augmented recommendations for the long tail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Start, stop and inspect the embedded graph server; `db status` also checks Neo4j.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


class _State:
    settings: GraphSettings = GraphSettings()


state = _State()


@app.callback()
def main(
    graph_uri: Annotated[
        str | None,
        typer.Option(help="Neo4j URI (neo4j://, bolt://, neo4j+s://); default: embedded."),
    ] = None,
    home: Annotated[
        Path | None, typer.Option(help="Embedded server data directory (TAILGRAPH_HOME).")
    ] = None,
) -> None:
    # The Neo4j driver logs a warning for a server it cannot reach ("Unable to retrieve
    # routing information") as well as raising: the error line below says it once. (A
    # handler configured on the root logger, as `serve` does, still receives them.)
    logging.getLogger("neo4j").addHandler(logging.NullHandler())
    overrides: dict[str, Any] = {}
    if graph_uri is not None:
        overrides["graph_uri"] = graph_uri
    if home is not None:
        overrides["home"] = home
    try:
        state.settings = GraphSettings(**overrides)
        _ = state.settings.backend
    except ValueError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 1) -> None:
    # Plain text, never wrapped: users grep and copy these messages.
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into a message and an exit code."""
    try:
        yield
    except ValidationFailed as exc:
        _fail(str(exc), code=2)
    except DatasetError as exc:
        _fail(f"{exc}; nothing was written", code=2)
    except (
        GraphUnavailable,
        CypherError,
        EmbeddedServerError,
        FileNotFoundError,
        ValueError,
        TypeError,
    ) as exc:
        _fail(str(exc))
    except OSError as exc:
        # A home (or a folder under it) that cannot be written: read-only, full, not a folder.
        where = exc.filename if exc.filename is not None else state.settings.home
        _fail(f"cannot write {where}: {exc.strerror or exc} (TAILGRAPH_HOME / --home)")


def open_graph(start: bool = True) -> Any:
    from tailgraph.kg.store import open_store

    return open_store(state.settings, start=start)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )


# ---- db --------------------------------------------------------------------------------------
def _server() -> Any:
    from tailgraph.kg.embedded import EmbeddedServer

    if state.settings.backend != "falkordb":
        _fail("`tailgraph db` manages the embedded server; TAILGRAPH_GRAPH_URI points at Neo4j")
    return EmbeddedServer(state.settings.home)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded graph server (reused if already running)."""
    server = _server()
    with user_errors():
        started = server.start()
        status = server.status()
    verb = "started" if started else "already running"
    console.print(f"embedded graph server {verb}: pid {status.pid}, socket {status.socket}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded graph server; its data stays under TAILGRAPH_HOME."""
    server = _server()
    with user_errors():
        stopped = server.stop()
    console.print(
        "embedded graph server stopped" if stopped else "embedded graph server not running"
    )


@db_app.command("status")
def db_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Is the graph server up (the embedded one, or Neo4j at TAILGRAPH_GRAPH_URI), and what
    does the graph hold."""
    if state.settings.backend == "neo4j":
        _neo4j_status(as_json)
        return
    server = _server()
    status = server.status().as_dict()
    if status["running"]:
        from tailgraph.kg.importer import graph_counts

        with user_errors(), open_graph(start=False) as store:
            status["counts"] = graph_counts(store)
    if as_json:
        console.print_json(json.dumps(status))
        return
    console.print(f"running: {status['running']}  pid: {status['pid']}  socket: {status['socket']}")
    for key, value in status.get("counts", {}).items():
        console.print(f"  {key:<30} {value:>12,}")


def _neo4j_status(as_json: bool) -> None:
    """Neo4j is not ours to start or stop; check that it answers and count the graph."""
    from tailgraph.kg.importer import graph_counts

    uri, database = state.settings.graph_uri, state.settings.neo4j_database
    with user_errors(), open_graph(start=False) as store:
        counts = graph_counts(store)
    if as_json:
        status = {"backend": "neo4j", "uri": uri, "database": database, "running": True}
        console.print_json(json.dumps({**status, "counts": counts}))
        return
    where = f"{uri} (database {database})" if database else str(uri)
    console.print(f"neo4j at {where}: reachable", highlight=False)
    for key, value in counts.items():
        console.print(f"  {key:<30} {value:>12,}")


# ---- data ------------------------------------------------------------------------------------
def _parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"{what}: expected key=value, found {pair!r}")
        out[key] = value
    return out


@app.command("sample")
def sample(
    out_dir: Annotated[Path, typer.Argument(help="Where to write the canonical files.")],
    size: Annotated[str, typer.Option(help="tiny | small | default")] = "small",
    seed: Annotated[int, typer.Option()] = 0,
    fmt: Annotated[str, typer.Option("--format", help="csv | parquet")] = "csv",
) -> None:
    """Write the built-in synthetic dataset (canonical format)."""
    from tailgraph.kg.sample import write_sample

    with user_errors():
        paths = write_sample(out_dir, size=size, seed=seed, fmt=fmt)
    for path in paths:
        console.print(f"wrote {path}")


@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="Dataset directory.")],
    fmt: Annotated[
        str, typer.Option("--format", help="canonical | recbole | lastfm-hetrec")
    ] = "canonical",
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Adapter option key=value (e.g. kg=both)."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per UNWIND batch.")] = None,
) -> None:
    """Validate a dataset, then load it into the graph (idempotent, resumable)."""
    from tailgraph.kg.adapters import load_dataset
    from tailgraph.kg.importer import prepare, write

    # Strings: the adapter converts each to its declared type (see `adapter_options`).
    options: dict[str, Any] = _parse_pairs(option or [], "--option")
    with user_errors():
        dataset = load_dataset(source, fmt, **options)
        with open_graph() as store:
            prepared = prepare(dataset, store)
            total = sum(prepared.counts().values())
            with progress_bar() as bar:
                task = bar.add_task("importing", total=total)

                def hook(phase: str, n: int, _total: int) -> None:
                    bar.update(task, advance=n, description=phase)

                summary = write(
                    prepared,
                    store,
                    state.settings.home / "imports",
                    batch_size or state.settings.batch_size,
                    hook,
                )
    table = Table(title=f"import of {source} ({summary.seconds:.1f} s)")
    table.add_column("rows in dataset")
    table.add_column("count", justify="right")
    for key, value in summary.rows.items():
        table.add_row(key, f"{value:,}")
    console.print(table)
    if summary.resumed_rows:
        console.print(f"resumed: {summary.resumed_rows:,} row(s) were already written")
    _print_counts(summary.graph_counts)


def _print_counts(counts: dict[str, int]) -> None:
    table = Table(title="graph now holds")
    table.add_column("label / type")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key, f"{value:,}")
    console.print(table)


@app.command("snapshot")
def snapshot(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the snapshot tables.")],
) -> None:
    """Export the graph to Parquet tables + id maps (the input of training)."""
    from tailgraph.kg.snapshot import take_snapshot

    with user_errors(), open_graph() as store:
        snap = take_snapshot(store)
    snap.save(out_dir)
    console.print(
        f"snapshot: {snap.num_users:,} users, {snap.num_items:,} items, "
        f"{snap.num_entities:,} entities, {len(snap.interactions):,} interactions, "
        f"{len(snap.kg_edges):,} KG edges -> {out_dir}"
    )


# ---- export ----------------------------------------------------------------------------------
export_app = typer.Typer(help="Export the graph for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("neo4j-admin")
def export_neo4j_admin(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the CSV files (replaced).")],
) -> None:
    """Write the graph as the CSV files `neo4j-admin database import full` bulk-loads."""
    from tailgraph.kg.neo4j_export import ExportError, export_neo4j_admin

    with user_errors(), open_graph() as store:
        try:
            summary = export_neo4j_admin(store, out_dir)
        except ExportError as exc:
            _fail(f"{exc}; nothing was written")
    typer.echo(
        f"neo4j-admin files: {sum(summary.nodes.values()):,} nodes, "
        f"{sum(summary.relationships.values()):,} relationships -> {out_dir}\n"
        f"load them into an empty, stopped Neo4j with\n"
        f"  neo4j-admin database import full neo4j @{out_dir.resolve() / 'import.args'}\n"
        f"then, with it running, create the constraints:\n"
        f"  cypher-shell -u neo4j -f {out_dir.resolve() / 'schema.cypher'}"
    )


# ---- cypher ----------------------------------------------------------------------------------
def _param_value(raw: str) -> Any:
    """`-o` / `--set k=v`: JSON when it parses (numbers, lists, null), else the string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _typed_value(name: str, kind: str, raw: str) -> Any:
    """One `-p name[:type]=value`, converted to `kind` (see `kg.cypher_files`)."""
    if kind == "string":
        return raw
    if kind == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            _fail(f"--param {name}: expected a JSON value, found {raw!r}")
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        _fail(f"--param {name}: expected true or false, found {raw!r}")
    try:
        return int(raw) if kind == "int" else float(raw)
    except ValueError:
        _fail(f"--param {name}: expected {'an int' if kind == 'int' else 'a float'}, found {raw!r}")
    raise AssertionError(kind)  # pragma: no cover


def _statement_params(text: str, pairs: list[str]) -> dict[str, Any]:
    """`-p` values: strings, unless typed (`limit:int=10`) or declared so by the statement
    (`$limit: int` in its leading comment); every parameter the statement uses is needed."""
    from tailgraph.kg.cypher_files import PARAMETER_TYPES, declared_types, statement_parameters

    declared = declared_types(text)
    kinds = (*PARAMETER_TYPES, "json")
    params: dict[str, Any] = {}
    for key, raw in _parse_pairs(pairs, "--param").items():
        name, colon, kind = key.partition(":")
        kind = kind if colon else declared.get(name, "string")
        if kind not in kinds:
            _fail(f"--param {key}: expected a type in {', '.join(kinds)}, found {kind!r}")
        params[name] = _typed_value(name, kind, raw)
    needed = statement_parameters(text)
    unknown = [name for name in params if name not in needed]
    if unknown:
        _fail(
            f"--param {', '.join(unknown)}: not a parameter of this statement; "
            f"expected {', '.join(needed) or 'none'}"
        )
    missing = [name for name in needed if name not in params]
    if missing:
        shown = ", ".join(f"{name} ({declared.get(name, 'string')})" for name in missing)
        _fail(f"missing parameter(s) {shown}: pass -p NAME=VALUE for each")
    return params


@app.command("cypher")
def cypher(
    name_or_file: Annotated[
        str | None, typer.Argument(help="Statement name in cypher/ or a .cypher file.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Parameter name=value: a string unless the statement declares a type "
            "(`$limit: int`) or it is typed here: name:int=10 (int, float, bool, string, json).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the named statements.")] = False,
) -> None:
    """Run a Cypher statement with parameters and print a table (or JSON)."""
    from tailgraph.kg.cypher_files import available_statements, describe, load_statement

    if list_ or name_or_file is None:
        for name in available_statements():
            console.print(f"[bold]{name}[/]  {describe(name)}", highlight=False)
        return
    # The statement and its parameters are checked before the graph is opened: a typo
    # must not start the embedded server.
    with user_errors():
        text = load_statement(name_or_file, state.settings.backend)
    params = _statement_params(text, param or [])
    with user_errors(), open_graph() as store:
        rows = store.run_named(name_or_file, params)
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, ensure_ascii=False) + "\n")
        return
    if not rows:
        console.print(f"{name_or_file}: 0 rows", highlight=False)
        return
    table = Table(title=f"{name_or_file} ({len(rows)} rows)")
    columns = list(rows[0])
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return "" if value is None else str(value)


# ---- model -----------------------------------------------------------------------------------
def _cache_dir() -> Path:
    return state.settings.home / "embeddings"


@app.command("encode")
def encode(
    page_size: Annotated[int, typer.Option(help="Rows streamed from the graph per page.")] = 5000,
) -> None:
    """Embed every item and entity text in the graph into the on-disk cache."""
    from tailgraph.encoders import CachedEncoder, TextEncoder, entity_text, item_properties_text

    totals: dict[str, dict[str, float]] = {}
    with user_errors(), open_graph() as store:
        encoder = CachedEncoder(TextEncoder(), _cache_dir())
        for kind, statement in (("items", "item_texts"), ("entities", "entity_texts")):
            encoded = from_cache = empty = 0
            count, seconds = 0, 0.0
            for page in _pages(store.stream_named(statement, page_size=page_size), page_size):
                if kind == "items":
                    texts = [
                        item_properties_text(
                            row["props"],
                            [tuple(pair) for pair in row["related"] if pair[0] is not None],
                        )
                        for row in page
                    ]
                else:
                    texts = [entity_text(row["name"], row["type"]) for row in page]
                keys = [f"{kind[:-1] if kind == 'items' else 'entity'}:{row['id']}" for row in page]
                result = encoder.encode(keys, texts, show_progress=err_console.is_terminal)
                stats = result.stats
                encoded += stats.encoded
                from_cache += stats.from_cache + stats.reused
                empty += stats.empty
                count += stats.total
                seconds += stats.seconds
            rate = round(count / seconds, 1) if seconds else 0.0
            totals[kind] = {"texts": count, "encoded": encoded, "from_cache": from_cache,
                            "empty": empty, "seconds": round(seconds, 2),
                            "texts_per_s": rate}  # fmt: skip
    for kind, figures in totals.items():
        console.print(
            f"{kind}: {figures['texts']:,} texts, {figures['encoded']:,} encoded, "
            f"{figures['from_cache']:,} from cache, {figures['empty']:,} empty, "
            f"{figures['seconds']} s ({figures['texts_per_s']} texts/s)"
        )


def _pages(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    for row in rows:
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _harness_config(config_file: Path | None, overrides: list[str], compare: bool = False) -> Any:
    """Settings from the file and `--set`; the models default to the product model alone,
    `compare` adds every baseline and ablation (`--set models=…` picks them by name)."""
    from tailgraph.gnn.config import harness_config
    from tailgraph.gnn.harness import ALL_MODELS, PRODUCT

    raw: dict[str, Any] = {}
    if config_file is not None:
        try:
            raw = json.loads(config_file.read_text())
        except json.JSONDecodeError as exc:
            _fail(f"{config_file}, line {exc.lineno}: expected JSON settings, found {exc.msg}")
        if not isinstance(raw, dict):
            _fail(f"{config_file}: expected a JSON object of settings, found {type(raw).__name__}")
    for key, value in _parse_pairs(overrides, "--set").items():
        raw[key] = _param_value(value)
    if compare and "models" in raw:
        raise ValueError("--compare trains every model; leave it out to pick them with models=")
    raw.setdefault("models", list(ALL_MODELS if compare else PRODUCT))
    return harness_config(raw)


@app.command("train")
def train(
    out: Annotated[Path, typer.Option("--out", help="Run directory to write.")],
    config: Annotated[Path | None, typer.Option(help="JSON file of settings.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override: seed=1, train.epochs=20, tailgraph.dim=32, models=tailgraph,lightgcn",
        ),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Also train every baseline and ablation on the same split (much longer).",
        ),
    ] = False,
    dataset_name: Annotated[
        str, typer.Option("--name", help="Dataset name in the report.")
    ] = "graph",
    nproc: Annotated[
        int,
        typer.Option(
            min=1,
            help="Data-parallel training processes on this machine (torchrun; gloo on "
            "the CPU, NCCL on CUDA).",
        ),
    ] = 1,
    threads: Annotated[int | None, typer.Option(min=1, help="torch threads per process.")] = None,
) -> None:
    """Snapshot the graph, train Tailgraph (with `--compare`: and every baseline and
    ablation, on one split), write a run.

    With `--nproc N` the same command runs in N processes under torchrun (as `torchrun
    --nproc-per-node N -m tailgraph.api.cli train …` does): rank 0 reads the graph, every
    rank trains on its shard of each batch, rank 0 evaluates and writes the run.
    """
    from tailgraph.gnn import distributed
    from tailgraph.gnn.harness import run_comparison, torch_threads
    from tailgraph.gnn.report import comparison_table, write_report
    from tailgraph.gnn.run_dir import write_run
    from tailgraph.gnn.train import training_device
    from tailgraph.kg.snapshot import take_snapshot

    with user_errors():
        harness = _harness_config(config, set_ or [], compare)
    if "tailgraph" not in harness.models:
        _fail("models: the run directory holds the Tailgraph model; include 'tailgraph'")
    if nproc > 1 and not distributed.launched():
        _launch_train(nproc, out, config, set_ or [], dataset_name, threads, compare)
        return
    torch_threads(threads)
    with user_errors():
        distributed.init_from_env(training_device(harness.train.device))

        def read_graph() -> Any:
            with open_graph() as store:
                return take_snapshot(store)

        # Rank 0 reads the graph and hands every rank the same snapshot.
        snapshot = distributed.from_main(read_graph)
    # Checkpoints beside the run: a re-run of an interrupted command resumes from them.
    checkpoints = Path(harness.train.checkpoint_dir or out.parent / f".{out.name}.checkpoints")
    harness = harness.model_copy(
        update={"train": harness.train.model_copy(update={"checkpoint_dir": str(checkpoints)})}
    )
    main = distributed.is_main()
    if main:
        console.print(f"checkpoints in {checkpoints} (removed once the run is written)")
    try:
        result = run_comparison(snapshot, harness, dataset_name, cache_dir=_cache_dir(),
                                verbose=main)  # fmt: skip
    except KeyboardInterrupt:
        # Each model's state is saved after every epoch: the same command carries on.
        _fail(f"interrupted; run the same command again to resume from {checkpoints}", code=130)
    if not main:
        return
    assert result.model is not None
    write_run(out, snapshot, result.model, result.data, result.metrics,
              {"harness": harness.as_dict(), "dataset": dataset_name}, write_report)  # fmt: skip
    shutil.rmtree(checkpoints, ignore_errors=True)
    console.print(comparison_table(result.metrics["models"]), markup=False, highlight=False)
    console.print(f"run written to {out}")


def _launch_train(
    nproc: int,
    out: Path,
    config: Path | None,
    overrides: list[str],
    dataset_name: str,
    threads: int | None,
    compare: bool = False,
) -> None:
    """Run this `train` command in `nproc` processes under torchrun; exit with its code."""
    import os
    import subprocess

    from tailgraph.gnn.distributed import torchrun_command

    with user_errors(), open_graph():
        pass  # start the embedded server once, before the ranks look for it
    args = ["train", "--out", str(out), "--name", dataset_name]
    args += ["--config", str(config)] if config is not None else []
    args += [part for pair in overrides for part in ("--set", pair)]
    args += ["--threads", str(threads)] if threads else []
    args += ["--compare"] if compare else []
    env = {**os.environ, "TAILGRAPH_HOME": str(state.settings.home)}
    if state.settings.graph_uri:
        env["TAILGRAPH_GRAPH_URI"] = state.settings.graph_uri
    command = torchrun_command(nproc, "-m", "tailgraph.api.cli", *args)
    code = subprocess.run(command, env=env, check=False).returncode
    if code:
        raise typer.Exit(code)


@app.command("evaluate")
def evaluate_run(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Re-score a run's Tailgraph model on its stored split; print the run's comparison."""
    from tailgraph.gnn.harness import evaluate_model
    from tailgraph.gnn.report import comparison_table
    from tailgraph.gnn.run_dir import load_run

    with user_errors():
        if not (run_dir / "metrics.json").exists():
            raise FileNotFoundError(f"{run_dir}: expected a run directory with metrics.json")
        model, _, _ = load_run(run_dir)
    metrics = evaluate_model(model)
    stored = json.loads((run_dir / "metrics.json").read_text())
    console.print(comparison_table(stored["models"]), markup=False, highlight=False)
    fresh = metrics["overall"]["ndcg@20"]  # type: ignore[index]
    saved = stored["models"]["tailgraph"]["overall"]["ndcg@20"]
    console.print(
        f"tailgraph re-evaluated from {run_dir}: ndcg@20 {fresh:.4f} (stored {saved:.4f})"
    )


@app.command("demo")
def demo(
    size: Annotated[str, typer.Option(help="Sample size: tiny | small | default.")] = "small",
    seed: Annotated[int, typer.Option()] = 0,
    out: Annotated[Path, typer.Option(help="Run directory.")] = Path("runs/demo"),
    set_: Annotated[list[str] | None, typer.Option("--set", help="Harness override.")] = None,
) -> None:
    """The whole job on the built-in sample: sample → import → encode → train → evaluate."""
    from tailgraph.kg.adapters import load_dataset
    from tailgraph.kg.importer import import_dataset
    from tailgraph.kg.sample import write_sample

    data_dir = state.settings.home / "demo-data"
    console.rule("1. sample")
    write_sample(data_dir, size=size, seed=seed)
    console.print(f"synthetic catalogue written to {data_dir}")
    console.rule("2. import into the graph")
    with user_errors(), open_graph() as store:
        summary = import_dataset(load_dataset(data_dir), store, state.settings.home / "imports",
                                 state.settings.batch_size)  # fmt: skip
        _print_counts(summary.graph_counts)
        console.rule("3. explore with Cypher")
        for name, params in (("most_popular_items", {"limit": 5}),
                             ("least_popular_items", {"limit": 5})):  # fmt: skip
            rows = store.run_named(name, params)
            console.print(f"[bold]{name}[/]: " + ", ".join(
                f"{r['title']} ({r['interactions']})" for r in rows))  # fmt: skip
    console.rule("4. encode item and entity text")
    encode()
    console.rule("5. train and evaluate every model on one split")
    # Ours against the baselines that train once (EASE included); the ablations and the
    # peers that retrain per grid setting live in `train --compare` and bench/quality.py.
    from tailgraph.gnn.harness import BASELINES, RETRAINED_PEERS

    quick = [name for name in BASELINES if name not in RETRAINED_PEERS]
    defaults = [f"seed={seed}", "models=" + ",".join(("tailgraph", *quick))]
    train(out=out, config=None, set_=[*defaults, *(set_ or [])], dataset_name=f"sample-{size}")
    console.print(f"report: {out / 'report.md'}")


@app.command("serve")
def serve(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `tailgraph train`.")],
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Serve recommendations over HTTP (FastAPI) from a trained run."""
    from tailgraph.api.service.server import serve as run_server

    if not (run_dir / "model.safetensors").exists():
        _fail(f"{run_dir}: expected a run directory with model.safetensors")
    run_server(run_dir, host, port, workers, graph=state.settings)


if __name__ == "__main__":  # pragma: no cover
    app()
