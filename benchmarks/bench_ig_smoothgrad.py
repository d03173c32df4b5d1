"""Integrated Gradients and SmoothGrad on resnet50 at 224 px: ours against Captum and the autograd floor.

Floor: one forward plus one backward of a batch of 50 inputs (``torch.autograd.grad`` of the
summed class logits with respect to the input; no parameter gradients), which is the least work
50 IG steps or 50 SmoothGrad samples can take. Captum's ``IntegratedGradients`` gets the same
input tensor, baseline tensor, class, steps and rule, with ``internal_batch_size=50`` (one batch).
Ours is timed through the public ``explain`` (resize and normalisation included), once with
``internal_batch_size=50`` / ``batch_size=50`` like Captum, and once with the defaults (sized to
fit memory). All contenders run interleaved in one process; medians over the rounds.

    uv run python benchmarks/bench_ig_smoothgrad.py [--rounds 3] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse

import timm
import torch
from captum.attr import IntegratedGradients as CaptumIG

from _timing import compare, device_name
from autotimm_widgets.interpretation import GradCAM, IntegratedGradients, SmoothGrad

STEPS = SAMPLES = 50
TARGET = 7


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"

    torch.manual_seed(0)
    model = timm.create_model("resnet50", pretrained=False).eval().to(device)
    x = torch.randn(1, 3, 224, 224, device=device)
    ig = IntegratedGradients(model, steps=STEPS, use_cuda=on_gpu, internal_batch_size=STEPS)
    ig_default = IntegratedGradients(model, steps=STEPS, use_cuda=on_gpu)
    black = ig.preprocessor.normalize(torch.zeros_like(x))  # the black baseline, the same tensor for Captum
    captum = CaptumIG(model)
    smooth = SmoothGrad(GradCAM(model, target_layer="layer4", use_cuda=on_gpu), num_samples=SAMPLES, batch_size=SAMPLES, seed=0)
    smooth_default = SmoothGrad(GradCAM(model, target_layer="layer4", use_cuda=on_gpu), num_samples=SAMPLES, seed=0)
    batch = x.expand(STEPS, -1, -1, -1).contiguous()
    print(f"device: {device_name(device)}, torch {torch.__version__}")

    def floor():
        inputs = batch.detach().requires_grad_(True)
        torch.autograd.grad(model(inputs)[:, TARGET].sum(), inputs)

    contenders = {
        "ig": lambda: ig.explain(x, target_class=TARGET),
        "ig default batch": lambda: ig_default.explain(x, target_class=TARGET),
        "captum": lambda: captum.attribute(x, baselines=black, target=TARGET, n_steps=STEPS, internal_batch_size=STEPS),
        "smoothgrad": lambda: smooth.explain(x, target_class=TARGET),
        "smoothgrad default batch": lambda: smooth_default.explain(x, target_class=TARGET),
        "floor": floor,
    }
    times = compare(contenders, args.rounds, device)
    for name, seconds in times.items():
        print(f"{name:>26}: {seconds * 1000:9.1f} ms")
    print(
        f"IG {STEPS} steps: ours/captum {times['ig'] / times['captum']:.3f}, ours/floor {times['ig'] / times['floor']:.3f}"
        f" | default batch: ours/captum {times['ig default batch'] / times['captum']:.3f},"
        f" ours/floor {times['ig default batch'] / times['floor']:.3f}"
    )
    print(
        f"SmoothGrad(GradCAM) {SAMPLES} samples: ours/floor {times['smoothgrad'] / times['floor']:.3f}"
        f" | default batch: ours/floor {times['smoothgrad default batch'] / times['floor']:.3f}"
    )


if __name__ == "__main__":
    main()
