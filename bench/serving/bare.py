"""The practical limit: a bare Starlette endpoint calling the same model on arrays.

No validation, no logging, no metrics, no batching: read the body, parse it with orjson,
build the columns, call the compiled model (``loopml.serve.arrays``), answer. loopml's
server should stay within 2x of this.

    python bare.py PACKAGE_DIR PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml.domain import ColumnKind
from loopml.serve.arrays import compile_bundle
from loopml.serve.standalone import load_package


def make_app(folder: Path) -> Starlette:
    bundle, _ = load_package(folder)
    model = compile_bundle(bundle)
    numeric = {c.name: c.kind is ColumnKind.NUMERIC for c in bundle.signature.columns}

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def predict(request: Request) -> Response:
        payload = orjson.loads(await request.body())
        if "columns" in payload:
            lists = payload["columns"]
        else:
            rows = payload["rows"] if "rows" in payload else [payload["row"]]
            lists = {name: [r[name] for r in rows] for name in numeric}
        columns = {
            name: np.array(lists[name], dtype=np.float64 if is_num else object)
            for name, is_num in numeric.items()
        }
        result = model.predict_columns(columns)
        body = {
            "predictions": result.predictions.tolist(),
            "probabilities": result.probabilities.tolist(),
        }
        return Response(
            orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
        )

    routes = [Route("/health", health), Route("/predict", predict, methods=["POST"])]
    return Starlette(routes=routes)


if __name__ == "__main__":
    uvicorn.run(make_app(Path(sys.argv[1])), port=int(sys.argv[2]), log_level="warning")
