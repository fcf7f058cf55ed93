"""Many clients submitting the same invoices at once: each invoice is stored exactly once."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import World, canonical

THREADS = 20
INVOICES = 500
PER_BATCH = 20


def test_twenty_clients_submitting_the_same_500_invoices_store_each_exactly_once(
    world: World,
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    auth = exporter.headers  # the key is made here, before the threads share it
    bodies = [
        world.invoice_body(importer, invoice_number=f"C-{n:03d}", amount=f"{n}.01")
        for n in range(INVOICES)
    ]
    batches = {
        f"idem-{n:03d}": {"invoices": bodies[n : n + PER_BATCH]}
        for n in range(0, INVOICES, PER_BATCH)
    }
    app = world.client.app
    start = threading.Barrier(THREADS)

    def submit_all(seed: int) -> dict[str, tuple[int, str]]:
        order = list(batches)
        random.Random(seed).shuffle(order)
        answers: dict[str, tuple[int, str]] = {}
        with TestClient(app, raise_server_exceptions=False) as client:
            start.wait()
            for key in order:
                response = client.post(
                    "/v1/invoices/batch",
                    json=batches[key],
                    headers={**auth, "Idempotency-Key": key},
                )
                answers[key] = (response.status_code, canonical(response.json()))
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(submit_all, range(THREADS)))

    statuses = {status for answers in results for status, _ in answers.values()}
    assert statuses == {200}
    first = results[0]
    items = [item for key in batches for item in json.loads(first[key][1])["results"]]
    assert [item["status"] for item in items] == [201] * INVOICES
    for key in batches:
        answers = {answers[key] for answers in results}
        assert len(answers) == 1, (key, answers)
    assert world.invoice_count() == INVOICES
    stored: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = world.client.get("/v1/invoices", params=params, headers=exporter.headers).json()
        stored += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(i["invoice_number"] for i in stored) == sorted(
        b["invoice_number"] for b in bodies
    )


def test_twenty_clients_posting_the_same_invoices_one_by_one_get_identical_answers(
    world: World,
) -> None:
    exporter, importer = world.trader("KZ"), world.trader("CN")
    auth = exporter.headers  # the key is made here, before the threads share it
    bodies = {
        f"single-{n:02d}": world.invoice_body(importer, invoice_number=f"S-{n:02d}")
        for n in range(25)
    }
    app = world.client.app
    start = threading.Barrier(THREADS)

    def submit_all(seed: int) -> dict[str, tuple[int, str]]:
        order = list(bodies)
        random.Random(seed).shuffle(order)
        with TestClient(app, raise_server_exceptions=False) as client:
            start.wait()
            answers = {}
            for key in order:
                response = client.post(
                    "/v1/invoices",
                    json=bodies[key],
                    headers={**auth, "Idempotency-Key": key},
                )
                answers[key] = (response.status_code, canonical(response.json()))
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(submit_all, range(THREADS)))

    for key in bodies:
        answers = {answers[key] for answers in results}
        assert len(answers) == 1, (key, answers)
        ((status, _),) = answers
        assert status == 201
    assert world.invoice_count() == len(bodies)


def test_without_idempotency_keys_concurrent_duplicates_are_refused_as_conflicts(
    world: World,
) -> None:
    exporter, importer = world.trader("RU"), world.trader("KZ")
    auth = exporter.headers  # the key is made here, before the threads share it
    body = world.invoice_body(importer, invoice_number="RACE-1")
    app = world.client.app
    start = threading.Barrier(THREADS)

    def submit(_: int) -> int:
        with TestClient(app, raise_server_exceptions=False) as client:
            start.wait()
            return client.post("/v1/invoices", json=body, headers=auth).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = sorted(pool.map(submit, range(THREADS)))

    assert statuses == [201] + [409] * (THREADS - 1)
    assert world.invoice_count() == 1
