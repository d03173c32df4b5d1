"""Captum's gradient and perturbation family on resnet50 at 224 px: ratios in one run.

* Saliency, InputXGradient, GuidedBackprop, Deconvolution and Guided Grad-CAM against the autograd
  floor, one forward plus one backward to the input of the same batch (target <= 1.15x);
* Occlusion and FeatureAblation against Captum's at the same ``perturbations_per_eval``
  (target <= 1.0x);
* DeepLift, DeepLiftShap, GradientShap and LRP against Captum's on the same input (target <= 1.0x);
* every gradient method also against Captum's own, for reference.

    uv run python benchmarks/bench_captum_family.py [--rounds 5] [--device cpu|cuda] [--batch 1]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import warnings

import timm
import torch
from _timing import compare, device_name
from captum import attr as ca
from captum.attr._utils.lrp_rules import EpsilonRule

from autotimm_widgets.interpretation import (
    LRP,
    Deconvolution,
    DeepLift,
    DeepLiftShap,
    FeatureAblation,
    GradientShap,
    GuidedBackprop,
    GuidedGradCAM,
    InputXGradient,
    Occlusion,
    Saliency,
)

warnings.filterwarnings("ignore")  # Captum warns on every DeepLift call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--window", type=int, default=32, help="occlusion window and stride, feature patch size")
    parser.add_argument("--per-eval", type=int, default=16, help="perturbations_per_eval for both libraries")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", choices=("gradients", "perturbation", "rules"), nargs="*")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    only = set(args.only or ("gradients", "perturbation", "rules"))
    torch.manual_seed(0)
    model = timm.create_model("resnet50", pretrained=False).eval().to(device)
    x = torch.randn(args.batch, 3, 224, 224, device=device)
    targets = [3] * args.batch
    classes = [[3]] * args.batch
    print(f"device: {device_name(device)}, torch {torch.__version__}; resnet50, batch {args.batch}, 224 px")

    def floor():
        leaf = x.detach().requires_grad_(True)
        torch.autograd.grad(model(leaf)[:, 3].sum(), leaf)

    def ours(explainer):
        return lambda: explainer.signed_batch(x, classes)

    def theirs(method, **kwargs):
        return lambda: method.attribute(x.clone().requires_grad_(True), target=targets, **kwargs)

    if "gradients" in only:
        pairs = {
            "Saliency": (Saliency(model, use_cuda=cuda), ca.Saliency(model)),
            "InputXGradient": (InputXGradient(model, use_cuda=cuda), ca.InputXGradient(model)),
            "GuidedBackprop": (GuidedBackprop(model, use_cuda=cuda), ca.GuidedBackprop(model)),
            "Deconvolution": (Deconvolution(model, use_cuda=cuda), ca.Deconvolution(model)),
            "GuidedGradCAM": (GuidedGradCAM(model, "layer4", use_cuda=cuda), ca.GuidedGradCam(model, model.layer4)),
        }
        runs = {"floor": floor}
        for name, (mine, reference) in pairs.items():
            runs[name], runs[f"captum {name}"] = ours(mine), theirs(reference)
        times = compare(runs, args.rounds, device)
        print(f"{'forward + backward':>22}: {times['floor'] * 1000:8.1f} ms")
        for name in pairs:
            print(
                f"{name:>22}: {times[name] * 1000:8.1f} ms | /floor {times[name] / times['floor']:.2f}"
                f" | /captum {times[name] / times[f'captum {name}']:.2f}"
            )

    if "perturbation" in only:
        w, per = args.window, args.per_eval
        occlusion = Occlusion(model, w, w, use_cuda=cuda, perturbations_per_eval=per)
        ablation = FeatureAblation(model, "patches", patch_size=w, use_cuda=cuda, perturbations_per_eval=per)
        mask = ablation._feature_ids(x)[:1, None]
        default_batches = Occlusion(model, w, w, use_cuda=cuda)  # as many rows a pass as fit memory
        runs = {
            "Occlusion": ours(occlusion),
            "Occlusion, default batches": ours(default_batches),
            "captum Occlusion": theirs(
                ca.Occlusion(model), sliding_window_shapes=(3, w, w), strides=(3, w, w), perturbations_per_eval=per
            ),
            "FeatureAblation": ours(ablation),
            "captum FeatureAblation": theirs(ca.FeatureAblation(model), feature_mask=mask, perturbations_per_eval=per),
        }
        times = compare(runs, max(1, args.rounds // 2), device)
        for name in ("Occlusion", "FeatureAblation"):
            print(
                f"{name:>22}: {times[name] * 1000:8.1f} ms | /captum {times[name] / times[f'captum {name}']:.2f}"
                f" (window {w}, perturbations_per_eval {per})"
            )
        name = "Occlusion, default batches"
        print(f"{name:>22}: {times[name] * 1000:8.1f} ms | /captum {times[name] / times['captum Occlusion']:.2f}")

    if "rules" in only:
        zero = torch.zeros_like(x)
        shap = GradientShap(model, "black+white", n_samples=8, use_cuda=cuda)
        dls = DeepLiftShap(model, "black+white", use_cuda=cuda)
        distribution = dls._baselines.build(x, dls.preprocessor)[0]
        neutral = [m for m in model.modules() if isinstance(m, (torch.nn.Identity, torch.nn.Flatten))]
        captum_lrp = ca.LRP(model)

        def lrp_with_rules():
            for module in neutral:
                module.rule = EpsilonRule()  # Captum's LRP refuses them otherwise, and removes them after each call
            return captum_lrp.attribute(x.clone().requires_grad_(True), target=targets)

        runs = {
            "DeepLift": ours(DeepLift(model, "zero", use_cuda=cuda)),
            "captum DeepLift": theirs(ca.DeepLift(model), baselines=zero),
            "DeepLiftShap": ours(dls),
            "captum DeepLiftShap": theirs(ca.DeepLiftShap(model), baselines=distribution),
            "GradientShap": ours(shap),
            "captum GradientShap": theirs(ca.GradientShap(model), baselines=distribution, n_samples=8),
            "LRP": ours(LRP(model, use_cuda=cuda)),
            "captum LRP": lrp_with_rules,
        }
        times = compare(runs, args.rounds, device)
        for name in ("DeepLift", "DeepLiftShap", "GradientShap", "LRP"):
            print(f"{name:>22}: {times[name] * 1000:8.1f} ms | /captum {times[name] / times[f'captum {name}']:.2f}")


if __name__ == "__main__":
    main()
