# nbgrader configuration for this course: run nbgrader commands from this folder, e.g.
#   cd assignments && nbgrader generate_assignment ps01-icd10cm
# Everything course-specific lives in autograder/course.py, shared with `make demo`.
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent))  # the autograder package sits beside this folder

from autograder.course import configure  # noqa: E402

c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)
configure(c, here)
