import sys, types, importlib.util
if importlib.util.find_spec("duban_archive.views.workflow") is None:
    m = types.ModuleType("duban_archive.views.workflow"); m.transitions_panel = lambda r, i: None
    for n in ("history_panel", "deadlines_panel", "worklist_view"): setattr(m, n, lambda *a: None)
    sys.modules["duban_archive.views.workflow"] = m
import time, transaction
from duban_archive.content_types.site_access import open_site
from duban_archive.archive.dossier import render_dossier
from duban_archive.archive.filing import file_item
def test_smoke(app, closed_item):
    item_id = closed_item()
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        for i in range(3):
            t = time.time(); pdf = render_dossier(site, item, app.registry); print("render", time.time() - t)
        open("/tmp/dossier.pdf", "wb").write(pdf)
        t = time.time()
        rec = file_item(site, item, app.registry, retention=None, actor="records_officer",
                        principals=["user:records_officer", "role:records_officer"])
        print("file", time.time() - t, rec.archival_code, rec.current.checks["passed"])
        open("/tmp/pkg.zip", "wb").write(rec.current.blob.open("r").read())
        transaction.commit()


def test_profile(app, closed_item):
    import cProfile, pstats
    from duban_archive.archive.dossier import build_job
    from duban_archive.archive.render import render_in_process
    item_id = closed_item()
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        job = build_job(site, item, app.registry)
        render_in_process(job)
        job = build_job(site, item, app.registry)
        t = time.time()
        cProfile.runctx("render_in_process(job)", globals(), locals(), "/tmp/prof")
        print("inproc", time.time() - t)
        pstats.Stats("/tmp/prof").sort_stats("cumulative").print_stats(35)
