"""The notebook widget (anywidget); depends on the interpretation core, never the reverse."""

from .explainer_widget import ExplainerWidget

__all__ = ["ExplainerWidget"]
