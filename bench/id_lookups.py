#!/usr/bin/env python3
# id_lookups.py KRAYD DIR N: GET /api/transaction/:id latency on a kept
# kray-loadgen datadir (kray-loadgen --keep prints DIR). Starts KRAYD on DIR,
# waits until the history index answers (a rebuild after a migration), then
# GETs N random logged ids and N unknown ids over one keep-alive connection
# and prints mean and p50 in µs. Python stdlib only; the client's own cost
# is in every figure alike, so compare builds on copies of one datadir.
import http.client
import os
import random
import sqlite3
import subprocess
import sys
import time


def main():
    krayd, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = sqlite3.connect(f"file:{d}/data/krayd.sqlite?mode=ro", uri=True)
    last = db.execute("SELECT MAX(seq) FROM operations").fetchone()[0]
    random.seed(7)
    ids = [db.execute("SELECT lower(hex(hash)) FROM operations WHERE seq = ?", (random.randint(1, last),)).fetchone()[0]
           for _ in range(n)]
    db.close()
    portfile = f"{d}/port"
    if os.path.exists(portfile):
        os.remove(portfile)
    node = subprocess.Popen([krayd, f"-datadir={d}/data", f"-genesis={d}/genesis.json", "-port=0",
                             f"-portfile={portfile}", "-rpctoken=bench", "-loglevel=warn"])
    try:
        while not os.path.exists(portfile) or not open(portfile).read().strip():
            time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", int(open(portfile).read()))

        def get(h):
            conn.request("GET", "/api/transaction/" + h)
            r = conn.getresponse()
            r.read()
            return r.status

        t0 = time.time()  # a rebuilding index answers 503 history_catching_up
        while any(get(h) != 200 for h in ids[:200]):
            time.sleep(0.5)
        print(f"200 sampled ids found after {time.time() - t0:.1f} s")
        time.sleep(3)
        unknown = ["%064x" % random.getrandbits(256) for _ in range(n)]
        for label, hashes, want in (("known", ids, 200), ("unknown", unknown, 404)):
            lat = []
            for h in hashes:
                t = time.perf_counter()
                status = get(h)
                lat.append(time.perf_counter() - t)
                if status != want:
                    sys.exit(f"{label} id {h}: HTTP {status}")
            lat.sort()
            print(f"{label}: mean {sum(lat) / len(lat) * 1e6:.1f} us, p50 {lat[len(lat) // 2] * 1e6:.1f} us")
    finally:
        node.terminate()
        node.wait()


if __name__ == "__main__":
    main()
