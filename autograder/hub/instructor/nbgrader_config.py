"""An instructor's nbgrader settings on the hub: copy this file to the instructor's home.

The course folder is ``~/course`` (or ``MEDCODELAB_COURSE_ROOT``): put the problem sets in
``~/course/source/`` (copy this repository's ``assignments/source/``). Formgrader and the
nbgrader commands, run from the home folder, then find the course; the exchange and the course
id come from the hub's shared config. Grade with ``python -m autograder grade ps01-icd10cm
--course ~/course``.
"""

import os
from pathlib import Path

from autograder.course import configure

c = get_config()  # noqa: F821
configure(c, Path(os.environ.get("MEDCODELAB_COURSE_ROOT", Path.home() / "course")),
          course_id=os.environ.get("MEDCODELAB_COURSE_ID", "medcodelab"))
