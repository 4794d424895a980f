# A template that looks for the host behind the functions: it finds a
# channel and JSON, no objects, and none of the host's files.
import os
import ward

print("get_post is", type(ward.fn.get_post).__name__)
print("users:", [line.split(":")[0] for line in open("/etc/passwd")])
print("home:", os.path.exists("/root"), "shadow:", os.path.exists("/etc/shadow"))
