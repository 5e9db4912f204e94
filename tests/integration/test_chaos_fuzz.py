"""Hostile input at CI size, at every entry point of the running stack: MLLP bytes, Kafka records on every consumed
topic, and schemathesis-generated HTTP requests from each service's OpenAPI. No crash, no hang, no 5xx; each bad
Kafka record dead-lettered by each consumer with its reason. `make chaos` runs the same with more rounds."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from infra.chaos_apps import consumers_of, service_apps
from infra.chaos_fuzz_http import fuzz_http, server_errors
from infra.chaos_fuzz_kafka import fuzz_topics
from infra.chaos_fuzz_mllp import MllpFuzzer, made_up_phi
from infra.chaos_result import FuzzTally
from infra.chaos_security import scan_logs
from infra.stack import MLLP_PORT, Stack

pytestmark = pytest.mark.integration


def count(chaos_figures: dict[str, int], tally: FuzzTally) -> None:
    chaos_figures["inputs_fuzzed"] = chaos_figures.get("inputs_fuzzed", 0) + tally.tried
    chaos_figures["crashes"] = chaos_figures.get("crashes", 0) + tally.crashes + server_errors(tally)
    chaos_figures["hangs"] = chaos_figures.get("hangs", 0) + tally.hangs


async def test_mllp_listener_survives_garbage_broken_frames_huge_and_slow_senders(
    chaos_stack: Stack, chaos_figures: dict[str, int]
) -> None:
    phi = made_up_phi(random.Random(21))
    fuzzer = MllpFuzzer(
        "127.0.0.1", MLLP_PORT + chaos_stack.port_offset, f"{chaos_stack.url('intake')}/health", random.Random(21), phi
    )
    tally = await fuzzer.run(rounds=3)
    count(chaos_figures, tally)
    print(tally.tried, dict(tally.outcomes))

    assert tally.tried >= 18
    assert tally.failures == []
    assert tally.outcomes["huge_message:AR"] == 1
    assert tally.outcomes["slow_sender:AA"] + tally.outcomes["slow_sender:CA"] == 1
    leaks = scan_logs([chaos_stack.state_dir / "log"], phi)
    assert [str(leak) for leak in leaks] == []


async def test_every_hostile_kafka_record_is_dead_lettered_by_every_consumer(
    chaos_stack: Stack, chaos_figures: dict[str, int], tmp_path: Path
) -> None:
    consumers = consumers_of(service_apps(tmp_path))
    tally = await fuzz_topics(chaos_stack.bootstrap_servers, consumers, rounds=1, wait_s=120)
    count(chaos_figures, tally)
    print(tally.tried, dict(tally.outcomes))

    assert set(consumers) >= {"discharge.events", "notification.requests", "transport.ride-updates"}
    assert tally.failures == []
    assert tally.outcomes["dlq:invalid_envelope"] and tally.outcomes["dlq:invalid_payload"]
    assert tally.outcomes["dlq:unknown_event_type"]


async def test_generated_http_requests_get_no_5xx_and_no_hang(
    chaos_stack: Stack, chaos_figures: dict[str, int]
) -> None:
    tally = await asyncio.to_thread(fuzz_http, chaos_stack, examples=4)
    count(chaos_figures, tally)
    print(tally.tried, dict(tally.outcomes))

    assert tally.tried > 100
    assert tally.failures == []
    assert chaos_stack.running_services().keys() == {
        "coordinator",
        "intake",
        "assignment",
        "transport",
        "appointment",
        "resource",
        "notification",
    }
