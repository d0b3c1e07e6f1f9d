#!/usr/bin/env python3
"""Whole-program benchmark: the local engine against a Ballista cluster on this machine (issue 8).

usage: bench/cluster.sh [--rows 100000000] [--files 8] [--executors 2] [--concurrency 1]
                        [--target-partitions P] [--repeat 1] [--keep-cluster-logs]
       (cluster.sh makes the venv of bench/columnar.sh and builds tenure --release unless
       TENURE_BIN is set)

Data: bench/columnar.py's DuckDB generator, unchanged (so the same `rows` transactions of rows/25
customers), sorted by time as a log appended day by day is, and cut into `files` Parquet files of
consecutive time ranges (file k holds rows k*rows/files ... of the sorted log), so every file
holds most customers. Row groups of 1,048,576 rows, Snappy. Cached in bench/out/cluster/.

Runs, one after the other, on the same files:
- local: `tenure summarize --engine local` (one process, DataFusion on every core);
- cluster: one `tenure cluster scheduler` and `executors` `tenure cluster executor
  --concurrency C` (default 2 × 1 task = this machine's 2 cores), then the same summarize with
  `--engine ballista://…`. The plan is made with DATAFUSION_EXECUTION_TARGET_PARTITIONS=P
  (default: one partition per file; without it DataFusion uses the client's cores), so the
  scan is P map tasks and the aggregation P reduce tasks.
Each client is timed as a whole process (start, plan, run, fetch, write the CSV); its peak
memory and CPU time come from wait4(2). The scheduler's and executors' peaks are VmHWM from
/proc/PID/status, reset (clear_refs 5) just before the job and read just after it, so they are
the job's; their CPU time is the difference of /proc/PID/stat over the job. A sampler reads
every process's VmRSS every 0.1 s to tell the map stage's peak from the reduce stage's. The
shuffle volume is the size of the job's files in the executors' work dirs, read as soon as the
client exits; a task's end is its files' modification time (there are no per-task logs: the
binary installs no logger, so the processes' stderr stays empty). The two CSV files must be
identical byte for byte, or the script fails.
"""
import argparse, json, os, platform, select, shutil, signal, socket, statistics, subprocess, sys
import threading, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
out = os.path.join(here, "out", "cluster")
os.makedirs(out, exist_ok=True)
py = sys.executable
tenure = os.environ.get("TENURE_BIN", os.path.join(root, "target", "release", "tenure"))

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=100_000_000)
ap.add_argument("--files", type=int, default=8, help="Parquet files the log is cut into")
ap.add_argument("--executors", type=int, default=2)
ap.add_argument("--concurrency", type=int, default=1, help="tasks each executor runs at once")
ap.add_argument("--target-partitions", type=int, default=None,
                help="partitions of the cluster's plan (default: --files; 0: DataFusion's "
                     "default, the client's cores)")
ap.add_argument("--repeat", type=int, default=1, help="runs per engine; the fastest is reported")
ap.add_argument("--keep-cluster-logs", action="store_true",
                help="keep the processes' logs and the executors' work dirs (shuffle files)")
ap.add_argument("--report", default=None,
                help="markdown report (default: bench/CLUSTER.md for the default --rows, "
                     "else bench/out/cluster/CLUSTER-ROWS.md)")
args = ap.parse_args()
if args.target_partitions is None:
    args.target_partitions = args.files
if args.report is None:
    args.report = (os.path.join(here, "CLUSTER.md") if args.rows == ap.get_default("rows")
                   else os.path.join(out, f"CLUSTER-{args.rows}.md"))

CAL, HOLD = "2025-06-30", "2025-12-31"
data = os.path.join(out, f"tx_{args.rows}_{args.files}files")
warm = os.path.join(out, f"warmup_{args.files}files")
logs = os.path.join(out, "logs")
work = os.path.join(out, "work")


def log_sql(rows):
    """bench/columnar.py's generator: the sorted log of `rows` transactions."""
    return f"""
  WITH r AS (SELECT range AS i, hash(range) AS h FROM range({rows})),
  c AS (SELECT (h % {max(1, rows // 25)})::BIGINT AS customer_id, h FROM r),
  d AS (SELECT customer_id, hash(customer_id) % 730 AS birth, h FROM c)
  SELECT customer_id,
         TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_microseconds(
           (((birth + (h >> 20) % (1096 - birth)) * 86400 + (h >> 40) % 86400) * 1000000)::BIGINT) AS date,
         (((h >> 8) % 20000) / 100 + 1)::DECIMAL(12,2) AS amount
  FROM d ORDER BY date"""


