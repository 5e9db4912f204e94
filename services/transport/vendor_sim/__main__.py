"""Run one simulated vendor against a broker until Ctrl-C:
`python -m services.transport.vendor_sim --vendor-id V1 --accept-rate 0.9 --delay-s 2 --no-show-rate 0.05 --seed 7`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from shared.settings import KafkaSettings

from .behaviour import VendorBehaviour
from .simulator import VendorSim


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.transport.vendor_sim", description=__doc__)
    parser.add_argument("--vendor-id", required=True, help="answer the ride requests whose vendor_id header is this")
    parser.add_argument("--accept-rate", type=float, default=0.9, help="share of offers accepted (the rest rejected)")
    parser.add_argument("--delay-s", type=float, default=1.0, help="seconds before the first answer")
    parser.add_argument("--progress-delay-s", type=float, default=None, help="seconds between later answers")
    parser.add_argument("--no-show-rate", type=float, default=0.0, help="share of accepted rides the rider misses")
    parser.add_argument("--seed", type=int, default=0, help="the same seed answers the same offers the same way")
    parser.add_argument("--group-id", default=None, help="Kafka consumer group (default vendor-sim-<vendor id>)")
    parser.add_argument("--from-latest", action="store_true", help="a new group skips requests sent before it started")
    parser.add_argument(
        "--bootstrap-servers",
        default=None,
        help="Kafka address (default KAFKA_BOOTSTRAP_SERVERS)",
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    kafka = KafkaSettings(bootstrap_servers=args.bootstrap_servers) if args.bootstrap_servers else KafkaSettings()
    behaviour = VendorBehaviour(
        accept_rate=args.accept_rate,
        delay_s=args.delay_s,
        progress_delay_s=args.progress_delay_s,
        no_show_rate=args.no_show_rate,
        seed=args.seed,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with VendorSim(kafka, args.vendor_id, behaviour, group_id=args.group_id, from_latest=args.from_latest) as sim:
        logging.info("vendor %s answering ride requests on %s", args.vendor_id, kafka.bootstrap_servers)
        await stop.wait()
        logging.info("vendor %s stopping: %s", args.vendor_id, dict(sim.stats))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s vendor-sim %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    main()
