"""Training-run simulators with one surface: `fit(train, val)` and `simulate(runs)` over Dynamics."""
from lib.simulators.base import Simulator
from lib.simulators.gptfluence import GPTfluence, GPTfluenceConfig
from lib.simulators.gradient_baselines import GradDot, TracInCP, tracin_self_influence
from lib.simulators.health import METRIC_RANGES, RolloutHealth, rollout_health
from lib.simulators.rollout import rollout
from lib.simulators.simfluence import Simfluence
from lib.simulators.simfluence_sgd import SimfluenceSGD

__all__ = [
    "GPTfluence",
    "GPTfluenceConfig",
    "GradDot",
    "METRIC_RANGES",
    "RolloutHealth",
    "Simfluence",
    "SimfluenceSGD",
    "Simulator",
    "TracInCP",
    "rollout",
    "rollout_health",
    "tracin_self_influence",
]
