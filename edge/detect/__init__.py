"""On-device detection: numba rule kernels, a calibrated anomaly score, four-level warnings, slope forecasts.

- ``bank``: ``DetectorBank`` maps a gateway's channels to state rows and steps blocks of readings;
- ``rulekernel`` / ``anomalykernel``: the numba kernels (arrays and scalars only, thresholds as arguments);
- ``reference``: their plain-Python twins, which the tests compare them against;
- ``tables``: rule models -> the kernel's tables; ``combined``: joint site rules; ``messages``: event text;
- ``anomaly``: the anomaly detector's design and its one configuration.

numba is imported only inside this package.
"""

from edge.detect.anomaly import DEFAULT_ANOMALY, AnomalyConfig
from edge.detect.bank import DetectorBank, OpenAlarm, StateMismatchError, StepResult, WarmUp

__all__ = [
    "DEFAULT_ANOMALY",
    "AnomalyConfig",
    "DetectorBank",
    "OpenAlarm",
    "StateMismatchError",
    "StepResult",
    "WarmUp",
]
