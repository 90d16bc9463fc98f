"""Start the `bandwidth` provider: what `bandwidth-plugin/__main__.py` runs.

The engine starts a plugin with its own address as the first argument and reads the port the plugin
listens on from the first line of stdout. Without an address (started by hand for
`PULUMI_DEBUG_PROVIDERS=bandwidth:<port>`), the engine sends it later through `Attach`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from concurrent import futures
from types import FrameType

import grpc
from pulumi.runtime.proto import provider_pb2_grpc

from .. import logs
from .provider import BandwidthProvider

#: Calls served at once: every resource of a stack may be in flight; each mostly waits on HTTP.
WORKERS = 16
MAX_MESSAGE = 400 * 1024 * 1024  # the engine's own limit for provider messages


def serve(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pulumi-resource-bandwidth", description=__doc__.splitlines()[0])
    parser.add_argument("engine", nargs="?", help="the engine's gRPC address (given by the engine)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free one)")
    args, engine_flags = parser.parse_known_args(argv)  # --logtostderr, -v=… and friends are the engine's
    logs.enable(engine_flags=engine_flags)
    provider = BandwidthProvider(args.engine)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bandwidth"),
        options=[("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)],
    )
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(provider, server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(port, flush=True)
    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        provider.cancelled.set()
        stopped.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    stopped.wait()
    server.stop(grace=5).wait()


def main() -> None:
    serve(sys.argv[1:])
