# An example script for Python steps in the compose try-out, mounted read-only at
# /etc/actuate/scripts (ACTUATE_PYTHON_SCRIPTS). A step uses it with
# settings {"script": "example.py"}. Replace or add files here; keep them flat or in folders.
result = "hello from example.py"
