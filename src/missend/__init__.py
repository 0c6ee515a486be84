"""missend: stop outbound e-mail mis-sends before they become personal-data breaches."""

from missend.engine import Engine
from missend.history.model import SenderHistory
from missend.message import Message, parse_message
from missend.policy import Policy, PolicyError
from missend.verdict import Action, Verdict

__all__ = [
    "Action",
    "Engine",
    "Message",
    "Policy",
    "PolicyError",
    "SenderHistory",
    "Verdict",
    "parse_message",
]
__version__ = "0.1.0"