# The sorted log as a table (its row ids follow the ORDER BY), then one COPY per time range.
# Checked: the files' date ranges follow each other and, within a file, the row groups'.
GEN = r"""
import duckdb, json, os, sys
sql, rows, files, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
con = duckdb.connect()
con.execute("CREATE TABLE t AS " + sql)
per = -(-rows // files)
for k in range(files):
    lo, hi = k * per, min(rows, (k + 1) * per)
    con.execute(f'''COPY (SELECT customer_id, date, amount FROM t
                          WHERE rowid >= {lo} AND rowid < {hi} ORDER BY date)
                    TO '{dst}/part-{k:03d}.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1048576)''')
con.execute("DROP TABLE t")
per_file = con.execute(f'''
  SELECT parse_filename(filename), count(*), min(date)::VARCHAR, max(date)::VARCHAR,
         count(DISTINCT customer_id)
  FROM read_parquet('{dst}/*.parquet', filename=true) GROUP BY ALL ORDER BY 1''').fetchall()
for a, b in zip(per_file, per_file[1:]):
    assert a[3] <= b[2], f"{a[0]} ends after {b[0]} starts"
groups = con.execute(f'''
  SELECT parse_filename(file_name), row_group_id, stats_min, stats_max
  FROM parquet_metadata('{dst}/*.parquet') WHERE path_in_schema = 'date' ORDER BY 1, 2''').fetchall()
for a, b in zip(groups, groups[1:]):
    assert a[0] != b[0] or a[3] <= b[2], f"{a[0]}: row group {a[1]} is not before {b[1]}"
distinct = con.execute(f"SELECT count(DISTINCT customer_id) FROM read_parquet('{dst}/*.parquet')").fetchone()[0]
json.dump({"rows": sum(f[1] for f in per_file), "customers": distinct,
           "files": [{"name": f[0], "rows": f[1], "first": f[2], "last": f[3], "customers": f[4],
                      "bytes": os.path.getsize(os.path.join(dst, f[0]))} for f in per_file]},
          open(os.path.join(dst, "meta.json"), "w"), indent=1)
"""


