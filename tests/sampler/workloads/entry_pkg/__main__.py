from entry_pkg.work import entry_pkg_work

entry_pkg_work(0.4)
