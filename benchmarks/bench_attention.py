"""Attention methods: rollout against one plain forward pass, and the cost of one flow map.

1. vit_base_patch16_224 at 224 px (random weights, as shipped: timm's fused attention on):
   ``AttentionRollout.explain`` on one image against one plain forward pass of the same model
   under ``torch.no_grad()``, interleaved in one run. Target: rollout <= 1.2x forward.
   GradientWeightedRollout is timed against the autograd floor (one forward plus one backward
   of the class logit with respect to the input).
2. vit_tiny_patch16_224: the time for one flow map with each algorithm, both the full
   ``AttentionFlow.explain`` (forward pass included) and a patch click on the object returned by
   ``flow(image)`` (no forward pass): the fast rollout row against the exact max-flow.

    uv run python benchmarks/bench_attention.py [--rounds 7] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse

import numpy as np
import timm
import torch
from _timing import compare, device_name

from autotimm_widgets.interpretation import AttentionFlow, AttentionRollout, GradientWeightedRollout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    use_cuda = device.type == "cuda"
    print(f"device: {device_name(device)}, torch {torch.__version__}, timm {timm.__version__}")

    torch.manual_seed(0)
    base = timm.create_model("vit_base_patch16_224", pretrained=False).eval().to(device)
    image = torch.randn(1, 3, 224, 224, device=device)
    rollout = AttentionRollout(base, use_cuda=use_cuda)
    gradient = GradientWeightedRollout(base, use_cuda=use_cuda)

    def forward():
        with torch.no_grad():
            base(image)

    def floor():
        x = image.detach().requires_grad_(True)
        logits = base(x)
        torch.autograd.grad(logits[0, 0], x)

    times = compare(
        {
            "forward": forward,
            "rollout.explain": lambda: rollout.explain(image),
            "rollout.rollout": lambda: rollout.rollout(image),
            "floor": floor,
            "gradient.explain": lambda: gradient.explain(image, target_class=0),
        },
        args.rounds,
        device,
    )
    ms = {k: v * 1000 for k, v in times.items()}
    print(
        f"vit_base_patch16_224 @224, batch 1: forward {ms['forward']:.1f} ms | AttentionRollout.explain "
        f"{ms['rollout.explain']:.1f} ms (x{times['rollout.explain'] / times['forward']:.2f} forward) | "
        f".rollout() {ms['rollout.rollout']:.1f} ms (x{times['rollout.rollout'] / times['forward']:.2f})"
    )
    print(
        f"  GradientWeightedRollout.explain {ms['gradient.explain']:.1f} ms vs floor (fwd+bwd) {ms['floor']:.1f} ms "
        f"(x{times['gradient.explain'] / times['floor']:.2f} floor)"
    )

    torch.manual_seed(0)
    tiny = timm.create_model("vit_tiny_patch16_224", pretrained=False).eval().to(device)
    picture = np.random.default_rng(0).integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    token = 1 + 7 * 14 + 7  # the centre patch
    fast = AttentionFlow(tiny, target_patch=token, use_cuda=use_cuda)
    exact = AttentionFlow(tiny, target_patch=token, method="maxflow", use_cuda=use_cuda)
    fast_maps, exact_maps = fast.flow(picture), exact.flow(picture)
    times = compare(
        {
            "fast.explain": lambda: fast.explain(picture),
            "fast.click": lambda: fast_maps.map(token),
        },
        args.rounds,
        device,
    )
    # The exact max-flow takes seconds a call: fewer rounds, no warm-up (it has no lazy set-up).
    slow = compare(
        {"exact.explain": lambda: exact.explain(picture), "exact.click": lambda: exact_maps.map(token)},
        max(1, args.rounds // 3),
        device,
        warmup=0,
    )
    exact_explain, exact_click = slow["exact.explain"], slow["exact.click"]
    fast_explain, fast_click = times["fast.explain"], times["fast.click"]
    print(
        "vit_tiny_patch16_224 @224, one flow map on a 640x480 image:\n"
        f"  rollout row: {fast_explain * 1000:.1f} ms (explain) / {fast_click * 1000:.2f} ms (click on flow(image))\n"
        f"  max-flow:    {exact_explain * 1000:.0f} ms (explain) / {exact_click * 1000:.0f} ms (click on flow(image))\n"
        f"  max-flow / rollout row: x{exact_explain / fast_explain:.0f} (explain), "
        f"x{exact_click / fast_click:.0f} (click)"
    )


if __name__ == "__main__":
    main()