def generate(rows, files, dst):
    if os.path.exists(os.path.join(dst, "meta.json")):
        return json.load(open(os.path.join(dst, "meta.json")))
    tmp = dst + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    print(f"generating {rows:,} transactions in {files} files -> {dst}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([py, "-c", GEN, log_sql(rows), str(rows), str(files), tmp], check=True)
    os.rename(tmp, dst)
    print(f"  {time.perf_counter() - t0:.1f} s", flush=True)
    return json.load(open(os.path.join(dst, "meta.json")))


def summarize_cmd(src, dst, engine):
    return [tenure, "summarize", "--input", src, "--end", CAL, "--holdout-end", HOLD,
            "--unit", "weeks", "--output", dst, "--format", "json", "--engine", engine]


# ---- processes -------------------------------------------------------------------------------

def vm(pid, key):
    """A /proc/PID/status field in bytes (VmRSS, VmHWM), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def cpu_seconds(pid):
    """User + system CPU time of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid):
    """Reset VmHWM to the current RSS (Linux clear_refs 5); False when not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    """VmRSS of some processes every `every` seconds: a timeline of (seconds since t0, {name: rss})."""

    def __init__(self, pids, t0, every=0.1):
        super().__init__(daemon=True)
        self.pids, self.t0, self.every = dict(pids), t0, every
        self.timeline, self.done = [], threading.Event()

    def run(self):
        while not self.done.is_set():
            self.timeline.append((time.time() - self.t0, {n: vm(p, "VmRSS") for n, p in self.pids.items()}))
            self.done.wait(self.every)

    def peak(self, name, lo=float("-inf"), hi=float("inf")):
        vals = [s[name] for t, s in self.timeline if lo <= t <= hi and s.get(name) is not None]
        return max(vals) if vals else None

    def stop(self):
        self.done.set()
        self.join()


def run_client(cmd, env, name, pids_to_sample=None):
    """Run a client to its end: wall time, peak RSS and CPU seconds from wait4, its JSON answer,
    and (when asked) a Sampler of it and of `pids_to_sample`."""
    so, se = os.path.join(logs, f"{name}.stdout"), os.path.join(logs, f"{name}.stderr")
    with open(so, "w") as fo, open(se, "w") as fe:
        t_wall0 = time.time()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env)
        sampler = None
        if pids_to_sample is not None:
            sampler = Sampler(dict(pids_to_sample, client=p.pid), t_wall0)
            sampler.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    if sampler:
        sampler.stop()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {p.returncode}):\n"
                           f"{open(so).read()}\n{open(se).read()}")
    return {"wall": wall, "t_wall0": t_wall0, "rss": ru.ru_maxrss * 1024,
            "cpu": ru.ru_utime + ru.ru_stime, "json": json.loads(open(so).read()),
            "sampler": sampler}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_dirs(d):
    """The jobs an executor has files for (its work dir's entries other than DataFusion's temp dirs)."""
    try:
        return {e for e in os.listdir(d) if not e.startswith("datafusion-")}
    except FileNotFoundError:
        return set()


class Cluster:
    """One scheduler and `n` executors as child processes; stopped (SIGTERM, then SIGKILL) by stop()."""

    def __init__(self, n, concurrency, env):
        self.n, self.concurrency, self.env = n, concurrency, env
        self.procs = {}  # name -> Popen
        self.files = []
        self.url = None

    def _log(self, name):
        f = open(os.path.join(logs, f"{name}.log"), "w")
        self.files.append(f)
        return f

    def start(self):
        sched = subprocess.Popen([tenure, "cluster", "scheduler", "--addr", "127.0.0.1:0",
                                  "--executor-timeout-secs", "30"],
                                 stdout=subprocess.PIPE, stderr=self._log("scheduler"),
                                 env=self.env, text=True)
        self.procs["scheduler"] = sched
        ready, _, _ = select.select([sched.stdout], [], [], 60)
        line = sched.stdout.readline() if ready else ""
        if not line.startswith("scheduler listening on "):
            raise RuntimeError(f"the scheduler said {line!r} (exit {sched.poll()}); see {logs}/scheduler.log")
        addr = line.split()[-1]
        self.url = f"ballista://{addr}"
        for i in range(self.n):
            wd = os.path.join(work, f"executor-{i}")
            self.procs[f"executor-{i}"] = subprocess.Popen(
                [tenure, "cluster", "executor", "--scheduler", addr,
                 "--addr", f"127.0.0.1:{free_port()}", "--grpc-port", str(free_port()),
                 "--work-dir", wd, "--concurrency", str(self.concurrency), "--heartbeat-secs", "5"],
                stdout=self._log(f"executor-{i}"), stderr=subprocess.STDOUT, env=self.env)

    def executors(self):
        return [f"executor-{i}" for i in range(self.n)]

    def work_dir(self, name):
        return os.path.join(work, name)

    def pids(self):
        return {n: p.pid for n, p in self.procs.items()}

    def check_alive(self):
        for n, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError(f"{n} exited with {p.returncode}; see {logs}/{n}.log")

    def wait_ready(self, warm_input, client_env, timeout=120):
        """Run a tiny job until every executor has run a task of one: all have registered."""
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            self.check_alive()
            attempt += 1
            try:
                run_client(summarize_cmd(warm_input, os.path.join(out, "warmup.csv"), self.url),
                           client_env, "warmup")
                if all(job_dirs(self.work_dir(e)) for e in self.executors()):
                    return attempt
                why = "not every executor has run a task yet"
            except RuntimeError as e:
                why = str(e).strip().splitlines()[-1]
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster was not ready in {timeout} s: {why}")
            time.sleep(1)

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in self.files:
            f.close()
        if self.procs.get("scheduler") and self.procs["scheduler"].stdout:
            self.procs["scheduler"].stdout.close()


def job_files(wd, job):
    """A job's files in an executor's work dir: (stage, task or partition dir, path, bytes, mtime)."""
    rows = []
    for dirpath, _, names in os.walk(os.path.join(wd, job)):
        rel = os.path.relpath(dirpath, os.path.join(wd, job)).split(os.sep)
        for nm in names:
            st = os.stat(os.path.join(dirpath, nm))
            rows.append((int(rel[0]), rel[1] if len(rel) > 1 else "", os.path.join(dirpath, nm),
                         st.st_size, st.st_mtime))
    return rows


# ---- the run ---------------------------------------------------------------------------------

def terminate(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


signal.signal(signal.SIGTERM, terminate)
for d in (logs, work):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)

meta = generate(args.rows, args.files, data)
generate(1000 * args.files, args.files, warm)
load_start = os.getloadavg()
rows, files = meta["rows"], len(meta["files"])
data_bytes = sum(f["bytes"] for f in meta["files"])

base_env = dict(os.environ)
base_env.setdefault("RUST_LOG", "info")
client_env = dict(base_env)
if args.target_partitions > 0:
    client_env["DATAFUSION_EXECUTION_TARGET_PARTITIONS"] = str(args.target_partitions)
local_csv, cluster_csv = os.path.join(out, "local.csv"), os.path.join(out, "cluster.csv")


def same_files(a, b):
    """None when the files are identical, else the first differing line (1-based) and its texts."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        n = 0
        while True:
            la, lb = fa.readline(), fb.readline()
            n += 1
            if la != lb:
                return n, la, lb
            if not la:
                return None


