"""Adapters: the Alto and Fixflo HTTP clients and the Jupix export reader.

Each implements the ports `engine.ports` declares; import the one you need
(`adapters.alto`, `adapters.fixflo`, `adapters.jupix`) and its errors from `adapters.errors`.
"""

__all__: list[str] = []
