"""Experiments that did not ship: landmark fusion, ensembles, attention pretraining, learning curves."""