local = None
for _ in range(args.repeat):
    r = run_client(summarize_cmd(data, local_csv, "local"), base_env, "local")
    if local is None or r["wall"] < local["wall"]:
        local = r
print(f"local: {local['wall']:.2f} s, peak {local['rss'] / 2**20:,.0f} MB, "
      f"CPU {local['cpu']:.1f} s\n  {json.dumps(local['json'])}", flush=True)

cluster = Cluster(args.executors, args.concurrency, base_env)
best = None
ok = False
try:
    cluster.start()
    attempts = cluster.wait_ready(warm, client_env)
    print(f"cluster {cluster.url}: {args.executors} executors × {args.concurrency} tasks, "
          f"ready after {attempts} warm-up job(s)", flush=True)
    for _ in range(args.repeat):
        cluster.check_alive()
        long_lived = cluster.pids()
        reset_ok = all([reset_peak(p) for p in long_lived.values()])
        before = {n: (vm(p, "VmRSS"), cpu_seconds(p)) for n, p in long_lived.items()}
        jobs_before = {e: job_dirs(cluster.work_dir(e)) for e in cluster.executors()}
        r = run_client(summarize_cmd(data, cluster_csv, cluster.url), client_env, "cluster", long_lived)
        files_of = []
        for e in cluster.executors():
            for job in job_dirs(cluster.work_dir(e)) - jobs_before[e]:
                files_of += [(e, job) + f for f in job_files(cluster.work_dir(e), job)]
        procs = {"client": {"peak": r["rss"], "before": None, "cpu": r["cpu"]}}
        for n, p in long_lived.items():
            hwm = vm(p, "VmHWM")
            procs[n] = {"peak": hwm if reset_ok else max(hwm, r["sampler"].peak(n) or 0),
                        "before": before[n][0], "cpu": cpu_seconds(p) - before[n][1]}
        cluster.check_alive()
        diff = same_files(local_csv, cluster_csv)
        if diff:
            raise RuntimeError(f"the cluster's summary differs from the local one at line {diff[0]}:\n"
                               f"  local:   {diff[1]!r}\n  cluster: {diff[2]!r}")
        r.update(procs=procs, files=files_of, reset_ok=reset_ok)
        if best is None or r["wall"] < best["wall"]:
            best = r
        print(f"cluster: {r['wall']:.2f} s, client peak {r['rss'] / 2**20:,.0f} MB, "
              f"{sum(f[5] for f in files_of) / 1e6:,.0f} MB in the executors' work dirs\n"
              f"  {json.dumps(r['json'])}", flush=True)
        if not args.keep_cluster_logs:
            for e, job, *_ in {(f[0], f[1]) for f in files_of}:
                shutil.rmtree(os.path.join(cluster.work_dir(e), job), ignore_errors=True)
    ok = True
finally:
    cluster.stop()
    if not ok:
        print(f"the cluster run failed; logs in {logs}, work dirs in {work}", file=sys.stderr)
print(f"local = cluster, byte for byte ({os.path.getsize(local_csv):,} bytes, "
      f"{local['json']['customers']:,} customers)", flush=True)

# ---- what was measured -----------------------------------------------------------------------

MB = 2 ** 20
customers = local["json"]["customers"]
distinct = meta["customers"]
cores = os.cpu_count()
slots = args.executors * args.concurrency
files_of = best["files"]
t0 = best["t_wall0"]
# Stages in the order they ended; the last one's files are the result the client fetches.
stages = sorted({f[2] for f in files_of}, key=lambda s: max(f[6] for f in files_of if f[2] == s))
stage_info = []
for s in stages:
    fs = [f for f in files_of if f[2] == s]
    tasks = {}
    for e, _, _, task, _, size, mtime in fs:
        t = tasks.setdefault((e, task), [0, 0.0])
        t[0] += size
        t[1] = max(t[1], mtime - t0)
    stage_info.append({"stage": s, "files": len(fs), "bytes": sum(f[5] for f in fs),
                       "tasks": tasks, "end": max(t[1] for t in tasks.values()),
                       "by_executor": {e: sum(f[5] for f in fs if f[0] == e) for e in cluster.executors()}})
