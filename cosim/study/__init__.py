"""Many runs: parameter sweeps, design optimisation and their reports, on Dask."""
