"""The simulator: generated agencies and Jupix exports, fake vendor servers, lifecycle worlds.

Import what you need from its sub-packages: `simulator.agency`, `simulator.jupix`,
`simulator.fake` and `simulator.lifecycle`.
"""

__all__: list[str] = []
