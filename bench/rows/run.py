"""How cost grows with rows: `loopml predict` and `loopml drift` on 1M, 5M and 20M rows.

    python run.py make --rows N --out FILE         # N rows x 25 float32 columns, in chunks
    python run.py project --dir DIR                # train one LightGBM on 20,000 rows
    python run.py time --json OUT -- COMMAND...    # one command in a fresh process
    python run.py table RESULT.json...             # the table and the 20M/1M ratio

``make`` writes the Parquet file one million rows at a time (one row group each), so
generating 20M rows holds one chunk, not the file. The columns are normal with a few
missing values; in the scored file ``x20``..``x24`` are shifted by 0.05 to 0.25 standard
deviations, so drift has something to find. ``time`` runs the command as a child and
reads its peak resident memory and CPU seconds (user + system) from
``getrusage(RUSAGE_CHILDREN)``: the process alone, with the interpreter, loopml's
imports and the model's loading; CPU seconds are less disturbed than wall time when
others share the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = [f"x{i}" for i in range(25)]
SHIFTED = {f"x{20 + i}": 0.05 * (i + 1) for i in range(5)}
CHUNK = 1_000_000
STARTUP_ROWS = 1_000  # a file this small measures the start-up: imports, model, kernel


def chunk(rows: int, seed: int, shift: bool) -> pa.Table:
    """``rows`` rows: 25 float32 normals (1% missing in x0..x4) and a label from x0, x1."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((len(COLUMNS), rows), dtype=np.float32)
    arrays = {}
    for i, name in enumerate(COLUMNS):
        column = values[i] + np.float32(SHIFTED.get(name, 0.0) if shift else 0.0)
        if i < 5:
            column[rng.random(rows) < 0.01] = np.nan
        arrays[name] = pa.array(column, from_pandas=True)
    return pa.table(arrays)


def make(rows: int, out: Path, seed: int, shift: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    writer = None
    for number, start in enumerate(range(0, rows, CHUNK)):
        table = chunk(min(CHUNK, rows - start), seed * 1000 + number, shift)
        writer = writer or pq.ParquetWriter(tmp, table.schema, use_dictionary=False)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    tmp.replace(out)


def project(folder: Path) -> None:
    """A project trained on 20,000 rows: LightGBM with its defaults (no search)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    table = chunk(20_000, 7, shift=False)
    frame = table.to_pandas()
    noise = np.random.default_rng(8).standard_normal(len(frame))
    frame["y"] = np.where(frame["x0"].fillna(0) + 0.5 * frame["x1"].fillna(0) + noise > 0,
                          "yes", "no")  # fmt: skip
    frame.to_parquet(folder / "train.parquet", index=False)
    frame[COLUMNS].to_parquet(folder / "reference.parquet", index=False)
    loopml = str(Path(sys.executable).with_name("loopml"))
    subprocess.run([loopml, "init", "train.parquet", "--target", "y"], cwd=folder, check=True)  # noqa: S603
    spec = yaml.safe_load((folder / "loopml.yaml").read_text())
    spec["models"]["candidates"] = ["lightgbm", "linear"]
    spec["models"]["search"]["trials"] = 0
    spec["problem"]["success_criteria"] = []
    (folder / "loopml.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    subprocess.run([loopml, "run"], cwd=folder, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def timed(command: list[str], out: Path, label: str, rows: int) -> None:
    start = time.perf_counter()
    done = subprocess.run(command, check=False, stdout=subprocess.DEVNULL)  # noqa: S603
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: drift found, or refused rows
        raise SystemExit(f"{' '.join(command)} failed with exit status {done.returncode}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    result = {"step": label, "rows": rows, "seconds": seconds, "cpu_s": cpu,
              "peak_mib": usage.ru_maxrss / 1024}  # fmt: skip
    out.write_text(json.dumps(result))
    print(json.dumps(result))


def table(paths: list[Path]) -> None:
    results = [json.loads(p.read_text()) for p in paths]
    startup = {r["step"]: r["seconds"] for r in results if r["rows"] <= STARTUP_ROWS}
    print("| step | rows | seconds | rows/s | rows/s less start-up | CPU seconds | peak MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in sorted(results, key=lambda r: (r["step"], r["rows"])):
        rate = r["rows"] / r["seconds"]
        net = r["seconds"] - startup.get(r["step"], 0.0)
        less = f"{r['rows'] / net:,.0f}" if r["rows"] > STARTUP_ROWS and net > 0 else "-"
        cpu = f"{r['cpu_s']:.1f}" if "cpu_s" in r else "-"
        print(f"| {r['step']} | {r['rows']:,} | {r['seconds']:.1f} | {rate:,.0f} | {less} | "
              f"{cpu} | {r['peak_mib']:,.0f} |")  # fmt: skip
    print()
    for step in sorted({r["step"] for r in results}):
        sizes = sorted(
            (r for r in results if r["step"] == step and r["rows"] > STARTUP_ROWS),
            key=lambda r: r["rows"],
        )
        if len(sizes) > 1:
            small, large = sizes[0], sizes[-1]
            start = next((r for r in results if r["step"] == step and r["rows"] <= STARTUP_ROWS),
                         {"seconds": 0.0, "cpu_s": 0.0})  # fmt: skip
            print(f"{step}: time per row at {large['rows']:,} / at {small['rows']:,} rows = "
                  f"{_ratio(small, large, 'seconds', 0.0):.2f}, less start-up "
                  f"{_ratio(small, large, 'seconds', start['seconds']):.2f}, CPU less start-up "
                  f"{_ratio(small, large, 'cpu_s', start.get('cpu_s', 0.0)):.2f} (1.00 is "
                  f"linear); peak memory {small['peak_mib']:,.0f} -> "
                  f"{large['peak_mib']:,.0f} MiB")  # fmt: skip


def _ratio(small: dict, large: dict, key: str, fixed: float) -> float:
    """(cost per row of ``large``) / (cost per row of ``small``), ``fixed`` taken off."""
    if key not in small or key not in large:
        return float("nan")
    return ((large[key] - fixed) / large["rows"]) / ((small[key] - fixed) / small["rows"])


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("make")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    sub.add_parser("project").add_argument("--dir", type=Path, required=True)
    p = sub.add_parser("time")
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--step", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("command", nargs="+")
    sub.add_parser("table").add_argument("results", nargs="+", type=Path)
    args = parser.parse_args()
    if args.action == "make":
        make(args.rows, args.out, args.seed, shift=True)
    elif args.action == "project":
        project(args.dir)
    elif args.action == "time":
        timed(args.command, args.json, args.step, args.rows)
    else:
        table(args.results)


if __name__ == "__main__":
    main()
