"""The explainer core: usable with no notebook at all (widget -> interpretation -> torch)."""

from ._layers import LayerInfo
from .ablation_cam import AblationCAM
from .attention import AttentionFlow, AttentionRollout, GradientWeightedRollout, Rollout, TokenLayout
from .base import BaseInterpreter, BatchAttribution
from .cam import BaseCAM
from .compare import compare_figure, compare_methods
from .eigen_grad_cam import EigenGradCAM
from .eigencam import EigenCAM
from .finer_cam import FinerCAM
from .fullgrad import FullGrad
from .gradcam import GradCAM
from .gradcam_elementwise import GradCAMElementWise
from .gradcam_plusplus import GradCAMPlusPlus
from .hirescam import HiResCAM
from .integrated_gradients import IntegratedGradients
from .kpca_cam import KPCA_CAM
from .layercam import LayerCAM
from .preprocessing import PreprocessConfig
from .random_cam import RandomCAM
from .registry import Capabilities, MethodInfo, Param, create_explainer, list_methods, method_info, register_method
from .score_cam import ScoreCAM
from .shapley_cam import ShapleyCAM
from .smoothgrad import SmoothGrad
from .targets import ClassLogit, ClassProbability, EmbeddingSimilarity, Target
from .types import ImageBatch, ImageInput, TargetClass, TargetClasses
from .xgradcam import XGradCAM

__all__ = [
    "KPCA_CAM",
    "AblationCAM",
    "AttentionFlow",
    "AttentionRollout",
    "BaseCAM",
    "BaseInterpreter",
    "BatchAttribution",
    "Capabilities",
    "ClassLogit",
    "ClassProbability",
    "EigenCAM",
    "EigenGradCAM",
    "EmbeddingSimilarity",
    "FinerCAM",
    "FullGrad",
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
    "RandomCAM",
    "Rollout",
    "ScoreCAM",
    "ShapleyCAM",
    "SmoothGrad",
    "Target",
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
