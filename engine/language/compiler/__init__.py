"""The compiler: a checked ruleset document into a `CompiledRuleset`, every error located.

`compile_document` declares the sources, settings and targets, compiles every entity's
rules, maps and policies, the lifecycle and the charges, then checks the whole (rules that
can never both hold, reference cycles, unreachable statuses and dead ends).
"""

from engine.language.compiler._ruleset import compile_document

__all__ = ["compile_document"]
