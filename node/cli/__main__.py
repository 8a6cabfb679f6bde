"""``python -m node.cli``: the tongban command without the console script (ops, crash tests)."""

from node.cli import main

main()
