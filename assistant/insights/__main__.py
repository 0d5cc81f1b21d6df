"""``python -m assistant.insights``: see ``assistant/insights/cli.py``."""

import sys

from assistant.insights.cli import main

sys.exit(main())
