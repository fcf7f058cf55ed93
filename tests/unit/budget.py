"""How many examples a costly property may take.

The ``ci`` profile runs a thousand examples per property; a property whose oracle solves a
linear program or a min-cost flow per example, or that nets every instance several times, takes
fewer there so that the whole suite stays well under fifteen minutes on two cores. The ``fast``
profile's smaller count is kept as it is.
"""

from __future__ import annotations

from hypothesis import settings

#: Examples of a costly property in the ``ci`` profile.
COSTLY_EXAMPLES = 200


def costly() -> settings:
    """Settings for a costly property: the profile's, with at most :data:`COSTLY_EXAMPLES`."""
    return settings(max_examples=min(COSTLY_EXAMPLES, settings.default.max_examples))