shuffle = [si for si in stage_info[:-1]]
result = stage_info[-1] if stage_info else None
shuffle_bytes = sum(si["bytes"] for si in shuffle)
map_stage = stage_info[0] if len(stage_info) > 1 else None
map_end = map_stage["end"] if map_stage else None
reduce_end = result["end"] if result else None
sampler = best["sampler"]
execs = cluster.executors()
idle = {e: best["procs"][e]["before"] for e in execs}
map_peak = {e: sampler.peak(e, hi=map_end) for e in execs} if map_end else {}
red_peak = {e: sampler.peak(e, lo=map_end) for e in execs} if map_end else {}
map_tasks = len(map_stage["tasks"]) if map_stage else None
# Partial-aggregate states the map tasks ship: one per (customer, partition) — counted per file,
# which is exact when every map task reads one file (target partitions = files).
states = sum(f["customers"] for f in meta["files"]) if map_tasks == files else None


def task_gaps(stage):
    """Per executor: its tasks' end times in order; the gaps between them ≈ one task at concurrency 1."""
    out_ = {}
    for (e, _), (_, end) in stage["tasks"].items():
        out_.setdefault(e, []).append(end)
    return {e: sorted(v) for e, v in out_.items()}


gaps = task_gaps(map_stage) if map_stage else {}
gap_list = [b - a for v in gaps.values() for a, b in zip(v, v[1:])]
exec_cpu = sum(best["procs"][e]["cpu"] for e in execs)
ver = subprocess.run([tenure, "--version"], capture_output=True, text=True).stdout.strip()
profile = ("dev profile (`target/debug`: dependencies at opt-level 2, Tenure's crates at opt-level 1, "
           "debug assertions on)" if "/debug/" in tenure else
           "release profile" if "/release/" in tenure else f"binary {tenure}")
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem_total = vm("self", "VmRSS") and next(int(l.split()[1]) * 1024 for l in open("/proc/meminfo")
                                          if l.startswith("MemTotal:"))
load_end = os.getloadavg()


def mb(b):
    return "–" if b is None else f"{b / MB:,.0f} MB"


def s_(x):
    return "–" if x is None else f"{x:.1f} s"


L = []  # the report
p = L.append
p(f"# bench/cluster.sh — local engine vs a {args.executors}-executor Ballista cluster on one machine")
p("")
cmdline = "bench/cluster.sh " + " ".join(sys.argv[1:])
p(f"Command: `{'TENURE_BIN=' + tenure.replace(os.environ.get('HOME', '~'), '$HOME') + ' ' if 'TENURE_BIN' in os.environ else ''}"
  f"{cmdline.strip()}` (best of {args.repeat} run{'s' if args.repeat > 1 else ''} per engine), "
  f"{time.strftime('%Y-%m-%d')}, {ver}, {profile}.")
p(f"Data: {rows:,} generated transactions of {distinct:,} customers (bench/columnar.py's generator), "
  f"sorted by time and cut into {files} Parquet files of consecutive time ranges, "
  f"{data_bytes / 1e9:.2f} GB in all ({data_bytes / files / 1e6:,.0f} MB and {rows // files:,} rows a file). "
  f"Both engines wrote the same summary (calibration to {CAL}, holdout to {HOLD}, weeks) and the "
  f"script compared the files:")
p("")
p(f"    local = cluster, byte for byte ({os.path.getsize(local_csv):,} bytes, {customers:,} customers)")
p("")
p(f"Machine: {platform.machine()}, {model}, `nproc` {nproc}, {mem_total / 2**30:.0f} GB RAM; load average "
  f"{load_start[0]:.2f} before the runs, {load_end[0]:.2f} at the end. The cluster: 1 scheduler and "
  f"{args.executors} executors on 127.0.0.1, each `--concurrency {args.concurrency}` "
  f"({slots} task slot{'s' if slots > 1 else ''} for {cores} cores); the client plans with "
  + (f"DATAFUSION_EXECUTION_TARGET_PARTITIONS={args.target_partitions}" if args.target_partitions
     else "DataFusion's default partitions (the client's cores)")
  + f", which made {map_tasks} map task{'s' if map_tasks != 1 else ''} and "
  f"{len(result['tasks']) if result else '?'} reduce tasks.")
