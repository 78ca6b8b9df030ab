"""Everything outside the project that the tests used comes from a package
tests/install-deps installs (or one it depends on, or one every Debian
system has): a program or module installed here by hand would otherwise
make a test pass here and fail on a new machine.

conftest.py runs this test last, after every other test of the session has
recorded what it used (harness/provenance.py)."""
import pytest

from harness import provenance


@pytest.mark.last
def test_everything_the_tests_used_is_installed_by_install_deps():
    used = provenance.used()
    assert used, "nothing was recorded: harness/provenance.py is not recording"
    listed = provenance.install_list()
    brought = provenance.install_closure(listed)
    owners = provenance.dpkg_owners()
    stray, missing = [], {}
    for path, who in sorted(used.items()):
        pkg = provenance.owner_of(path, owners)
        if pkg is None:
            stray.append(f"{path} (used by {who}) belongs to no Debian package")
        elif pkg not in brought:
            missing.setdefault(pkg, f"{path}, used by {who}")
    problems = stray + [f"package {pkg} is not in tests/install-deps, nor brought by what "
                        f"is: {example}" for pkg, example in sorted(missing.items())]
    assert not problems, "\n".join(problems)
