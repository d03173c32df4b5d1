"""The CAM zoo on resnet50 at 224 px: ratios in one run.

* every gradient CAM against one no-grad forward pass of the same batch (target <= 1.15x);
* ScoreCAM and AblationCAM against pytorch-grad-cam's at the same batch size (target <= 0.7x).
  pytorch-grad-cam's perturbation loops take minutes on a CPU, so they run ``--perturb-rounds``
  times (default 1), interleaved with ours.

    uv run python benchmarks/bench_cam_zoo.py [--rounds 5] [--device cpu|cuda] [--batch-size 32] [--skip-perturbation]
"""

from __future__ import annotations

import argparse

import timm
import torch
from _timing import compare, device_name
from pytorch_grad_cam import AblationCAM as ReferenceAblationCAM
from pytorch_grad_cam import ScoreCAM as ReferenceScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from autotimm_widgets.interpretation import AblationCAM, ScoreCAM, create_explainer, list_methods, method_info
from autotimm_widgets.interpretation.cam import BaseCAM


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--perturb-rounds", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-perturbation", action="store_true", help="only the gradient CAMs")
    parser.add_argument("--perturbation-only", action="store_true", help="only ScoreCAM and AblationCAM")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"

    torch.manual_seed(0)
    model = timm.create_model("resnet50", pretrained=False).eval().to(device)
    print(f"device: {device_name(device)}, torch {torch.__version__}")

    inputs = torch.randn(1, 3, 224, 224, device=device)

    def forward_only():
        with torch.no_grad():
            model(inputs)

    gradient_cams = [
        n
        for n in list_methods(model)
        if issubclass(method_info(n).cls, BaseCAM) and method_info(n).cls.uses_class_gradients
    ]
    gradient_cams += ["shapleycam", "finercam"]
    runs = {"forward": forward_only}
    for name in gradient_cams:
        explainer = create_explainer(name, model, target_layer="layer4", use_cuda=cuda)
        runs[name] = lambda e=explainer: e.explain(inputs, target_class=3)
    times = {} if args.perturbation_only else compare(runs, args.rounds, device)
    for name in gradient_cams if times else []:
        print(f"{name:>20}: {times[name] * 1000:8.1f} ms | /forward {times[name] / times['forward']:.2f}")

    if args.skip_perturbation:
        return
    for ours_cls, reference_cls in [(AblationCAM, ReferenceAblationCAM), (ScoreCAM, ReferenceScoreCAM)]:
        ours = ours_cls(model, target_layer="layer4", use_cuda=cuda, batch_size=args.batch_size)
        reference = reference_cls(model, target_layers=[model.layer4])
        reference.batch_size = args.batch_size
        pair = compare(
            {
                "ours": lambda o=ours: o.explain(inputs, target_class=3),
                "pytorch-grad-cam": lambda r=reference: r(inputs, targets=[ClassifierOutputTarget(3)]),
            },
            args.perturb_rounds,
            device,
            warmup=0,
        )
        reference.activations_and_grads.release()
        print(
            f"{ours_cls.__name__:>20}: ours {pair['ours']:8.2f} s | pytorch-grad-cam {pair['pytorch-grad-cam']:8.2f} s"
            f" | ours/pytorch-grad-cam {pair['ours'] / pair['pytorch-grad-cam']:.2f} (batch {args.batch_size})"
        )


if __name__ == "__main__":
    main()
