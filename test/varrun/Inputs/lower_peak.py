"""Compares the device peak activations of two varc --report=json reports
(rank 0). Usage: lower_peak.py LOWER HIGHER. Prints both, exits 1 unless
LOWER's peak is strictly below HIGHER's."""
import json
import sys


def peak(path):
    with open(path) as f:
        return json.load(f)["ranks"][0]["device"]["peak_activations"]


lower, higher = peak(sys.argv[1]), peak(sys.argv[2])
print(f"peak activations {lower} < {higher}: {'ok' if lower < higher else 'NO'}")
sys.exit(0 if lower < higher else 1)
