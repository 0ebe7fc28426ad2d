"""Why a guide pack is refused: one exception, turned into a message in `portal.cli.main`."""


class PackRejected(Exception):
    """A pack that must not be installed; the message says why, for the volunteer."""


class PackDeferred(PackRejected):
    """Not now, but maybe later: the disk is full or another install is running."""
