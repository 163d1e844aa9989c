"""A seeded generator of realistic Jupix exports, in the format `adapters.jupix` reads.

See `simulator.jupix.generate` for the scenarios every export covers.
"""

from simulator.jupix.generate import EXPORTED_AT, SCENARIOS, Scenario, write_jupix_export

__all__ = ["EXPORTED_AT", "SCENARIOS", "Scenario", "write_jupix_export"]
