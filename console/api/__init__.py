"""The HTTP API of `fleetctl serve`: FastAPI over the same application layer as the CLI and console.

No business logic lives here: routes parse the request, check the token's scope, call the
application layer and turn its answers (and its errors) into JSON or RFC 9457 problem details.
No solver runs in the API process: it queues, workers execute.

    create_app(settings) -> FastAPI       (console.api.app)
    serve(settings, host, port, workers)  (console.api.server)
"""
