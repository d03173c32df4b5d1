"""GradCAM on resnet50 at 224 px: ours against pytorch-grad-cam and the autograd floor.

Floor: one forward plus one backward of the same model at the same batch, the backward
being ``torch.autograd.grad`` of the summed class logits with respect to the input (no
parameter gradients: the cheapest full backward). pytorch-grad-cam is called as its README
shows, on the same input tensor, class and layer. All run interleaved in one process.

    uv run python benchmarks/bench_gradcam.py [--rounds 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse

import timm
import torch
from _timing import compare, device_name
from pytorch_grad_cam import GradCAM as ReferenceGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from autotimm_widgets.interpretation import GradCAM


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    device = torch.device(args.device)

    torch.manual_seed(0)
    model = timm.create_model("resnet50", pretrained=False).eval().to(device)
    ours = GradCAM(model, target_layer="layer4", use_cuda=device.type == "cuda")
    reference = ReferenceGradCAM(model, target_layers=[model.layer4])
    print(f"device: {device_name(device)}, torch {torch.__version__}")

    for batch in args.batches:
        inputs = torch.randn(batch, 3, 224, 224, device=device)
        classes = list(range(batch))

        def floor():
            x = inputs.detach().requires_grad_(True)
            logits = model(x)
            torch.autograd.grad(logits[torch.arange(batch), classes].sum(), x)

        def forward_only():
            with torch.no_grad():
                model(inputs)

        def run_ours():
            return ours.explain_batch(inputs, target_classes=classes, batch_size=batch, show_progress=False)

        def run_reference():
            return reference(inputs, targets=[ClassifierOutputTarget(c) for c in classes])

        times = compare(
            {"ours": run_ours, "pytorch-grad-cam": run_reference, "floor": floor, "forward": forward_only},
            args.rounds,
            device,
        )
        print(
            f"batch {batch:>2}: ours {times['ours'] * 1000:8.1f} ms | pytorch-grad-cam {times['pytorch-grad-cam'] * 1000:8.1f} ms"
            f" | floor {times['floor'] * 1000:8.1f} ms | ours/floor {times['ours'] / times['floor']:.2f}"
            f" | ours/pytorch-grad-cam {times['ours'] / times['pytorch-grad-cam']:.2f}"
            f" | ours/forward-only {times['ours'] / times['forward']:.2f}"
        )
    reference.activations_and_grads.release()


if __name__ == "__main__":
    main()