p("")
p("| engine | wall time | speed-up (local ÷ this) | peak memory | CPU time (all processes) |")
p("|---|---:|---:|---:|---:|")
cl_peak_sum = sum(v["peak"] for v in best["procs"].values())
cl_cpu = sum(v["cpu"] for v in best["procs"].values())
p(f"| local (1 process, {local['json']['engine']}) | {local['wall']:.1f} s | 1.00× | {mb(local['rss'])} | {local['cpu']:.1f} s |")
p(f"| cluster (client + scheduler + {args.executors} executors) | {best['wall']:.1f} s | "
  f"{local['wall'] / best['wall']:.2f}× | {mb(cl_peak_sum)} (sum of the processes' peaks) | {cl_cpu:.1f} s |")
p("")
p("The cluster's processes (peak: VmHWM over the job"
  + ("" if best["reset_ok"] else ", not resettable here, so the sampled VmRSS peak") + "; the client's from wait4):")
p("")
p("| process | peak memory | peak in the map stage | peak after it | RSS before the job | CPU time in the job | job files written |")
p("|---|---:|---:|---:|---:|---:|---:|")
for n, v in best["procs"].items():
    written = "–"
    if n.startswith("executor"):
        parts = [f"{mb(si['by_executor'][n])} stage {si['stage']}" for si in stage_info]
        written = ", ".join(parts)
    mp = map_peak.get(n) if n.startswith("executor") else sampler.peak(n, hi=map_end) if map_end else None
    rp = red_peak.get(n) if n.startswith("executor") else sampler.peak(n, lo=map_end) if map_end else None
    p(f"| {n} | {mb(v['peak'])} | {mb(mp)} | {mb(rp)} | {mb(v['before'])} | {v['cpu']:.1f} s | {written} |")
p("")
if map_stage:
    p(f"Stages (times from the client's start; a stage ends with its last file): map stage {map_stage['stage']} — "
      f"{map_tasks} tasks, ended at {map_end:.1f} s, wrote {mb(map_stage['bytes'])} of shuffle files "
      f"({map_stage['files']} files); "
      + "".join(f"stage {si['stage']} — {len(si['tasks'])} tasks, ended at {si['end']:.1f} s, "
                f"{mb(si['bytes'])}; " for si in stage_info[1:-1])
      + f"result stage {result['stage']} — {len(result['tasks'])} tasks, ended at {reduce_end:.1f} s, "
      f"{mb(result['bytes'])} (fetched by the client); the client exited at {best['wall']:.1f} s. "
      f"Map-task ends per executor: "
      + "; ".join(f"{e}: " + ", ".join(f"{t:.1f}" for t in v) + " s" for e, v in sorted(gaps.items())) + ".")
    p("")

# ---- capacity plan inputs and extrapolation ---------------------------------------------------
p("## Capacity plan inputs")
p("")
p(f"Measured by `{cmdline.strip()}` above; every figure below is arithmetic on the run's numbers "
  f"(R = {rows:,} rows, C = {customers:,} customers with a calibration purchase, D = {distinct:,} distinct "
  f"ids, {slots} executor cores).")
p("")
thr_local = rows / local["wall"] / cores
thr_cluster = rows / best["wall"] / slots
p("| input | value | from |")
p("|---|---:|---|")
p(f"| local throughput per core, whole process | {thr_local / 1e6:,.2f} M rows/s | "
  f"{rows:,} / {local['wall']:.1f} s / {cores} cores |")
p(f"| local rows per CPU-second | {rows / local['cpu'] / 1e6:,.2f} M | {rows:,} / {local['cpu']:.1f} s |")
p(f"| cluster throughput per executor core, whole job | {thr_cluster / 1e6:,.2f} M rows/s | "
  f"{rows:,} / {best['wall']:.1f} s / {slots} |")
if map_stage:
    thr_map = rows / map_end / slots
    p(f"| cluster throughput per executor core, map stage (scan + partial aggregation + shuffle write) | "
      f"{thr_map / 1e6:,.2f} M rows/s | {rows:,} / {map_end:.1f} s / {slots} |")
