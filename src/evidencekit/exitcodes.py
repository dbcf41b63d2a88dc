"""Process exit codes, documented in the README."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What `evidencekit` tells its caller when it stops."""

    OK = 0  # every policy ran on complete evidence and found nothing
    FINDINGS = 1  # at least one finding
    USAGE = 2  # bad command line or configuration
    INCOMPLETE = 3  # a source failed or evidence is incomplete; wins over FINDINGS
