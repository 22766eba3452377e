import sys

from femtojit.cli import main

sys.exit(main())
