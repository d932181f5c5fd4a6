"""The run stage: train runs and write each one's tables into its folder.

`python -m fanin.train` (fanin.train.__main__) takes one run's Hydra overrides, or a pack of runs
(`--run DIR key=value ...` each); fanin.train.command composes and checks their configs, and fanin.train.run
trains them from plain dicts: data, model, init, the fused SGD step on a pack of K networks in lockstep
(fused_sgd, pack, module, stream), probes and measurements (measurements, evaluate), checkpoints that resume
a killed run exactly (checkpoint), the device it claims (devices), where it logs (sinks) and what it records
about itself (provenance). Torch and Lightning are imported below this package, never at its top.
"""
