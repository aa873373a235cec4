"""`make install` into a temporary DESTDIR (cmake --install, what the Makefile's install target
runs): the files land where the install rules say, the installed binary runs, and the installed
systemd units pass `systemd-analyze verify` and `systemd-analyze security --offline`, with the
sysusers.d file creating the user in a scratch root.

    install_test.py BUILD_DIR
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message, flush=True)


def cache_value(build_dir, name):
    with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(rf"{name}:[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                return m.group(1)
    raise RuntimeError(f"{name} not in {build_dir}/CMakeCache.txt")


def full_dirs(prefix):
    """GNUInstallDirs' absolute paths: /usr keeps /etc and /var outside the prefix."""
    if prefix == "/usr":
        return "/etc", "/var"
    return f"{prefix}/etc", f"{prefix}/var"


def verify_units(root, prefix, unit_dir):
    """systemd-analyze verify and security on the installed units. The units name the binary by
    its installed path; here it is under DESTDIR, so each unit is checked in a copy that names
    the DESTDIR binary (nothing else changes)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        # Debian's systemd package ships it (bootstrap installs systemd): a missing tool is a
        # failure, not a pass.
        check(False, "systemd-analyze is not installed (scripts/bootstrap.sh installs systemd)")
        return
    scratch = tempfile.mkdtemp(prefix="kisgate-units-")
    try:
        for unit in ("kisgate.service", "kisgate@.service"):
            text = open(os.path.join(unit_dir, unit)).read()
            exec_start = re.search(r"^ExecStart=(\S+)", text, re.M).group(1)
            check(exec_start == f"{prefix}/bin/kisgate",
                  f"{unit}: ExecStart runs {exec_start}, not {prefix}/bin/kisgate")
            for key in ("NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure",
                        "KillSignal=SIGTERM", "User=kisgate"):
                check(re.search(rf"^{re.escape(key)}$", text, re.M) is not None, f"{unit}: no {key}")
            data_dir = full_dirs(prefix)[1] + "/lib/kisgate"
            check(f"ReadWritePaths={data_dir}\n" in text,
                  f"{unit}: ReadWritePaths is not the data directory {data_dir}")
            check("@KISGATE_" not in text, f"{unit}: a placeholder was left unfilled")
            copy = os.path.join(scratch, unit)
            with open(copy, "w") as f:
                f.write(text.replace(f"ExecStart={prefix}/bin/kisgate", f"ExecStart={root}{prefix}/bin/kisgate"))
            # verify: a template is checked through an instance of it.
            target = copy.replace("@.service", "@a.service")
            # --man=no: a host without man pages must not fail the check.
            r = subprocess.run([analyze, "verify", "--man=no", target], capture_output=True, text=True)
            print(f"systemd-analyze verify {unit}: exit {r.returncode}", r.stdout, r.stderr, flush=True)
            # Unknown keys and bad values are only warnings: any output is a failure too.
            check(r.returncode == 0 and r.stderr.strip() == "",
                  f"systemd-analyze verify {unit}: exit {r.returncode}: {r.stderr.strip()}")
            r = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", target],
                               capture_output=True, text=True)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
            print(f"systemd-analyze security {unit}:", m.group(0) if m else r.stdout[-400:] + r.stderr,
                  flush=True)
            # systemd rates 0-10 (10 "UNSAFE"); up to 2 is what a hardened network service gets.
            check(m is not None and float(m.group(1)) <= 2.0,
                  f"{unit}: exposure level {m.group(1) if m else '?'} above 2.0 (systemd-analyze security)")
        # sysusers.d: the user exists after systemd-sysusers runs on a scratch root.
        sysusers = os.path.join(root, prefix.lstrip("/"), "lib/sysusers.d/kisgate.conf")
        fake_root = os.path.join(scratch, "root")
        os.makedirs(os.path.join(fake_root, "etc"))
        r = subprocess.run(["systemd-sysusers", f"--root={fake_root}", sysusers],
                           capture_output=True, text=True)
        passwd = open(os.path.join(fake_root, "etc/passwd")).read() if os.path.exists(
            os.path.join(fake_root, "etc/passwd")) else ""
        check(r.returncode == 0 and re.search(r"^kisgate:", passwd, re.M) is not None,
              f"systemd-sysusers did not create kisgate: exit {r.returncode} {r.stderr}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    build_dir = os.path.abspath(sys.argv[1])
    prefix = cache_value(build_dir, "CMAKE_INSTALL_PREFIX").rstrip("/")
    etc, var = full_dirs(prefix)
    root = tempfile.mkdtemp(prefix="kisgate-destdir-")
    try:
        env = dict(os.environ, DESTDIR=root)
        r = subprocess.run(["cmake", "--install", build_dir], env=env, capture_output=True, text=True)
        print(r.stdout[-2000:], r.stderr[-2000:], flush=True)
        check(r.returncode == 0, f"cmake --install failed: exit {r.returncode}")
        if r.returncode != 0:
            return 1
        # Nothing outside DESTDIR: every installed path is under it.
        for line in r.stdout.splitlines():
            m = re.match(r"-- (?:Installing|Up-to-date): (.*)$", line)
            if m:
                check(m.group(1).startswith(root + "/"), f"installed outside DESTDIR: {m.group(1)}")

        def at(path):
            return os.path.join(root, path.lstrip("/"))

        binary = at(f"{prefix}/bin/kisgate")
        check(os.path.isfile(binary) and os.stat(binary).st_mode & stat.S_IXUSR,
              f"{prefix}/bin/kisgate is not an executable file")
        for path in (f"{prefix}/share/kisgate/examples/example.toml",
                     f"{prefix}/share/kisgate/examples/multi-instance.toml",
                     f"{prefix}/share/kisgate/prometheus/kisgate-alerts.yml",
                     f"{prefix}/share/kisgate/prometheus/prometheus.yml",
                     f"{prefix}/share/kisgate/grafana/kisgate-dashboard.json",
                     f"{prefix}/lib/systemd/system/kisgate.service",
                     f"{prefix}/lib/systemd/system/kisgate@.service",
                     f"{prefix}/lib/sysusers.d/kisgate.conf",
                     f"{prefix}/lib/tmpfiles.d/kisgate.conf"):
            check(os.path.isfile(at(path)), f"{path} was not installed")
        for folder in (f"{etc}/kisgate", f"{var}/lib/kisgate"):
            check(os.path.isdir(at(folder)), f"{folder} was not created")
        if os.path.isdir(at(f"{var}/lib/kisgate")):
            check(os.listdir(at(f"{var}/lib/kisgate")) == [], f"{var}/lib/kisgate is not empty")

        # The installed binary runs on its own (no path into the build tree).
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        print("installed kisgate --version:", r.stdout.strip(), r.stderr.strip(), flush=True)
        check(r.returncode == 0 and re.match(r"\d+\.\d+\.\d+", r.stdout.strip()) is not None,
              f"installed kisgate --version: exit {r.returncode}, {r.stdout!r}")
        r = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "--config" in r.stdout, "installed kisgate serve --help failed")

        verify_units(root, prefix, at(f"{prefix}/lib/systemd/system"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("install test:", "FAILED" if failures else "ok", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
