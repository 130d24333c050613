"""Config sources: the one described by the environment, and building a client for any source.

Secrets come from the process environment when a client is built and are never stored in the
database: a source row names the variables (``sk_env``), the environment holds the values.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from configs_app.models import ConfigSource
from dashboard.env import env_secret


def environment_source(*, using: str = "default") -> ConfigSource:
    """The source described by ``MODELARTS_*``, created or brought up to date from the settings."""
    cfg = settings.MODELARTS
    env = settings.MODELARTS_SECRET_ENV
    if _secret(env["AK"]) or _secret(env["SK"]):
        mode = ConfigSource.AuthMode.AKSK
    elif cfg["USERNAME"] or _secret(env["PASSWORD"]):
        mode = ConfigSource.AuthMode.PASSWORD
    else:
        mode = ConfigSource.AuthMode.TOKEN
    values = {
        "endpoint": cfg["ENDPOINT"],
        "region": cfg["REGION"],
        "project_id": cfg["PROJECT_ID"],
        "auth_mode": mode,
        "iam_endpoint": cfg["IAM_ENDPOINT"],
        "username": cfg["USERNAME"],
        "domain": cfg["DOMAIN"],
        "ak_env": env["AK"],
        "sk_env": env["SK"],
        "password_env": env["PASSWORD"],
        "token_env": env["TOKEN"],
        "from_environment": True,
    }
    source = ConfigSource.objects.using(using).filter(from_environment=True).first()
    if source is None:
        source, _ = ConfigSource.objects.using(using).get_or_create(name=cfg["SOURCE_NAME"], defaults=values)
        if not source.from_environment:
            ConfigSource.objects.using(using).filter(pk=source.pk).update(**values)
            source.refresh_from_db()
        return source
    changed = {k: v for k, v in values.items() if getattr(source, k) != v}
    if source.name != cfg["SOURCE_NAME"] and not ConfigSource.objects.using(using).filter(name=cfg["SOURCE_NAME"]).exists():
        changed["name"] = cfg["SOURCE_NAME"]
    if changed:
        ConfigSource.objects.using(using).filter(pk=source.pk).update(**changed)
        source.refresh_from_db()
    return source


def _secret(var_name: str) -> str:
    """The value of the variable named ``var_name`` (or of the file named by ``<var_name>_FILE``)."""
    return env_secret(var_name) if var_name else ""


def client_for_source(source: ConfigSource):
    """Build a ``ModelArtsClient`` for ``source`` from its settings and the environment.

    Raises:
        ImproperlyConfigured: the endpoint, project id or the credentials of its auth mode are
            missing. The message names the variables, never their values.
    """
    from configs_app.modelarts import AkSkAuth, IamPasswordAuth, ModelArtsClient, StaticTokenAuth

    if not source.endpoint or not source.project_id:
        raise ImproperlyConfigured(
            f"Source {source.name!r} needs an endpoint and a project id"
            + (" (MODELARTS_ENDPOINT, MODELARTS_PROJECT_ID)." if source.from_environment else ".")
        )
    cfg = settings.MODELARTS
    verify = cfg["VERIFY_SSL"]
    if source.auth_mode == ConfigSource.AuthMode.AKSK:
        ak, sk = _secret(source.ak_env), _secret(source.sk_env)
        if not ak or not sk:
            raise ImproperlyConfigured(f"Source {source.name!r} uses AK/SK: set {source.ak_env} and {source.sk_env}.")
        auth = AkSkAuth(ak=ak, sk=sk, project_id=source.project_id)
    elif source.auth_mode == ConfigSource.AuthMode.PASSWORD:
        password = _secret(source.password_env)
        if not (source.iam_endpoint and source.username and source.domain and password):
            raise ImproperlyConfigured(
                f"Source {source.name!r} uses an IAM password token: it needs the IAM endpoint, user name, "
                f"domain and {source.password_env}."
            )
        auth = IamPasswordAuth(
            iam_endpoint=source.iam_endpoint,
            username=source.username,
            password=password,
            domain=source.domain,
            project_id=source.project_id,
            timeout=cfg["TIMEOUT"],
            verify=verify,
        )
    else:
        token = _secret(source.token_env)
        if not token:
            raise ImproperlyConfigured(f"Source {source.name!r} uses a static token: set {source.token_env}.")
        auth = StaticTokenAuth(token=token)
    return ModelArtsClient(
        endpoint=source.endpoint,
        project_id=source.project_id,
        auth=auth,
        timeout=cfg["TIMEOUT"],
        max_retries=cfg["MAX_RETRIES"],
        verify=verify,
        pool_size=max(10, cfg["SYNC_CONCURRENCY"] * 2),
    )
