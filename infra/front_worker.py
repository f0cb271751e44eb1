"""One front worker of the local stack: an execution environment of every function, serving the HTTP API.

    python -m infra.front_worker --listener-fd N --ready-fd M --template PATH --parameters JSON
                                 --resource-names JSON [--access-log] [--log-events]

`LocalStack(workers=N)` starts N of these on one port, as Lambda runs concurrent
requests in separate execution environments: each imports the functions' code under the
environment it was started with (a cold start), warms them up and serves with its own
`infra.local_http` front, one invocation at a time. The kernel hands each new connection to
whichever worker accepts it first; the table and key rings were provisioned once, by the parent.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.child_server import child_arguments, serve_as_child
from infra.local import api_routes, print_event, warm_up
from infra.local_http import LocalApi, LocalHttpServer
from infra.template import Template


def main(argv: Sequence[str] | None = None) -> int:
    parser = child_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, required=True, help="the template to serve")
    parser.add_argument("--parameters", type=json.loads, required=True, help="its parameters (a JSON object)")
    parser.add_argument("--resource-names", type=json.loads, required=True, help="physical names (a JSON object)")
    parser.add_argument("--access-log", action="store_true", help="print one line per request")
    parser.add_argument("--log-events", action="store_true", help="print every event handed to a handler (stderr)")
    args = parser.parse_args(argv)
    template = Template.load(args.template, parameters=args.parameters, resource_names=args.resource_names)
    routes = api_routes(template, args.template.parent)
    warm_up(routes)

    def server(listener: socket.socket) -> LocalHttpServer:
        front = LocalHttpServer(listener, LocalApi(routes), access_log=args.access_log)
        if args.log_events:
            front.api.add_listener(print_event)
        return front

    return serve_as_child(args, server)


if __name__ == "__main__":
    sys.exit(main())
