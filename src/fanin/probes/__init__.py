"""Measurements of every layer on a fixed probe batch: statistics, histograms, Jacobian spectra."""
