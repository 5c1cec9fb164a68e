"""`restcomm cluster`: a local cluster on one machine, for trying it out and for the benchmark.

N `restcomm serve` nodes on 127.0.0.2, 127.0.0.3, ... (the same ports on each address), all on the one
PostgreSQL database of RESTCOMM_DATABASE_URL, with one cluster secret and one SIP nonce key, and Kamailio
(deploy/kamailio/kamailio.cfg) on 127.0.0.1 in front of them. Ctrl-C or SIGTERM drains the nodes (each
finishes its calls, up to RESTCOMM_DRAIN_SECONDS) and stops Kamailio.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from restcomm.settings import Settings

KAMAILIO_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "kamailio" / "kamailio.cfg"


def node_host(index: int) -> str:
    """127.0.0.2 for the first node: lo is 127.0.0.1/8, so every 127.x address binds with no setup."""
    return f"127.0.0.{index + 2}"


def node_environment(config: Settings, index: int, *, cluster_secret: str, sip_secret: str) -> dict[str, str]:
    host = node_host(index)
    return {
        **os.environ,
        "RESTCOMM_DATABASE_URL": config.database_url,
        "RESTCOMM_HTTP_HOST": host, "RESTCOMM_HTTP_PORT": str(config.http_port),
        "RESTCOMM_SIP_HOST": host, "RESTCOMM_SIP_PORT": str(config.sip_port),
        "RESTCOMM_NODE_ID": f"node-{index + 1}",
        "RESTCOMM_CLUSTER_SECRET": cluster_secret, "RESTCOMM_SIP_SECRET": sip_secret,
        "RESTCOMM_RECORDINGS_DIR": config.recordings_dir,
    }


def dispatcher_list(config: Settings, count: int) -> str:
    return "".join(f"1 sip:{node_host(i)}:{config.sip_port} 0 0\n" for i in range(count))


def kamailio_command(proxy_port: int, directory: Path, list_file: Path) -> list[str]:
    return ["kamailio", "-DD", "-E", "-f", str(KAMAILIO_CONFIG), "-l", f"udp:127.0.0.1:{proxy_port}",
            "-Y", str(directory), "-P", str(directory / "kamailio.pid"), "-w", str(directory),
            "-m", "64", "-M", "8", "-A", f'DS_LIST="{list_file}"', "-A", f'CTL_SOCKET="unix:{directory}/ctl"']


def _until_listening(base_url: str, process: subprocess.Popen, deadline_s: float = 60) -> None:
    """Until the node answers HTTP (any status): the first node has applied the migrations by then."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(base_url + "/restcomm/2012-04-24/Accounts.json", timeout=5)
            return
        except urllib.error.HTTPError:
            return  # 401: it is up
        except OSError:
            time.sleep(0.2)


def run(config: Settings, count: int, proxy_port: int) -> int:
    if not config.database_url.startswith(("postgres://", "postgresql://")):
        print("restcomm cluster: the nodes share a PostgreSQL database: set RESTCOMM_DATABASE_URL "
              "(or --database-url) to postgres://...", file=sys.stderr)
        return 2
    if shutil.which("kamailio") is None:
        print("restcomm cluster: kamailio is not installed (apt-get install kamailio)", file=sys.stderr)
        return 2
    restcomm = str(Path(sys.executable).parent / "restcomm")
    cluster_secret = config.cluster_secret or secrets.token_urlsafe(24)
    sip_secret = config.sip_secret or secrets.token_urlsafe(24)
    stop_requested: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        stop_requested.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="restcomm-cluster-") as scratch:
        directory = Path(scratch)
        list_file = directory / "dispatcher.list"
        list_file.write_text(dispatcher_list(config, count))
        try:
            # Nodes one after the other: the first applies the migrations, the others find them done.
            for index in range(count):
                env = node_environment(config, index, cluster_secret=cluster_secret, sip_secret=sip_secret)
                processes.append(subprocess.Popen([restcomm, "serve"], env=env, start_new_session=True))
                print(f"node-{index + 1}: API http://{node_host(index)}:{config.http_port}, "
                      f"SIP {node_host(index)}:{config.sip_port}", flush=True)
                if index == 0:
                    _until_listening(f"http://{node_host(index)}:{config.http_port}", processes[0])
            processes.append(subprocess.Popen(kamailio_command(proxy_port, directory, list_file),
                                              start_new_session=True, stdout=subprocess.DEVNULL,
                                              stderr=(directory / "kamailio.log").open("wb")))
            print(f"kamailio: SIP 127.0.0.1:{proxy_port} in front of {count} node(s); Ctrl-C drains and stops",
                  flush=True)
            while not stop_requested and all(p.poll() is None for p in processes):
                time.sleep(0.2)
        finally:
            for process in processes:  # nodes drain on SIGTERM; kamailio stops
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + config.drain_seconds + 15
            for process in processes:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    failed = [p.returncode for p in processes if p.returncode not in (0, -signal.SIGTERM)]
    return 0 if not failed else 1
