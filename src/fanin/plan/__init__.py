"""The planning stage, run by the Snakefile when it builds the DAG: which runs a study asks for and which
train together.

fanin.plan.studies expands config/studies/*.yaml into the run table at one scale; fanin.plan.identity says
when a run folder already holds the run the table asks for (and which settings never change a run's
results); fanin.plan.packing groups the runs still to train into packs, one job each. Light on purpose: no
torch, no Lightning, no Hydra, so building the DAG takes about a second.
"""
