"""The explainer core: usable with no notebook at all (widget -> interpretation -> torch)."""

from ._layers import LayerInfo
from .attention import AttentionFlow, AttentionRollout, GradientWeightedRollout, Rollout, TokenLayout
from .base import BaseInterpreter, BatchAttribution
from .cam import BaseCAM
from .compare import compare_figure, compare_methods
from .gradcam import GradCAM
from .gradcam_elementwise import GradCAMElementWise
from .gradcam_plusplus import GradCAMPlusPlus
from .hirescam import HiResCAM
from .integrated_gradients import IntegratedGradients
from .layercam import LayerCAM
from .preprocessing import PreprocessConfig
from .registry import Capabilities, MethodInfo, Param, create_explainer, list_methods, method_info, register_method
from .smoothgrad import SmoothGrad
from .types import ImageBatch, ImageInput, TargetClass, TargetClasses
from .xgradcam import XGradCAM

__all__ = [
    "AttentionFlow",
    "AttentionRollout",
    "BaseCAM",
    "BaseInterpreter",
    "BatchAttribution",
    "Capabilities",
    "GradCAM",
    "GradCAMElementWise",
    "GradCAMPlusPlus",
    "GradientWeightedRollout",
    "HiResCAM",
    "ImageBatch",
    "ImageInput",
    "IntegratedGradients",
    "LayerCAM",
    "LayerInfo",
    "MethodInfo",
    "Param",
    "PreprocessConfig",
    "Rollout",
    "SmoothGrad",
    "TargetClass",
    "TargetClasses",
    "TokenLayout",
    "XGradCAM",
    "compare_figure",
    "compare_methods",
    "create_explainer",
    "list_methods",
    "method_info",
    "register_method",
]
