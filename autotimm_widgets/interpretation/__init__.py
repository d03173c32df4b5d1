"""The explainer core: usable with no notebook at all (widget -> interpretation -> torch)."""

from ._layers import LayerInfo
from ._pixel import PixelAttribution, SignedAttribution
from .ablation_cam import AblationCAM
from .attention import AttentionFlow, AttentionRollout, GradientWeightedRollout, Rollout, TokenLayout
from .base import BaseInterpreter, BatchAttribution
from .cam import BaseCAM
from .compare import compare_figure, compare_methods
from .deconvolution import Deconvolution
from .deeplift import DeepLift
from .deeplift_shap import DeepLiftShap
from .eigen_grad_cam import EigenGradCAM
from .eigencam import EigenCAM
from .feature_ablation import FeatureAblation
from .finer_cam import FinerCAM
from .fullgrad import FullGrad
from .gradcam import GradCAM
from .gradcam_elementwise import GradCAMElementWise
from .gradcam_plusplus import GradCAMPlusPlus
from .gradient_shap import GradientShap
from .guided_backprop import GuidedBackprop
from .guided_gradcam import GuidedGradCAM
from .hirescam import HiResCAM
from .input_x_gradient import InputXGradient
from .integrated_gradients import IntegratedGradients
from .kpca_cam import KPCA_CAM
from .layercam import LayerCAM
from .lrp import LRP
from .occlusion import Occlusion
from .preprocessing import PreprocessConfig
from .random_cam import RandomCAM
from .registry import Capabilities, MethodInfo, Param, create_explainer, list_methods, method_info, register_method
from .saliency import Saliency
from .score_cam import ScoreCAM
from .shapley_cam import ShapleyCAM
from .smoothgrad import SmoothGrad
from .targets import ClassLogit, ClassProbability, EmbeddingSimilarity, Target
from .types import ImageBatch, ImageInput, TargetClass, TargetClasses
from .xgradcam import XGradCAM

__all__ = [
    "KPCA_CAM",
    "LRP",
    "AblationCAM",
    "AttentionFlow",
    "AttentionRollout",
    "BaseCAM",
    "BaseInterpreter",
    "BatchAttribution",
    "Capabilities",
    "ClassLogit",
    "ClassProbability",
    "Deconvolution",
    "DeepLift",
    "DeepLiftShap",
    "EigenCAM",
    "EigenGradCAM",
    "EmbeddingSimilarity",
    "FeatureAblation",
    "FinerCAM",
    "FullGrad",
    "GradCAM",
    "GradCAMElementWise",
    "GradCAMPlusPlus",
    "GradientShap",
    "GradientWeightedRollout",
    "GuidedBackprop",
    "GuidedGradCAM",
    "HiResCAM",
    "ImageBatch",
    "ImageInput",
    "InputXGradient",
    "IntegratedGradients",
    "LayerCAM",
    "LayerInfo",
    "MethodInfo",
    "Occlusion",
    "Param",
    "PixelAttribution",
    "PreprocessConfig",
    "RandomCAM",
    "Rollout",
    "Saliency",
    "ScoreCAM",
    "ShapleyCAM",
    "SignedAttribution",
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
