"""Start-up, serving and shutdown of the TF Serving stand-in.

Mirrors Server::BuildAndStart in model_servers/server.cc: options are checked,
every configured model must have an AVAILABLE version before any port opens,
then gRPC and (when --rest_api_port is set) REST start. Like the real server it
installs no SIGTERM/SIGINT handler: a signal ends it at once (open connections
are reset, nothing drains), and as PID 1 it ignores SIGTERM until SIGKILL. Only
with TFS_STANDIN_GRACEFUL_SHUTDOWN=1 (unit tests) does it drain and exit 0.

Typical usage example:

    exit_code = run(ServerOptions(model_name="m", model_base_path="/models/m"))
"""

import asyncio
import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
from aiohttp import web

from tfserving_standin import config as config_lib
from tfserving_standin import constants, grpc_service, rest
from tfserving_standin.config import ServerOptions
from tfserving_standin.errors import Code, ServingError
from tfserving_standin.manager import ModelManager
from tfserving_standin.servable import LoadOptions

logger = logging.getLogger(__name__)


def configure_logging() -> None:
    """glog-like lines on stderr (the real server logs there too)."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s.%(msecs)03d: %(levelname).1s %(module)s] %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


def _check_options(options: ServerOptions) -> None:
    """The argument checks at the top of Server::BuildAndStart."""
    if options.grpc_port == 0 and not options.grpc_socket_path:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "At least one of server_options.grpc_port or "
            "server_options.grpc_socket_path must be set.",
        )
    if options.use_alts_credentials and options.ssl_config_file:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Either use_alts_credentials must be false or ssl_config_file must be "
            "empty.",
        )
    if not options.model_base_path and not options.model_config_file:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Both server_options.model_base_path and server_options.model_config_file "
            "are empty!",
        )


def _read_batching(options: ServerOptions) -> None:
    """Server::BuildAndStart's batching block (after the model config is read)."""
    if options.enable_batching:
        if options.batching_parameters_file:
            config_lib.read_batching_parameters(options.batching_parameters_file)
        logger.warning("--enable_batching: the stand-in does not batch requests")
    elif options.batching_parameters_file:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "server_options.batching_parameters_file is set without setting "
            "server_options.enable_batching to true.",
        )


def _check_parallelism(options: ServerOptions) -> None:
    if (
        options.tensorflow_intra_op_parallelism > 0
        and options.tensorflow_inter_op_parallelism > 0
        and options.tensorflow_session_parallelism > 0
    ):
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Either configure server_options.tensorflow_session_parallelism or "
            "(server_options.tensorflow_intra_op_parallelism, "
            "server_options.tensorflow_inter_op_parallelism) separately. You cannot "
            "configure all.",
        )


def build_load_options(options: ServerOptions) -> LoadOptions:
    """SessionBundleConfig equivalents: session threads, tags and warmup."""
    from tensorflow.core.protobuf import config_pb2

    session_config = config_pb2.ConfigProto()
    if options.tensorflow_session_config_file:
        config_lib.parse_text_proto(
            options.tensorflow_session_config_file, session_config
        )
    _check_parallelism(options)
    if options.tensorflow_intra_op_parallelism > 0 or (
        options.tensorflow_inter_op_parallelism > 0
    ):
        session_config.intra_op_parallelism_threads = (
            options.tensorflow_intra_op_parallelism
        )
        session_config.inter_op_parallelism_threads = (
            options.tensorflow_inter_op_parallelism
        )
    else:
        session_config.intra_op_parallelism_threads = (
            options.tensorflow_session_parallelism
        )
        session_config.inter_op_parallelism_threads = (
            options.tensorflow_session_parallelism
        )
    return LoadOptions(
        tags=[t for t in options.saved_model_tags.split(",") if t],
        session_config=session_config,
        enable_warmup=options.enable_model_warmup,
        warmup_iterations=options.num_request_iterations_for_warmup,
        check_method_name=options.enable_signature_method_name_check,
    )


def _grpc_credentials(options: ServerOptions):
    if not options.ssl_config_file:
        logger.info("Using InsecureServerCredentials")
        return None
    ssl = config_lib.read_ssl_config(options.ssl_config_file)
    logger.info("Using SSL credentials")
    return grpc.ssl_server_credentials(
        [(ssl.server_key.encode(), ssl.server_cert.encode())],
        root_certificates=ssl.custom_ca.encode() or None,
        require_client_auth=ssl.client_verify,
    )


