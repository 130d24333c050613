"""A local stand-in for the ModelArts training-job-configs API, for demos and tests.

Application code never imports this package, and this package never imports ``configs_app``:
its AK/SK verifier is an independent implementation of the signing algorithm, so the client's
signer is checked against something other than itself. Standard library only (Django is used by
the management command alone).

Speaks ``/work/shared/modelarts-api.md``: the five config endpoints, IAM tokens, AK/SK signing,
the documented error shapes; where the reference only infers, the code says so.

Modules:
    data      deterministic, realistic seed data (with secret values in many forms)
    state     :class:`~modelarts_sim.state.SimulatorState`: configs, credentials, tokens, faults, request log
    app       the WSGI application (routing, authentication, endpoints, fault steps)
    signing   server-side ``SDK-HMAC-SHA256`` verification
    iam       ``POST /v3/auth/tokens`` and ``GET /v3/projects``
    faults    fault kinds and their parameters
    control   the ``/_sim/`` control endpoints
    errors    response bodies and codes
    server    :class:`~modelarts_sim.server.SimulatorServer`, a threaded HTTP/1.1 server

Quick start::

    from modelarts_sim.server import SimulatorServer
    from modelarts_sim.state import SimulatorState

    state = SimulatorState(configs=500, seed=1)
    server = SimulatorServer(state).start()         # port 0: any free port
    state.env("aksk", server.url)                    # MODELARTS_* variables for the dashboard
    state.add_fault("error", endpoint="detail", status=503, count=2)
    server.stop()

Or from the shell: ``python manage.py modelarts_simulator --port 8900 --configs 500 --seed 1``.
"""
