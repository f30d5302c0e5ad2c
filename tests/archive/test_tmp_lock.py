import os


def test_lock(app, closed_item, var_dir):
    from duban_archive.content_types.site_access import open_site
    from duban_archive.archive.render import render_pdf
    item_id = closed_item(photos=1, signed=0)
    import transaction
    from duban_archive.archive.filing import file_item
    with open_site(app.registry) as site:
        file_item(site, site.get_item(item_id), app.registry, retention="Y", actor="records_officer",
                  principals=["role:records_officer"])
        transaction.commit()
    for db in app.registry._zodb_databases.values():
        db.close()
    fds = [os.readlink(f"/proc/self/fd/{f}") for f in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{f}")]
    print([f for f in fds if "Data.fs" in f])
    import subprocess
    print(subprocess.run(["sh", "-c", f"ls -l /proc/*/fd 2>/dev/null | grep -c Data.fs.lock; ps -ef | grep -c pytest"], capture_output=True, text=True).stdout)
    import zc.lockfile
    lf = zc.lockfile.LockFile(str(var_dir / "Data.fs.lock"))
    lf.close()
    from duban_archive.scripts.cli import build_parser
    args = build_parser().parse_args(["fixity", "/work/main/testing.ini"])
    print("RC", args.func(args))
