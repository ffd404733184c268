"""Neuron model files shipped with neurorl (installed as ``neurorl.model_files``)."""
