"""The explainer core: usable with no notebook at all (widget -> interpretation -> torch)."""

from ._layers import LayerInfo
from .attention import AttentionFlow, AttentionRollout, GradientWeightedRollout, Rollout, TokenLayout
from .base import Attribution, BaseInterpreter
from .cam import BaseCAM
from .compare import compare_figure, compare_methods
from .gradcam import GradCAM
from .gradcam_plusplus import GradCAMPlusPlus
from .integrated_gradients import IntegratedGradients
from .preprocessing import PreprocessConfig
from .registry import Capabilities, MethodInfo, Param, create_explainer, list_methods, method_info, register_method
from .smoothgrad import SmoothGrad

__all__ = [
    "AttentionFlow",
    "AttentionRollout",
    "Attribution",
    "BaseCAM",
    "BaseInterpreter",
    "Capabilities",
    "GradCAM",
    "GradCAMPlusPlus",
    "GradientWeightedRollout",
    "IntegratedGradients",
    "LayerInfo",
    "MethodInfo",
    "Param",
    "PreprocessConfig",
    "Rollout",
    "SmoothGrad",
    "TokenLayout",
    "compare_figure",
    "compare_methods",
    "create_explainer",
    "list_methods",
    "method_info",
    "register_method",
]
