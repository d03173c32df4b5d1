"""Can this heatmap be trusted? Faithfulness, localisation and sanity metrics, batched and on the device.

* :mod:`.faithfulness`: deletion and insertion curves and AUC (Petsiuk et al., RISE) -
  :func:`deletion`, :func:`insertion`, :func:`faithfulness_curves` (both from shared
  forward passes) and :func:`deletion_insertion` (one map, plain values);
* :mod:`.localisation`: :func:`pointing_game` and :func:`energy_pointing_game` against a
  mask or a box in the user's image coordinates;
* :mod:`.robustness`: :func:`infidelity` and :func:`sensitivity_max` (Yeh et al.), as
  ``captum.metrics`` defines them, for explainers with signed attributions;
* :mod:`.sanity`: :func:`parameter_randomisation` (Adebayo et al.), cascading from the
  output side on a copy of the model, with Spearman's :func:`rank_correlation` per layer.

Integrated Gradients' completeness check (attributions sum to the score difference from
the baseline) is not repeated here: it lives on the method, as
``IntegratedGradients.check_completeness``.

Every metric takes a batch (one image or map works too), validates its arguments before
the model is touched (``ValueError``/``TypeError`` with what was expected), runs where the
model is, and leaves the model as it found it.
"""

from .correlation import rank_correlation
from .faithfulness import FaithfulnessCurves, deletion, deletion_insertion, faithfulness_curves, insertion
from .localisation import energy_pointing_game, pointing_game
from .removal import baseline_inputs
from .robustness import infidelity, sensitivity_max
from .sanity import RandomisationResult, parameter_randomisation, randomisation_layers

__all__ = [
    "FaithfulnessCurves",
    "RandomisationResult",
    "baseline_inputs",
    "deletion",
    "deletion_insertion",
    "energy_pointing_game",
    "faithfulness_curves",
    "infidelity",
    "insertion",
    "parameter_randomisation",
    "pointing_game",
    "randomisation_layers",
    "rank_correlation",
    "sensitivity_max",
]
