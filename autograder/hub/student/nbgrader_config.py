"""nbgrader settings every hub user's server reads (JUPYTER_CONFIG_PATH points here).

The course and the exchange come from the hub's environment. When every user's server runs as
one OS user (SimpleLocalProcessSpawner here, ``jovyan`` in containers), nbgrader cannot tell
students apart by OS user, so the student id is the hub user name. Instructors keep nbgrader's
default (every student), so that ``nbgrader collect`` collects the whole class.
"""

import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = os.environ.get("MEDCODELAB_COURSE_ID", "medcodelab")
if os.environ.get("MEDCODELAB_EXCHANGE"):
    c.Exchange.root = os.environ["MEDCODELAB_EXCHANGE"]
if os.environ.get("MEDCODELAB_ROLE") != "instructor" and os.environ.get("JUPYTERHUB_USER"):
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
