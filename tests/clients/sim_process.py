"""Starts `kisgate sim` for the Python tests and reads the address it prints (port 0: any free one)."""
import re
import subprocess
import time


def start_sim(args, timeout_s=20):
    """Runs `args` (the kisgate binary, "sim", its flags); returns (process, base URL). The process's
    stdout stays a pipe for the caller to close; raises RuntimeError when no address comes in time."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on (http\S+)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    raise RuntimeError("kisgate sim did not start: " + " ".join(args))
