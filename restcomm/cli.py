"""The `restcomm` command: run the server, and manage accounts from the shell."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

from restcomm import logs
from restcomm import settings as settings_module
from restcomm.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        config = settings_module.from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        logs.configure(config.log_format, config.log_level, config.node)
    except ValueError as exc:
        parser.error(str(exc))
    return args.run(config, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="restcomm", description="A RestComm-compatible programmable-voice server.")
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the HTTP API (and SIP) server")
    settings_module.add_flags(serve)
    serve.set_defaults(run=run_serve)

    cluster = commands.add_parser("cluster", help="a local cluster: N nodes on 127.0.0.2.. and Kamailio in front")
    settings_module.add_flags(cluster)
    cluster.add_argument("--nodes", type=int, default=2, help="how many nodes (127.0.0.2, 127.0.0.3, ...)")
    cluster.add_argument("--proxy-port", type=int, default=5070, help="Kamailio's SIP port on 127.0.0.1")
    cluster.set_defaults(run=run_cluster)

    accounts = commands.add_parser("accounts", help="list accounts, create one, change a password")
    settings_module.add_flags(accounts)
    account_commands = accounts.add_subparsers(title="account commands", required=True)
    listing = account_commands.add_parser("list", help="every account, oldest first")
    listing.set_defaults(run=run_accounts, action="list")
    create = account_commands.add_parser("create", help="create an account (top-level unless --parent)")
    create.add_argument("email", help="e-mail address, also the login name")
    create.add_argument("--friendly-name", default=None)
    create.add_argument("--parent", default=None, help="SID or e-mail of the parent account")
    create.add_argument("--administrator", action="store_true", help="give it the Administrator role")
    create.add_argument("--password", default=None, help="(prompted for when omitted)")
    create.set_defaults(run=run_accounts, action="create")
    passwd = account_commands.add_parser("passwd", help="set an account's password (changes its auth token)")
    passwd.add_argument("account", help="SID or e-mail address")
    passwd.add_argument("--password", default=None, help="(prompted for when omitted)")
    passwd.set_defaults(run=run_accounts, action="passwd")
    limits = account_commands.add_parser(
        "limits", help="show or set an account's limits (0 removes one): calls per second, live calls, requests")
    limits.add_argument("account", help="SID or e-mail address")
    limits.add_argument("--calls-per-second", type=float, default=None,
                        help="calls created through the API start at most this many per second")
    limits.add_argument("--max-concurrent-calls", type=int, default=None, help="live calls at a time (429 over it)")
    limits.add_argument("--max-concurrent-requests", type=int, default=None,
                        help="API requests under way at a time (429 over it)")
    limits.set_defaults(run=run_accounts, action="limits")
    return parser


def run_serve(config: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from restcomm.app import create_app
    from restcomm.serve import DrainingServer

    app = create_app(config, freeze_heap=True)
    server = DrainingServer(uvicorn.Config(app, host=config.http_host, port=config.http_port,
                                           log_level=config.log_level.lower(),
                                           access_log=config.log_level.lower() == "debug",
                                           # None: uvicorn's lines go through our handler, format and redaction.
                                           log_config=None),
                            app.context.engine, config.drain_seconds)
    server.run()
    return 0 if server.started else 3


def run_cluster(config: Settings, args: argparse.Namespace) -> int:
    from restcomm import cluster_cli

    return cluster_cli.run(config, args.nodes, args.proxy_port)


def run_accounts(config: Settings, args: argparse.Namespace) -> int:
    from restcomm import accounts_cli

    try:
        return asyncio.run(accounts_cli.run(config, args, ask_password=_ask_password))
    except accounts_cli.CommandError as exc:
        print(f"restcomm: {exc}", file=sys.stderr)
        return 1


def _ask_password() -> str:
    from restcomm.accounts_cli import CommandError

    # Without a terminal (a script, CI, a container without -t) getpass would end in an EOFError traceback.
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask for the password on: give it with --password")
    try:
        first = getpass.getpass("New password: ")
        again = getpass.getpass("Again: ")
    except EOFError:
        raise CommandError("no password given") from None
    if first != again:
        raise CommandError("the passwords differ")
    return first


if __name__ == "__main__":
    sys.exit(main())
