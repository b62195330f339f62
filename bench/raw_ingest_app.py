"""The baseline of ``bench_ingest_http.py``: a FastAPI app that only parses the JSON body with orjson and answers.

No key check, no validation, no storage: the ceiling the HTTP stack sets on one core, as in performance.md part
2(c) ("100 events, raw orjson", 2,333 requests/s there). Run by the benchmark with
``uvicorn bench.raw_ingest_app:app`` pinned to the same core as the cxlens server.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()


@app.get("/api/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/events")
async def events(request: Request) -> Response:
    rows = orjson.loads(await request.body())
    return Response(orjson.dumps({"kind": "events", "rows": len(rows)}), media_type="application/json")
