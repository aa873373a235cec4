#!/usr/bin/env python3
"""The module rules (the design's table of modules): which module may use which.

Each folder under src/ is one module. A module may include the headers of the modules it depends
on, directly or through others (the table below), and no other: src/api must not include
collect/ (the jobs' state reaches it as common::JobsSnapshot), src/config must not include kis/
(collect::CheckJobs checks jobs against the TR catalogue). A module's CMake DEPS name only
libraries of those modules too. Test files (*_test.cpp, test_*.hpp) may also include the test
support (tests/support: "support/...") and the simulator.

    check_modules.py [SOURCE_DIR]
    check_modules.py --self-test    proves the check fails on the includes it must refuse

Prints each offending #include or DEPS entry with its file and line, and exits 1 when there is
one; a module missing from the table is an offence too (add it with its dependencies).
"""
import os
import re
import sys

# Each module's direct dependencies; a module may use every module reachable from it.
DEPENDS = {
    "common": [],
    "config": ["common"],
    "http": ["common"],
    "kis": ["common"],
    "gate": ["config", "http", "kis"],
    "store": ["kis"],
    "sim": ["http", "kis"],
    "views": ["kis"],
    "stream": ["gate", "store", "views"],
    "collect": ["gate", "store"],
    "coord": ["collect", "stream"],
    "api": ["gate", "store", "stream", "views"],
    "web_assets": [],
    "app": ["api", "collect", "coord", "sim", "stream", "web_assets"],
}
# What test files may include beyond their module's dependencies.
TEST_EXTRAS = {"support", "sim"}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([a-z_0-9]+)/')
LIBRARY = re.compile(r"\bkisgate_([a-z_]+)\b")


def reachable(module):
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        for d in DEPENDS.get(m, []):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def is_test(name):
    return name.endswith("_test.cpp") or name.startswith("test_")


def check_includes(src, module, allowed, problems):
    folder = os.path.join(src, module)
    for name in sorted(os.listdir(folder)):
        if not re.search(r"\.(hpp|cpp|in)$", name):
            continue
        path = os.path.join(folder, name)
        extra = TEST_EXTRAS if is_test(name) else set()
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                used = m.group(1)
                if used == module or used in allowed or used in extra:
                    continue
                problems.append(
                    f"src/{module}/{name}:{number}: {line.strip()}: {module} may not depend on "
                    f"{used} (it may use: {', '.join(sorted(allowed)) or 'nothing'})")


def check_cmake(src, module, allowed, problems):
    """The DEPS of kisgate_module(...) (the library; tests link what they like)."""
    path = os.path.join(src, module, "CMakeLists.txt")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for call in re.finditer(r"kisgate_module\(\s*" + module + r"\b(.*?)\)", text, re.S):
        deps = call.group(1).split("DEPS", 1)
        if len(deps) < 2:
            continue
        start = call.start(1) + len(deps[0])
        for lib in LIBRARY.finditer(deps[1]):
            used = lib.group(1)
            if used == module or used in allowed:
                continue
            number = text.count("\n", 0, start + lib.start()) + 1
            problems.append(
                f"src/{module}/CMakeLists.txt:{number}: DEPS kisgate_{used}: {module} may not "
                f"depend on {used} (it may use: {', '.join(sorted(allowed)) or 'nothing'})")


def check(root):
    """The offences under ROOT/src, one line each."""
    src = os.path.join(root, "src")
    problems = []
    modules = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    for module in modules:
        if module not in DEPENDS:
            problems.append(f"src/{module}/: a module missing from the table in "
                            f"scripts/check_modules.py (add it with what it depends on)")
            continue
        allowed = reachable(module)
        check_includes(src, module, allowed, problems)
        check_cmake(src, module, allowed, problems)
    return modules, problems


def self_test():
    """A tree with one allowed and three refused uses: the check names exactly the refused ones."""
    import tempfile
    files = {
        "src/api/service.hpp": '#include "gate/gateway.hpp"\n#include "collect/jobs_board.hpp"\n',
        "src/api/CMakeLists.txt": "kisgate_module(api\n  SOURCES service.cpp\n"
                                  "  DEPS kisgate_gate kisgate_collect fmt::fmt)\n",
        "src/api/service_test.cpp": '#include "sim/simulator.hpp"\n#include "support/x.hpp"\n',
        "src/config/config.cpp": '#include "common/clock.hpp"\n  #  include "kis/tr_catalogue.hpp"\n',
    }
    with tempfile.TemporaryDirectory() as root:
        for module in DEPENDS:
            os.makedirs(os.path.join(root, "src", module))
        for path, text in files.items():
            with open(os.path.join(root, path), "w", encoding="utf-8") as f:
                f.write(text)
        _, problems = check(root)
    expected = ["src/api/CMakeLists.txt:3: DEPS kisgate_collect",
                'src/api/service.hpp:2: #include "collect/jobs_board.hpp"',
                'src/config/config.cpp:2: #  include "kis/tr_catalogue.hpp"']
    found = sorted(p.split(": api may")[0].split(": config may")[0] for p in problems)
    if found != expected:
        print("self-test: FAILED: expected", expected, "found", problems)
        return 1
    print("self-test: ok (the refused includes and DEPS are named, the allowed ones are not)")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    modules, problems = check(root)
    for p in problems:
        print(p)
    print(f"modules: {len(modules)} modules, "
          f"{'ok' if not problems else f'{len(problems)} offences against the module rules'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
