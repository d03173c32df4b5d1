"""autotimm-widgets."""
