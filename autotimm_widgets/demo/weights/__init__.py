"""Trained weights of the demo models (float16 safetensors), written by ``python -m autotimm_widgets.demo.train``.

A package, so that wheels built with hatch's ``only-packages`` include the files.
"""