async def _wait_in_thread(fn, *args) -> None:
    """Runs a blocking call in a daemon thread (so shutdown never waits on it)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # handed to the event loop
            error = exc
            loop.call_soon_threadsafe(
                lambda: future.done() or future.set_exception(error)
            )
        else:
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))

    threading.Thread(target=target, name="standin-startup", daemon=True).start()
    await future


def graceful_shutdown() -> bool:
    """True when TFS_STANDIN_GRACEFUL_SHUTDOWN=1 asks for a drain on SIGTERM."""
    return os.environ.get(constants.GRACEFUL_SHUTDOWN_ENV, "") == "1"


async def serve(options: ServerOptions) -> int:
    """Loads the models, opens the ports and serves until a signal ends it."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    if graceful_shutdown():
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

    # Same order as Server::BuildAndStart: flag checks, models.config, batching
    # parameters, session config, then the parallelism check.
    _check_options(options)
    model_server_config = config_lib.build_model_server_config(options)
    _read_batching(options)
    load_options = build_load_options(options)
    manager = ModelManager(options, load_options)
    executor = ThreadPoolExecutor(
        max_workers=max(options.http_num_threads, 4), thread_name_prefix="standin"
    )
    startup = asyncio.ensure_future(
        _wait_in_thread(manager.reload_config, model_server_config, True)
    )
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({startup, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if not startup.done():
        logger.info("Received a stop signal while loading models; exiting")
        manager.stop()
        return 0
    startup.result()
    if options.model_config_file and options.fs_model_config_poll_wait_seconds > 0:
        manager.start_config_polling(
            options.model_config_file, options.fs_model_config_poll_wait_seconds
        )

    channel_options = [
        ("grpc.max_send_message_length", 2**31 - 1),
        ("grpc.max_receive_message_length", 2**31 - 1),
    ]
    channel_options += config_lib.parse_grpc_channel_arguments(
        options.grpc_channel_arguments
    )
    grpc_server = grpc.aio.server(options=channel_options)
    grpc_service.add_services(grpc_server, manager, options, executor)
    credentials = _grpc_credentials(options)
    addresses = []
    if options.grpc_port:
        addresses.append(f"0.0.0.0:{options.grpc_port}")
    if options.grpc_socket_path:
        addresses.append(f"unix:{options.grpc_socket_path}")
    for address in addresses:
        try:
            if credentials is None:
                grpc_server.add_insecure_port(address)
            else:
                grpc_server.add_secure_port(address, credentials)
        except RuntimeError as exc:
            raise ServingError(
                Code.INVALID_ARGUMENT, "Failed to BuildAndStart gRPC server"
            ) from exc
    await grpc_server.start()
    if options.grpc_port:
        logger.info("Running gRPC ModelServer at 0.0.0.0:%d ...", options.grpc_port)
    if options.grpc_socket_path:
        logger.info(
            "Running gRPC ModelServer at UNIX socket %s ...", options.grpc_socket_path
        )

    runner = None
    if options.http_port:
        if options.http_port == options.grpc_port:
            logger.error(
                "server_options.http_port cannot be same as grpc_port. Please use a "
                "different port for HTTP/REST API. Skipped exporting HTTP/REST API."
            )
        else:
            prometheus = config_lib.read_monitoring_config(
                options.monitoring_config_file
            )
            app = rest.build_app(manager, options, prometheus, executor)
            runner = web.AppRunner(
                app, access_log=None, shutdown_timeout=constants.SHUTDOWN_GRACE_SECONDS
            )
            await runner.setup()
            try:
                await web.TCPSite(runner, "0.0.0.0", options.http_port).start()
                logger.info(
                    "Exporting HTTP/REST API at:localhost:%d ...", options.http_port
                )
            except OSError as exc:
                logger.error(
                    "Failed to start HTTP Server at localhost:%d (%s)",
                    options.http_port,
                    exc,
                )

    await stop.wait()
    logger.info("Received a stop signal: draining requests and shutting down")
    shutdown = [grpc_server.stop(constants.SHUTDOWN_GRACE_SECONDS)]
    if runner is not None:
        shutdown.append(runner.cleanup())
    await asyncio.gather(*shutdown, return_exceptions=True)
    manager.stop()
    executor.shutdown(wait=False, cancel_futures=True)
    logger.info("Stand-in stopped")
    return 0


def run(options: ServerOptions) -> int:
    """Runs the stand-in; prints TF Serving's start-up error and returns 255."""
    logger.info(
        "%s: tensorflow_model_server look-alike for tests, pid %d",
        constants.STANDIN_BANNER,
        os.getpid(),
    )
    if graceful_shutdown():
        logger.info(
            "%s=1: SIGTERM drains for %.0f s (the real server dies at once)",
            constants.GRACEFUL_SHUTDOWN_ENV,
            constants.SHUTDOWN_GRACE_SECONDS,
        )
    else:
        # Python turns SIGINT into KeyboardInterrupt; the real server keeps the
        # default action, so Ctrl-C ends it at once too.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        return asyncio.run(serve(options))
    except ServingError as exc:
        print(f"Failed to start server. Error: {exc}", flush=True)
        return 255
