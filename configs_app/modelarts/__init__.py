"""ModelArts training-job-configs API client (pure library: no Django imports).

Public names: :class:`ModelArtsClient`; the auth modes :class:`AkSkAuth`, :class:`IamPasswordAuth`,
:class:`StaticTokenAuth`; the errors (all :class:`ModelArtsError`); the records
:class:`ConfigSummary`, :class:`ConfigPage`, :class:`ConfigDetail`, :class:`Parameter`.
"""

from .auth import AkSkAuth, IamPasswordAuth, ModelArtsAuth, StaticTokenAuth
from .client import ModelArtsClient
from .errors import (
    ModelArtsAuthError,
    ModelArtsBadRequest,
    ModelArtsBadResponse,
    ModelArtsError,
    ModelArtsListingChanged,
    ModelArtsNotFound,
    ModelArtsThrottled,
    ModelArtsUnavailable,
)
from .types import ConfigDetail, ConfigPage, ConfigSummary, Parameter

__all__ = [
    "AkSkAuth",
    "ConfigDetail",
    "ConfigPage",
    "ConfigSummary",
    "IamPasswordAuth",
    "ModelArtsAuth",
    "ModelArtsAuthError",
    "ModelArtsBadRequest",
    "ModelArtsBadResponse",
    "ModelArtsClient",
    "ModelArtsError",
    "ModelArtsListingChanged",
    "ModelArtsNotFound",
    "ModelArtsThrottled",
    "ModelArtsUnavailable",
    "Parameter",
    "StaticTokenAuth",
]
