"""Errors a user can act on: each names the field, the value and the fix."""


class PipelineError(Exception):
    """A problem with the user's input (a file, a param, a request), not a bug.

    Entry points print the message and exit non-zero instead of showing a traceback.
    """


class ParamsError(PipelineError):
    """A value in params.yaml is missing, of the wrong type or out of range."""


class DataError(PipelineError):
    """The input table cannot be used as it is."""


class ConfigMismatchError(PipelineError):
    """Params that are valid alone but contradict each other or the data."""


class TrainingDiverged(PipelineError):
    """The loss became NaN or infinite, or exploded: the candidate must not be registered."""


class WorkerLost(PipelineError):
    """A multi-worker training lost a peer: the run fails; restarting every worker resumes it."""
