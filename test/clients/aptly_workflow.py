#!/usr/bin/python3
"""A whole aptly workflow driven by Debian's packaged aptly clients against a debpkg server.

aptly-api-client (python3-aptly-api-client) uploads, creates the repo, adds, snapshots,
publishes, switches and cleans up; python-aptly (python3-aptly) drops the snapshots no
publish uses the way its `cleanup_snapshots` does (it reads /api/graph.dot). Both send the
admin token with a requests auth object, the one change an aptly user makes. Prints one JSON
object with what each step answered; any client exception fails the run (exit 1).

argv: server URL, then the .deb of version 1 and of version 2 (same package name).
env:  DEBPKG_TOKEN (the admin token), DEBPKG_GPG_KEY (a fingerprint the server signs with).
"""
import json
import os
import sys

import requests
from requests.auth import AuthBase
from aptly_api import Client
from aptly_api.base import AptlyAPIException
from aptly.client import Aptly
from aptly.publisher import PublishManager


class Bearer(AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + self.token
        return r


def main():
    url, deb1, deb2 = sys.argv[1:4]
    auth = Bearer(os.environ["DEBPKG_TOKEN"])
    key = os.environ["DEBPKG_GPG_KEY"]
    api = Client(url, http_auth=auth)
    out = {"version": api.misc.version()}

    out["upload1"] = list(api.files.upload("wf-up1", deb1))
    out["files"] = sorted(api.files.list())
    repo = api.repos.create("wf", comment="workflow repo", default_distribution="stable", default_component="main")
    out["repo"] = repo.name
    report = api.repos.add_uploaded_file("wf", "wf-up1")
    out["added1"] = sorted(report.report["Added"])
    out["failed1"] = list(report.failed_files)
    snap1 = api.snapshots.create_from_repo("wf", "wf-1", description="first")
    out["snap1_packages"] = [p.key for p in api.snapshots.list_packages("wf-1")]
    pub = api.publish.publish(source_kind="snapshot", sources=[{"Name": snap1.name, "Component": "main"}],
                              architectures=["amd64"], prefix="wfp", distribution="stable",
                              label="workflow", origin="workflow", sign_gpgkey=key)
    out["published"] = {"prefix": pub.prefix, "distribution": pub.distribution,
                        "sources": pub.sources, "architectures": list(pub.architectures)}

    api.files.upload("wf-up2", deb2)
    out["added2"] = sorted(api.repos.add_uploaded_file("wf", "wf-up2").report["Added"])
    api.repos.delete_packages_by_key("wf", *out["snap1_packages"])
    out["repo_packages"] = [p.key for p in api.repos.search_packages("wf")]
    api.snapshots.create_from_repo("wf", "wf-2", description="second")
    out["diff"] = [{k: v for k, v in d.items()} for d in api.snapshots.diff("wf-1", "wf-2")]
    switched = api.publish.update(prefix="wfp", distribution="stable",
                                  snapshots=[{"Name": "wf-2", "Component": "main"}], sign_gpgkey=key)
    out["switched"] = switched.sources
    # What apt would now read (an observation, not a client call).
    out["packages_after_switch"] = requests.get(url + "/wfp/dists/stable/main/binary-amd64/Packages", timeout=30).text
    out["snapshots_before_cleanup"] = [s.name for s in api.snapshots.list()]

    # python-aptly: snapshots no publish uses (by the graph) are dropped: wf-1 goes, wf-2 stays.
    legacy = Aptly(url, auth=auth)
    out["legacy_version"] = legacy.get_version()
    PublishManager(legacy).cleanup_snapshots()
    out["snapshots_after_cleanup"] = [s.name for s in api.snapshots.list()]
    out["graph_starts"] = legacy.do_get("/graph.dot")[:13]

    # Cleanup as aptly scripts do it; deleting upload dirs twice must succeed (aptly: 200 {}).
    for d in ("wf-up1", "wf-up2", "wf-up1"):
        api.files.delete(d)
    api.publish.drop(prefix="wfp", distribution="stable")
    api.snapshots.delete("wf-2")
    api.repos.delete("wf")
    cleanup = api.misc.do_post("api/db/cleanup")
    out["db_cleanup_status"] = cleanup.status_code
    out["left"] = {"repos": [r.name for r in api.repos.list()], "snapshots": [s.name for s in api.snapshots.list()],
                   "publishes": [p.distribution for p in api.publish.list()], "files": list(api.files.list())}
    try:
        api.repos.show("wf")
        out["repo_after_delete"] = "still there"
    except AptlyAPIException as e:
        out["repo_after_delete"] = e.status_code
    print(json.dumps(out))


if __name__ == "__main__":
    main()
