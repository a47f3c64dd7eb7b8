"""Fuzz/soak the OTLP receiver: many generated bodies against a live ``agentslo serve``.

Hypothesis generates request bodies of every kind a broken or hostile client may
send: random bytes, valid protobuf requests with bytes flipped, inserted, deleted
or cut off, OTLP/JSON documents with values of the wrong types, missing or
malformed ids, absurd timestamps and deep nesting, arbitrary JSON, gzip around
any of these (or gzip that is not), and wrong content types. Every 10th request
is a clean export with fresh trace ids (a sentinel).

It checks, for every request: the server answers (no 5xx, no dropped
connection) with one of 200, 400, 413, 415; and at the end: the process is still
alive, and every sentinel span acknowledged with 200 is in the store.

Run::

    python bench/fuzz_otlp.py --bodies 100000
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.ingest.otlp_samples import agent_trace, json_doc, proto_request

TEMPLATE_PB = proto_request(agent_trace())
TEMPLATE_JSON = json_doc(agent_trace())
ALLOWED = {200, 400, 413, 415}


def _mutate(data: st.DataObject) -> bytes:
    body = bytearray(TEMPLATE_PB)
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "cut", "dup"]))
        if not body:
            break
        i = data.draw(st.integers(0, len(body) - 1))
        if op == "flip":
            body[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "insert":
            body[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del body[i : i + data.draw(st.integers(1, 8))]
        elif op == "cut":
            del body[i:]
        else:
            body += body[i : i + 64]
    return bytes(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)  # fmt: skip
weird_ids = st.one_of(
    st.just(""), st.just("00" * 16), st.text(max_size=40), st.integers(), st.none(),
    st.binary(min_size=8, max_size=16).map(lambda b: b.hex()),
)  # fmt: skip
weird_times = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64), st.text(max_size=25), st.none(),
    st.just(str(time.time_ns() + 10**18)), st.floats(allow_nan=False),
)  # fmt: skip
any_values = st.one_of(
    st.fixed_dictionaries({"stringValue": json_values}),
    st.fixed_dictionaries({"intValue": json_values}),
    st.fixed_dictionaries({"doubleValue": json_values}),
    st.fixed_dictionaries({"boolValue": json_values}),
    st.fixed_dictionaries({"arrayValue": json_values}),
    st.fixed_dictionaries({"bytesValue": json_values}),
    json_values,
)


def _json_variant(data: st.DataObject) -> bytes:
    doc = json.loads(json.dumps(TEMPLATE_JSON))
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for _ in range(data.draw(st.integers(1, 6))):
        span = spans[data.draw(st.integers(0, len(spans) - 1))]
        field = data.draw(st.sampled_from(
            ["traceId", "spanId", "parentSpanId", "startTimeUnixNano", "endTimeUnixNano",
             "attributes", "name", "kind", "status", "events", "attr"]
        ))  # fmt: skip
        if field in ("traceId", "spanId", "parentSpanId"):
            span[field] = data.draw(weird_ids)
        elif field.endswith("UnixNano"):
            span[field] = data.draw(weird_times)
        elif field == "attr":
            key = data.draw(st.sampled_from(
                ["gen_ai.usage.input_tokens", "gen_ai.operation.name", "llm.cost.total",
                 "agentslo.outcome", "gen_ai.request.model", "x"]
            ))  # fmt: skip
            attrs = span["attributes"] if isinstance(span.get("attributes"), list) else []
            attrs.append({"key": key, "value": data.draw(any_values)})
            span["attributes"] = attrs
        else:
            span[field] = data.draw(json_values)
    if data.draw(st.booleans()):
        return json.dumps(doc).encode()
    return json.dumps(data.draw(json_values)).encode()


class Soak:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.port = port
        self.codes: Counter[int] = Counter()
        self.kinds: Counter[str] = Counter()
        self.sentinels: list[str] = []
        self.failures: list[tuple[str, int, str, str | None, bytes]] = []
        self.n = 0

    def post(self, body: bytes, ctype: str, encoding: str | None = None) -> int:
        headers = {"Content-Type": ctype}
        if encoding:
            headers["Content-Encoding"] = encoding
        try:
            self.conn.request("POST", "/v1/traces", body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise AssertionError(f"the server dropped the connection: {exc!r}") from exc
        if response.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.codes[response.status] += 1
        return response.status

    def sentinel(self) -> None:
        trace = f"{0xF00D:08x}{self.n:024x}"
        status = self.post(proto_request(agent_trace(trace)), "application/x-protobuf")
        if status == 200:
            self.sentinels.append(trace)
        else:
            self.failures.append(("sentinel", status, "", None, b""))


def _byte_mutation(body: bytes, rng: random.Random) -> bytes:
    """A cheap derived body: bytes flipped, inserted, deleted or cut off."""
    out = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        if not out:
            break
        i = rng.randrange(len(out))
        op = rng.randrange(4)
        if op == 0:
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 2:
            del out[i : i + rng.randint(1, 8)]
        else:
            del out[i:]
    return bytes(out)


def run(port: int, examples: int, per_example: int) -> Soak:
    """``examples`` Hypothesis examples, each sent as is and as ``per_example - 1``
    cheap byte-level variants (Hypothesis generates the structure; a seeded
    ``random.Random`` multiplies it, which keeps 100,000 bodies within minutes)."""
    soak = Soak(port)

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.sampled_from(["bytes", "mutated-pb", "json", "json", "type"]),
        st.integers(0, 2**32 - 1),
        st.data(),
    )
    def one(kind: str, seed: int, data: st.DataObject) -> None:
        rng = random.Random(seed)
        ctype = "application/json" if kind == "json" else "application/x-protobuf"
        if kind == "bytes":
            base = data.draw(st.binary(max_size=4096))
        elif kind == "mutated-pb":
            base = _mutate(data)
        elif kind == "json":
            base = _json_variant(data)
        else:
            base = TEMPLATE_PB
            ctype = data.draw(st.sampled_from(["text/plain", "", "application/xml",
                                               "application/json"]))  # fmt: skip
        wrap = data.draw(st.integers(0, 9))
        for j in range(per_example):
            soak.n += 1
            if soak.n % 10 == 0:
                soak.sentinel()
            body = base if j == 0 else _byte_mutation(base, rng)
            soak.kinds[kind] += 1
            encoding = None
            if wrap == 0:
                body, encoding = gzip.compress(body), "gzip"
            elif wrap == 1:
                encoding = rng.choice(["gzip", "br", "deflate"])
            status = soak.post(body, ctype, encoding)
            if status not in ALLOWED:
                soak.failures.append((kind, status, ctype, encoding, body[:300]))
            if soak.n % 10_000 == 0:
                print(f"  {soak.n:,} bodies, codes {dict(soak.codes)}", flush=True)

    one()
    return soak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=100_000, help="bodies to send")
    parser.add_argument(
        "--per-example", type=int, default=10, help="bodies derived from each Hypothesis example"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentslo-fuzz-") as tmp:
        db = Path(tmp) / "fuzz.duckdb"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        agentslo = str(Path(sys.executable).with_name("agentslo"))
        proc = subprocess.Popen(
            [agentslo, "serve", "--no-auth", "--db", str(db), "--port", str(port),
             "--log-level", "warning", "--decode-workers", "0"],
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("agentslo serve did not start") from None
                time.sleep(0.2)
        started = time.monotonic()
        try:
            soak = run(port, -(-args.bodies // args.per_example), args.per_example)
            alive = proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        elapsed = time.monotonic() - started
        con = duckdb.connect(str(db), read_only=True)
        con.execute("CREATE TEMP TABLE sentinel (trace_id VARCHAR)")
        con.executemany("INSERT INTO sentinel VALUES (?)", [(t,) for t in soak.sentinels])
        missing = con.execute(
            "SELECT count(*) FROM sentinel s WHERE (SELECT count(*) FROM spans p "
            "WHERE p.trace_id = s.trace_id) <> 4"
        ).fetchone()
        stored = con.execute("SELECT count(*) FROM spans").fetchone()
        con.close()
    result: dict[str, Any] = {
        "bodies": soak.n,
        "seconds": round(elapsed, 1),
        "status_codes": dict(sorted(soak.codes.items())),
        "kinds": dict(soak.kinds),
        "server_alive_at_end": alive,
        "sentinel_traces_acknowledged": len(soak.sentinels),
        "acknowledged_sentinel_traces_missing": missing[0] if missing else None,
        "spans_stored": stored[0] if stored else None,
        "unexpected_answers": [repr(f) for f in soak.failures[:10]],
    }
    print(json.dumps(result, indent=2))
    if not alive or (missing and missing[0]) or soak.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
