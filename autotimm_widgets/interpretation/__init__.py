"""The explainer core: usable with no notebook at all (widget -> interpretation -> torch)."""

from ._layers import LayerInfo
from .attention import AttentionFlow, AttentionRollout, GradientWeightedRollout, Rollout, TokenLayout
from .base import Attribution, BaseInterpreter
from .cam import BaseCAM
from .gradcam import GradCAM
from .gradcam_plusplus import GradCAMPlusPlus
from .preprocessing import PreprocessConfig

__all__ = [
    "AttentionFlow",
    "AttentionRollout",
    "Attribution",
    "BaseCAM",
    "BaseInterpreter",
    "GradCAM",
    "GradCAMPlusPlus",
    "GradientWeightedRollout",
    "LayerInfo",
    "PreprocessConfig",
    "Rollout",
    "TokenLayout",
]
