"""JupyterHub for a Medical Coding & RCM Lab class on one machine: instructors and students,
nbgrader's exchange on a shared folder. Start it with ``jupyterhub -f autograder/hub/jupyterhub_config.py``.

Everything a class changes is an environment variable (defaults in brackets):
    MEDCODELAB_HUB_IP [127.0.0.1], MEDCODELAB_HUB_PORT [8000]
    MEDCODELAB_HUB_API_PORT [8081], MEDCODELAB_PROXY_API_PORT [8001] (internal, on 127.0.0.1)
    MEDCODELAB_HUB_DIR            the hub's state: database, cookie secret, users' homes [./hub-state]
    MEDCODELAB_EXCHANGE           nbgrader's exchange, shared by everyone [<hub dir>/exchange]
    MEDCODELAB_COURSE_ID          [medcodelab]
    MEDCODELAB_INSTRUCTORS        comma-separated hub users who grade [instructor]
    MEDCODELAB_STUDENTS           comma-separated hub users who learn [student1,student2]
    MEDCODELAB_HUB_PASSWORD       a shared password for the demo authenticator (unset: hub refuses logins)
    MEDCODELAB_HUB_SERVICE_TOKEN  an API token for scripts that manage the course (optional)
    MEDCODELAB_MEM_LIMIT          memory per user's server [2G]

Choices made here, and what to change for a real class:
- Authentication: JupyterHub's DummyAuthenticator with one shared password, for a demo or a test
  on a private machine. For a class use your institution's login (OAuthenticator for Google,
  GitHub, Azure AD; LTI13Authenticator from an LMS) and keep the allowed users below.
- Spawner: SimpleLocalProcessSpawner runs each user's server as the hub's OS user, in a home of
  their own. nbgrader then learns who the student is from ``JUPYTERHUB_USER`` (see
  ``student/nbgrader_config.py``). For isolation between users, give each an OS account
  (LocalProcessSpawner, SystemdSpawner) or a container (DockerSpawner; KubeSpawner on Zero to
  JupyterHub, see docs/jupyterhub.md).
- Memory: 2 GB a user. A lab kernel with the code set and search open peaks at about 250 MB
  (make bench), JupyterLab's server takes about 150 MB, so 2 GB leaves room for a few notebooks
  at once. Only spawners that can enforce it do (Systemd, Docker, Kube).
"""

import os
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
state = Path(os.environ.get("MEDCODELAB_HUB_DIR", "hub-state")).resolve()
state.mkdir(parents=True, exist_ok=True)
exchange = Path(os.environ.get("MEDCODELAB_EXCHANGE", state / "exchange")).resolve()
course_id = os.environ.get("MEDCODELAB_COURSE_ID", "medcodelab")
instructors = {u for u in os.environ.get("MEDCODELAB_INSTRUCTORS", "instructor").split(",") if u}
students = {u for u in os.environ.get("MEDCODELAB_STUDENTS", "student1,student2").split(",") if u}

c = get_config()  # noqa: F821

c.JupyterHub.ip = os.environ.get("MEDCODELAB_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("MEDCODELAB_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("MEDCODELAB_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('MEDCODELAB_PROXY_API_PORT', '8001')}"
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ.get("MEDCODELAB_HUB_PASSWORD") or os.urandom(24).hex()
c.Authenticator.allowed_users = instructors | students
c.Authenticator.admin_users = instructors

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "home" / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = os.environ.get("MEDCODELAB_MEM_LIMIT", "2G")
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    # every user's nbgrader reads the course and the exchange from the shared student config
    "JUPYTER_CONFIG_PATH": str(here / "student"),
    "MEDCODELAB_COURSE_ID": course_id,
    "MEDCODELAB_EXCHANGE": str(exchange),
    "MEDCODELAB_ROLE": lambda spawner: "instructor" if spawner.user.name in instructors else "student",
}
if os.environ.get("MEDCODELAB_DB"):
    c.Spawner.environment["MEDCODELAB_DB"] = os.environ["MEDCODELAB_DB"]

c.JupyterHub.load_groups = {"instructors": {"users": sorted(instructors)}, "students": {"users": sorted(students)}}

if os.environ.get("MEDCODELAB_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "course-admin", "api_token": os.environ["MEDCODELAB_HUB_SERVICE_TOKEN"]}]
    c.JupyterHub.load_roles = [{
        "name": "course-admin", "services": ["course-admin"],
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users", "read:users"],
    }]

# the shared exchange: everyone writes their own submissions into it, nobody edits others'
(exchange / course_id).mkdir(parents=True, exist_ok=True)
os.chmod(exchange, 0o1777)
