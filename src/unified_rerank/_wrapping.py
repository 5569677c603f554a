"""What the framework wrappers (LangChain, LlamaIndex) share about their pydantic fields and
the core client they build. Plain Python: no framework and no pydantic import here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._lifetime import Closing

__all__ = ["ClientSlot", "assign_or_restore"]

C = TypeVar("C", bound=Closing)


class ClientSlot(Generic[C]):
    """The core client a wrapper built and the settings it was built from.

    Built on first use, built again when the settings change (the old one closed: its async
    pools close with their event loops). A deep copy or a pickle starts empty (an HTTP pool
    can be neither copied nor pickled); any two slots are equal, so a slot never makes two
    wrappers unequal. Wrappers give a shallow copy a new slot too: copies never share a pool.
    """

    __slots__ = ("client", "settings")

    def __init__(self) -> None:
        self.client: C | None = None
        self.settings: tuple[Any, ...] | None = None

    def get(self, settings: tuple[Any, ...], build: Callable[[], C]) -> C:
        """The client for ``settings`` (compared, not hashed), built by ``build`` if need be."""
        client = self.client
        if client is not None and self.settings == settings:
            return client
        fresh = build()
        if client is not None:
            client.close()
        self.client, self.settings = fresh, settings
        return fresh

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClientSlot)

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientSlot[C]:
        return ClientSlot()

    def __reduce__(self) -> tuple[type[ClientSlot[Any]], tuple[()]]:
        return (ClientSlot, ())


def assign_or_restore(
    model: Any, name: str, value: Any, assign: Callable[[str, Any], None]
) -> None:
    """``assign(name, value)`` on a pydantic model that validates assignment. pydantic keeps
    a value that a model validator then refused; here a refusal puts the field (and the set
    of fields set) back as it was, so a refused assignment changes nothing."""
    if name not in type(model).model_fields:
        assign(name, value)
        return
    old, fields_set = model.__dict__.get(name), set(model.__pydantic_fields_set__)
    try:
        assign(name, value)
    except Exception:
        model.__dict__[name] = old
        object.__setattr__(model, "__pydantic_fields_set__", fields_set)
        raise