p(f"| cluster rows per executor CPU-second | {rows / exec_cpu / 1e6:,.2f} M | {rows:,} / {exec_cpu:.1f} s |")
if gap_list:
    p(f"| one map task (≈ {rows // map_tasks:,} rows), gap between task ends on an executor | "
      f"median {statistics.median(gap_list):.1f} s (min {min(gap_list):.1f}, max {max(gap_list):.1f}) | "
      f"{len(gap_list)} gaps of files' mtimes; concurrency {args.concurrency} |")
p(f"| shuffle bytes (map output) | {shuffle_bytes:,} B | the job's map-stage files in the work dirs |")
p(f"| shuffle bytes per input row | {shuffle_bytes / rows:.2f} B | {shuffle_bytes:,} / {rows:,} |")
p(f"| shuffle bytes per customer | {shuffle_bytes / customers:.1f} B | {shuffle_bytes:,} / {customers:,} |")
if states:
    b_state = shuffle_bytes / states
    p(f"| partial-aggregate states shipped (distinct customers per file, summed) | {states:,} "
      f"({states / rows:.3f} per row) | DuckDB over the files; one file per map task |")
    p(f"| shuffle bytes per state | {b_state:.1f} B | {shuffle_bytes:,} / {states:,} |")
if result:
    p(f"| result bytes (reduce output, read by the client) | {result['bytes']:,} B "
      f"({result['bytes'] / customers:.1f} B per customer) | the result stage's files |")
m_task = m_red_task = None
if map_peak and all(map_peak.values()) and all(idle.values()):
    m_task = max((map_peak[e] - idle[e]) for e in execs) / args.concurrency
    p(f"| executor memory per concurrent map task | {mb(m_task)} | max over executors of "
      f"(map-stage peak − RSS before) / {args.concurrency} |")
    if states:
        m_state = m_task / (states / map_tasks)
        p(f"| … per state of the task's hash table | {m_state:.0f} B | {mb(m_task)} / "
          f"({states:,} / {map_tasks}) |")
if red_peak and all(red_peak.values()) and all(idle.values()) and result:
    m_red_task = max((red_peak[e] - idle[e]) for e in execs) / args.concurrency
    red_tasks = len(result["tasks"])
    m_red_cust = m_red_task / (distinct / red_tasks)
    p(f"| executor memory per concurrent reduce task | {mb(m_red_task)} ({m_red_cust:.0f} B per customer "
      f"of the task) | (peak after the map stage − RSS before) / {args.concurrency}; "
      f"{distinct:,} / {red_tasks} customers a task |")
idle_max = max(idle.values()) if idle and all(idle.values()) else None
p(f"| executor RSS idle | {mb(idle_max)} | before the job |")
client_tail = best["wall"] - reduce_end if reduce_end else None
p(f"| client peak memory per customer | {best['rss'] / customers:,.0f} B | {mb(best['rss'])} / {customers:,} |")
if client_tail is not None:
    p(f"| client time after the last task (fetch, sort, CSV) per customer | "
      f"{client_tail / customers * 1e6:.2f} µs | ({best['wall']:.1f} − {reduce_end:.1f}) s / {customers:,} |")
p(f"| CSV output per customer | {os.path.getsize(local_csv) / customers:.1f} B | "
  f"{os.path.getsize(local_csv):,} / {customers:,} |")
p("")

