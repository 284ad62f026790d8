"""Given names of many languages, to tell a name heard right from a misheard one ("Shalee" for Shelby).

The lists are Faker's (``faker.providers.person.<locale>``, MIT, in its wheel: 70+ locales, ~31,000 first names,
~17,000 of them in Latin letters; and family names); read once per process, on first use. Without Faker
installed nothing is known (``is_given_name`` answers None) and callers keep every spelling.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

FIRST = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")
LAST = ("last_names", "last_names_male", "last_names_female")


@functools.cache
def given_names(attrs: tuple[str, ...] = FIRST) -> frozenset[str] | None:
    """Every first name (``LAST``: family name) of Faker's person providers, folded to lower case (None without
    Faker)."""
    try:
        import faker.providers.person as person
    except ImportError:
        return None
    names: set[str] = set()
    for info in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{info.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in attrs:
            value = provider.__dict__.get(attr)  # a list, or a dict of names to weights
            if isinstance(value, (dict, list, tuple, set, frozenset)):
                names.update(str(n).casefold() for n in value)
    return frozenset(names)


def is_given_name(word: str, family: bool = False) -> bool | None:
    """Whether ``word`` is spelled as a known given name (``family``: or a family name; each part of a
    hyphenated name); None when no list is installed."""
    names = given_names(FIRST + LAST if family else FIRST)
    if names is None:
        return None
    return all(part.casefold() in names for part in word.split("-") if part)


__all__ = ["given_names", "is_given_name"]
