import sys

from localjob.cli import main

sys.exit(main())
