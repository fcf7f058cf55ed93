"""Entry points: the composition root (``bootstrap``), the ``clearing`` command and the demo."""