p("## Extrapolation: 10 billion transactions, 100 million customers, 16 executors × 8 cores")
p("")
R2, C2, E2, K2 = 10_000_000_000, 100_000_000, 16, 8
slots2 = E2 * K2
if map_stage and states and m_task is not None and client_tail is not None:
    rows_task = rows / map_tasks
    P2 = R2 / rows_task
    file_mb = data_bytes / rows * rows_task / 1e6
    states2 = R2  # upper bound: every row of a partition a different customer
    ratio = states / rows
    shuffle2 = states2 * b_state
    t_map_row = map_end * slots / rows          # core-seconds per row, map stage
    t_red_state = (reduce_end - map_end) * slots / states  # core-seconds per shipped state
    core_s = t_map_row * R2 + t_red_state * states2
    client2 = client_tail / customers * C2
    mem_map2 = m_task / (states / map_tasks) * min(rows_task, C2)
    mem_red2 = (m_red_task / (distinct / len(result["tasks"])) * (C2 / P2)) if m_red_task else None
    mem_exec2 = idle_max + K2 * max(mem_map2, mem_red2 or 0)
    p("An extrapolation from one 2-core machine, where the \"cluster\" shares its cores, memory and "
      "disk with itself and the shuffle never crosses a network: read it as an order of magnitude, "
      "to be checked on a real cluster, not as a promise. Assumed: the same log shape (a time-ordered "
      "log, the same columns), tasks of the measured size, per-core speed unchanged at 8 tasks per "
      "executor, shared storage as fast as this local disk, and a network that keeps up with the shuffle.")
    p("")
    p(f"- **Partitions**: keep map tasks of the measured {rows_task:,.0f} rows "
      f"(≈ {file_mb:,.0f} MB of Parquet): 10,000,000,000 / {rows_task:,.0f} = **{P2:,.0f} files / "
      f"partitions** (DATAFUSION_EXECUTION_TARGET_PARTITIONS={P2:,.0f}, which also makes "
      f"{P2:,.0f} reduce tasks of 100,000,000 / {P2:,.0f} = {C2 / P2:,.0f} customers).")
    p(f"- **Shuffle volume**: here a task's {rows_task:,.0f} rows held {states / map_tasks:,.0f} distinct "
      f"customers ({ratio:.3f} states per row), because 4M customers buy ~25 times each within one "
      f"task's time range. With 100M customers and a task covering 1/{P2:,.0f} of the log's time, "
      f"a customer rarely appears twice in one task, so plan for the upper bound of one state per row: "
      f"10,000,000,000 × {b_state:.1f} B = **{shuffle2 / 1e9:,.0f} GB** of shuffle files "
      f"(the measured ratio would give {R2 * ratio * b_state / 1e9:,.0f} GB), spread over the executors' "
      f"work dirs ({shuffle2 / E2 / 1e9:,.1f} GB each) and sent over the network once.")
    p(f"- **Memory per executor**: a map task's hash table holds its states, "
      f"{m_task / (states / map_tasks):.0f} B each as measured ({mb(m_task)} for {states / map_tasks:,.0f}): "
      f"{m_task / (states / map_tasks):.0f} B × {min(rows_task, C2):,.0f} = {mem_map2 / 2**30:.1f} GB per task"
      + (f"; a reduce task {m_red_task / (distinct / len(result['tasks'])):.0f} B × {C2 / P2:,.0f} customers "
         f"= {mem_red2 / 2**30:.2f} GB" if mem_red2 is not None else "")
      + f". With 8 tasks at once: {idle_max / 2**30:.2f} GB idle + 8 × {max(mem_map2, mem_red2 or 0) / 2**30:.1f} GB "
      f"= **{mem_exec2 / 2**30:.0f} GB per executor** (plus the OS's page cache for the Parquet files).")
    p(f"- **Core-hours**: the map stage took {map_end:.1f} s × {slots} cores / {rows:,} rows = "
      f"{t_map_row * 1e9:.0f} core-ns per row; the reduce stage ({reduce_end - map_end:.1f} s × {slots} / "
      f"{states:,} states) {t_red_state * 1e9:.0f} core-ns per state. "
      f"10,000,000,000 × {t_map_row * 1e9:.0f} ns + 10,000,000,000 states × {t_red_state * 1e9:.0f} ns = "
      f"{core_s:,.0f} core-seconds = **{core_s / 3600:,.1f} core-hours**.")
    p(f"- **Wall time on 16 × 8 = 128 cores**: {core_s:,.0f} / 128 = {core_s / slots2 / 60:,.1f} min of tasks "
      f"(if the {P2:,.0f} tasks spread evenly: {P2 / slots2:,.1f} waves of 128), plus the client: "
      f"it fetched, sorted and wrote {client_tail / customers * 1e6:.2f} µs per customer, × 100,000,000 = "
      f"{client2 / 60:,.1f} min on one core. **≈ {(core_s / slots2 + client2) / 60:,.0f} min** in all.")
    p(f"- **The client**: it collects every summary before writing the CSV; "
      f"{best['rss'] / customers:,.0f} B per customer × 100,000,000 = **{best['rss'] / customers * C2 / 2**30:,.0f} GB** "
      f"on the client machine, and a CSV of {os.path.getsize(local_csv) / customers * C2 / 1e9:,.1f} GB. "
      f"At this size the client, not the executors, is the limit.")
else:
    p("Not derived: the run did not give a map stage, a state count (target partitions ≠ files) "
      "or memory samples; see the table above.")
p("")

report = "\n".join(L) + "\n"
print()
print(report)
with open(args.report, "w") as f:
    f.write(report)
print(f"wrote {args.report}")
if not args.keep_cluster_logs:
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(logs, ignore_errors=True)
