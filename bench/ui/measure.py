"""Time the runs page of loopml's team server against MLflow's, served for real on loopback.

    python bench/ui/measure.py --cache bench/.cache/ui --sizes 1000 10000 \
        [--mlflow-python bench/.venv-mlflow/bin/python] [--skip-browser] [--repeats 20]

For each size, both stores hold the same runs (``data.py``: 20 params, 50 metrics, five
of them over 10 steps). ``loopml ui`` and ``mlflow server`` each run in a process of
their own, one worker, and answer the calls their own web UI makes for the runs page:

- ``newest``: the newest 50 runs, every param and every metric's latest value;
- ``search``: ``roc_auc > 0.7`` and ``model == lightgbm``, sorted by ``roc_auc``
  descending, 50 runs (loopml also counts every match: ``total``; MLflow never counts);
- ``search, no total``: the same, loopml with ``count=false`` (MLflow: the same call);
- ``next page``: the second page of that search (MLflow's page token, loopml's offset).

Each figure is the median of ``--repeats`` calls over one kept-alive HTTP connection,
after two warm-up calls. The first paint is the time from navigating a fresh
chromium page to the runs page until the runs table shows rows (loopml: the signed-in
``#/p/bench/runs`` with ``body[data-ready="1"]``; MLflow: its experiment page showing a
run's name), the median of five. Prints a table; ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import METRIC_KEYS, MLFLOW_FILTER, MLFLOW_ORDER, SORT, WHERE  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LOOPML = ROOT / ".venv" / "bin" / "loopml"
CHROMIUM = "/usr/bin/chromium"
PAGE = 50
PASSWORD = "bench-password-1"  # a throwaway store in bench/.cache, on loopback only
VIEWS = ("newest", "search", "search, no total", "next page")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


@contextlib.contextmanager
def serving(command: list[str], url: str, env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(url)
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


def median_ms(call: Callable[[], Any], repeats: int) -> float:
    for _ in range(2):
        call()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def loopml_project(cache: Path, size: int) -> tuple[Path, dict[str, str]]:
    """A project folder named bench over ``loopml-SIZE.db``, with an admin ``bench``."""
    folder = cache / f"project-{size}"
    env = {**os.environ, "LOOPML_DB": f"sqlite:///{cache / f'loopml-{size}.db'}"}
    if not (folder / "loopml.yaml").exists():
        folder.mkdir(parents=True, exist_ok=True)
        rows = "\n".join(f"{i},{i % 2}" for i in range(40))
        (folder / "data.csv").write_text(f"x,y\n{rows}\n", encoding="utf-8")
        init = [str(LOOPML), "init", "data.csv", "--target", "y", "--name", "bench"]
        subprocess.run([*init, "-C", str(folder)], env=env, check=True, capture_output=True)
        add = [str(LOOPML), "users", "add", "bench", "--role", "admin", "--password-stdin"]
        subprocess.run(
            [*add, "-C", str(folder)], env=env, input=f"{PASSWORD}\n", text=True, check=True
        )
    return folder, env


def loopml_token(folder: Path, env: dict[str, str]) -> str:
    made = subprocess.run(
        [str(LOOPML), "users", "token", "bench", "-C", str(folder)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.strip().splitlines()[-1]


def time_loopml(base: str, token: str, repeats: int) -> dict[str, float]:
    runs = f"{base}/api/v1/projects/bench/runs"
    every_metric = [("metric", key) for key in METRIC_KEYS]
    search = [*(("where", w) for w in WHERE), ("sort", SORT), *every_metric]
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:

        def get(params: list[tuple[str, str]], expected: int) -> Any:
            answer = client.get(runs, params=[*params, ("limit", str(PAGE))])
            answer.raise_for_status()
            body = answer.json()
            assert len(body["runs"]) == expected, f"loopml: {len(body['runs'])} runs"
            return body

        total = get(search, PAGE)["total"]
        second = [*search, ("offset", str(PAGE))]
        uncounted = [*search, ("count", "false")]
        left = min(PAGE, total - PAGE)
        return {
            "newest": median_ms(lambda: get(every_metric, PAGE), repeats),
            "search": median_ms(lambda: get(search, PAGE), repeats),
            "search, no total": median_ms(lambda: get(uncounted, PAGE), repeats),
            "next page": median_ms(lambda: get(second, left), repeats),
            "matches": float(total),
        }


def time_mlflow(base: str, repeats: int) -> dict[str, float]:
    with httpx.Client(timeout=60) as client:
        found = client.get(
            f"{base}/ajax-api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": "bench"},
        )
        experiment = found.json()["experiment"]["experiment_id"]
        url = f"{base}/ajax-api/2.0/mlflow/runs/search"

        def search(body: dict[str, Any], expected: int | None = PAGE) -> Any:
            answer = client.post(url, json={"experiment_ids": [experiment], **body})
            answer.raise_for_status()
            runs = answer.json().get("runs", [])
            assert expected is None or len(runs) == expected, f"MLflow: {len(runs)} runs"
            return answer.json()

        newest = {"max_results": PAGE, "order_by": ["attributes.start_time DESC"]}
        filtered = {"max_results": PAGE, "filter": MLFLOW_FILTER, "order_by": [MLFLOW_ORDER]}
        token = search(filtered)["next_page_token"]
        left = len(search({**filtered, "page_token": token}, None)["runs"])
        searched = median_ms(lambda: search(filtered), repeats)
        return {
            "newest": median_ms(lambda: search(newest), repeats),
            "search": searched,
            "search, no total": searched,  # MLflow never counts: the same call
            "next page": median_ms(
                lambda: search({**filtered, "page_token": token}, left), repeats
            ),
            "experiment": float(experiment),
        }


def first_paint(open_page: Callable[[Any], None], tries: int = 5) -> float | None:
    """The median time ``open_page`` takes on a fresh chromium page, in ms (None: no
    chromium, or the page never showed its rows)."""
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import Error, sync_playwright

    timings = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for _ in range(tries + 1):  # the first warms the server's caches
                context = browser.new_context()
                page = context.new_page()
                start = time.perf_counter()
                try:
                    open_page(page)
                except Error as exc:
                    print(f"  first paint failed: {exc}", file=sys.stderr)
                    return None
                timings.append(time.perf_counter() - start)
                context.close()
        finally:
            browser.close()
    return statistics.median(timings[1:]) * 1000


def loopml_paint(base: str) -> Callable[[Any], None]:
    def open_page(page: Any) -> None:
        page.request.post(f"{base}/api/v1/session", data={"name": "bench", "password": PASSWORD})
        page.goto(f"{base}/#/p/bench/runs")
        page.wait_for_selector('body[data-ready="1"] table#runs tbody tr', timeout=30_000)

    return open_page


def mlflow_paint(base: str, experiment: int) -> Callable[[Any], None]:
    def open_page(page: Any) -> None:
        page.goto(f"{base}/#/experiments/{experiment}/runs")
        page.get_by_text("trial-", exact=False).first.wait_for(timeout=60_000)

    return open_page


def measure_size(args: argparse.Namespace, size: int) -> dict[str, Any]:
    cache: Path = args.cache
    figures: dict[str, Any] = {}
    folder, env = loopml_project(cache, size)
    token = loopml_token(folder, env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(LOOPML), "ui", "--port", str(port), "-C", str(folder)]
    with serving(command, f"{base}/api/v1/openapi.json", env, cache / f"loopml-ui-{size}.log"):
        figures["loopml"] = time_loopml(base, token, args.repeats)
        if not args.skip_browser:
            figures["loopml"]["first paint"] = first_paint(loopml_paint(base))
    if args.mlflow_python:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        store = f"sqlite:///{cache / f'mlflow-{size}.db'}"
        command = [
            args.mlflow_python,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            store,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ]
        log = cache / f"mlflow-server-{size}.log"
        with serving(command, f"{base}/health", dict(os.environ), log):
            figures["mlflow"] = time_mlflow(base, args.repeats)
            if not args.skip_browser:
                experiment = int(figures["mlflow"]["experiment"])
                figures["mlflow"]["first paint"] = first_paint(mlflow_paint(base, experiment))
    return figures


def show(results: dict[int, dict[str, Any]]) -> None:
    sizes = sorted(results)
    tools = [tool for tool in ("loopml", "mlflow") if tool in results[sizes[0]]]
    header = ["view", *(f"{tool} {size:,}" for tool in tools for size in sizes)]
    if len(tools) == 2:
        header.append(f"MLflow / loopml at {sizes[-1]:,}")
    if len(sizes) > 1:
        header.extend(f"{tool} {sizes[-1]:,} / {sizes[0]:,}" for tool in tools)
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for view in (*VIEWS, "first paint"):
        cells = [view]
        value = {(t, s): results[s][t].get(view) for t in tools for s in sizes}
        cells.extend(_ms(value[t, s]) for t in tools for s in sizes)
        if len(tools) == 2:
            cells.append(_ratio(value["mlflow", sizes[-1]], value["loopml", sizes[-1]]))
        if len(sizes) > 1:
            cells.extend(_ratio(value[t, sizes[-1]], value[t, sizes[0]]) for t in tools)
        print(" | ".join(cells))
    for size in sizes:
        print(f"loopml's search at {size:,} runs matches {results[size]['loopml']['matches']:.0f}")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def _ratio(top: float | None, bottom: float | None) -> str:
    return "n/a" if top is None or not bottom else f"{top / bottom:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--mlflow-python")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    results = {}
    for size in args.sizes:
        print(f"measuring {size:,} runs...", file=sys.stderr)
        results[size] = measure_size(args, size)
    show(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
