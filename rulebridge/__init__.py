"""The shell: the `rulebridge` command and the nightly job (`rulebridge.runner`).

Only this package imports every other one (it is the composition root).
"""

__all__: list[str] = []
