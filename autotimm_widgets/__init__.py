"""autotimm-widgets: see what an image classifier looks at, without leaving the notebook.

``autotimm_widgets.interpretation`` is the explainer core; ``ExplainerWidget`` is imported
lazily so that the core works without any notebook packages loaded.
"""

__version__ = "0.1.0"
__all__ = ["ExplainerWidget"]


def __getattr__(name: str):
    if name == "ExplainerWidget":
        from .widget import ExplainerWidget

        return ExplainerWidget
    raise AttributeError(f"module 'autotimm_widgets' has no attribute {name!r}")
