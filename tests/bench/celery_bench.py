#!/usr/bin/env python3
"""Celery side of the Actuate-vs-Celery benchmark.

Runs N trivial tasks (the Celery equivalent of a Python step `result = 1`) through a
Celery worker on RabbitMQ with a PostgreSQL result backend, and prints one JSON object
with throughput, submit latency, queued->completed latency and worker memory.

    <venv>/bin/python tests/bench/celery_bench.py --executions 2000 --clients 16 \
        --workers 2 --broker amqp://guest:guest@127.0.0.1:5672/%2f \
        --backend db+postgresql://postgres@127.0.0.1:5432/celery_bench \
        --queue bench-1234 [--json out.json]

The same file is the worker's app module: the worker subprocess imports it with
`celery -A celery_bench worker`, and gets broker, backend and queue through the
CELERY_BENCH_* environment variables (see `app` at the bottom of the app section).

How it runs: after a warm-up, C producer threads each submit their share of the N
tasks back to back with delay() (open loop: no producer waits for a result). How the
end is detected is --completion:
  * count (the default): one monitor thread, on one database connection of its own,
    counts the measured tasks' SUCCESS rows in the result table every
    --count-interval (0.2 s) seconds until there are N. This is what Actuate's own
    harness does (one status count on the database being measured every 200 ms), and
    it costs the client next to nothing, so on a 2-core machine the client does not
    take CPU from Celery's workers. The per-task date_done is read afterwards, in one
    query.
  * poll: one collector thread waits for each result in submission order with
    AsyncResult.get, which polls the result table every --poll-interval seconds: a
    database round trip and about a millisecond of Python under the client's GIL per
    task, 30-40% of a core on a 2-core machine. Kept for comparison.

What is measured (all on this one machine, so wall clocks agree):
  * seconds: from the first delay() call to the moment the client saw the last result
    ready (count: the first count that reached N; poll: the last get() returning);
    per_second = N / seconds;
  * submit_ms: duration of each delay() call (publishing the message to RabbitMQ);
  * queued_to_completed_ms: the result row's date_done (set by the worker when it
    stores the result) minus the client's wall time when delay() returned;
  * worker_rss_mib: summed VmRSS of the worker's main process and prefork children.
Extra fields: completion (the mode above), seconds_to_last_date_done (the span of
`seconds`, ending at the last date_done instead of when the client saw it: the two
differ by the detection delay, up to one count or poll interval plus a query),
worker_pss_mib (shared pages counted once), CPU seconds of the worker tree and of this
client over the measured part, queued_to_completed_negative (tasks whose date_done came
before their delay() returned: the producer thread waited for the GIL after publishing
while the worker already ran the task; a few per thousand with 16 threads), and the
client settings used (result_poll_interval_s is the interval of whichever polling the
completion mode does).
Everything waited on is bounded by --timeout; on any failure the worker tree is still
stopped and the queue deleted, and the script exits non-zero with a message on stderr.
"""

import argparse
import json
import math
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

import celery
import sqlalchemy as sa
from celery import Celery
from celery.result import AsyncResult

ENV_BROKER = "CELERY_BENCH_BROKER"
ENV_BACKEND = "CELERY_BENCH_BACKEND"
ENV_QUEUE = "CELERY_BENCH_QUEUE"
TASK_NAME = "actuate_bench.noop"
# The table Celery's database backend stores results in (database_table_names unset),
# see celery/backends/database/models.py: one row per task, inserted by the worker when
# it stores the result (task_track_started is off, so that is when the task ended), with
# a sequence-numbered primary key `id`, `task_id`, `status` and `date_done`.
RESULT_TABLE = "celery_taskmeta"
MODULE_DIR = os.path.dirname(os.path.abspath(__file__))
MODULE_NAME = os.path.splitext(os.path.basename(__file__))[0]


# --------------------------------------------------------------------------------------
# The Celery app (shared by the client and the worker subprocess)
# --------------------------------------------------------------------------------------

def backend_url(url):
    """SQLAlchemy 2.1 made psycopg (3) the driver behind a bare "postgresql://" URL;
    this benchmark installs psycopg2 (requirements-celery.txt), so name it when the URL
    names no driver. libpq's "postgres://" spelling, unknown to SQLAlchemy, is taken
    too."""
    for scheme in ("db+postgresql://", "db+postgres://"):
        if url.startswith(scheme):
            return "db+postgresql+psycopg2://" + url[len(scheme):]
    return url


def build_app(broker, backend, queue_name):
    app = Celery("actuate_bench", broker=broker, backend=backend_url(backend))
    app.conf.update(
        # Everything goes through this run's own queue (and the direct exchange Celery
        # names after it), so parallel runs on the same vhost don't take each other's
        # tasks.
        task_default_queue=queue_name,
        # Ack after the task ran, the at-least-once delivery Actuate gives: a task whose
        # worker dies is redelivered instead of lost.
        task_acks_late=True,
    )

    # An explicit name: the client runs this file as __main__, the worker imports it as
    # a module, and both must agree on the task's name.
    @app.task(name=TASK_NAME)
    def noop():
        result = 1
        return result

    return app


def _app_from_env():
    if ENV_BROKER not in os.environ:
        return None
    return build_app(os.environ[ENV_BROKER], os.environ[ENV_BACKEND], os.environ[ENV_QUEUE])


# What `celery -A celery_bench worker` loads.
app = _app_from_env()


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

class BenchError(Exception):
    pass


def log(msg):
    print(f"celery_bench: {msg}", file=sys.stderr, flush=True)


def percentiles_ms(seconds):
    """Nearest-rank p50/p90/p99/max of a list of durations in seconds, in ms."""
    if not seconds:
        return None
    s = sorted(seconds)

    def rank(q):
        return s[max(0, math.ceil(q * len(s)) - 1)] * 1000.0

    return {
        "p50": round(rank(0.50), 3),
        "p90": round(rank(0.90), 3),
        "p99": round(rank(0.99), 3),
        "max": round(s[-1] * 1000.0, 3),
    }


def process_tree(root_pid):
    """root_pid and all its descendants, found through the ppid field of /proc/*/stat."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # exited meanwhile
        # comm (field 2) may hold spaces and parentheses: parse after its closing ')'.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def proc_kib(pid, path, key):
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_cpu_seconds(root_pid):
    """User + system CPU time used so far by the live processes of the tree."""
    ticks = 0
    for pid in process_tree(root_pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_memory_mib(root_pid):
    """(RSS, PSS) of the process tree in MiB. RSS counts pages shared by the prefork
    children (copy-on-write from the parent) once per process; PSS splits them."""
    pids = process_tree(root_pid)
    rss = sum(proc_kib(p, "status", "VmRSS") for p in pids)
    pss = sum(proc_kib(p, "smaps_rollup", "Pss") for p in pids)
    return round(rss / 1024.0, 1), round(pss / 1024.0, 1), len(pids)


def to_epoch(date_done):
    """date_done from the database backend is a naive UTC datetime (the column is a
    `timestamp without time zone`); other backends may give aware ones."""
    if date_done is None:
        return None
    if isinstance(date_done, str):
        date_done = datetime.fromisoformat(date_done)
    if date_done.tzinfo is None:
        date_done = date_done.replace(tzinfo=timezone.utc)
    return date_done.timestamp()


# --------------------------------------------------------------------------------------
# The worker subprocess
# --------------------------------------------------------------------------------------

def group_members(pgid):
    """Pids of the live processes in process group pgid."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # pgrp is field 5
            members.append(int(entry))
    return members


def _die_with_parent():
    """In the worker child before exec: have the kernel send it SIGTERM if this client
    dies, even by SIGKILL, so a killed benchmark leaves no worker behind (it runs in a
    session of its own, out of reach of signals sent to the harness's group)."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Worker:
    def __init__(self, args, client_app):
        self.args = args
        self.app = client_app
        # A node name of its own, so pings reach this run's worker only, and parallel
        # runs don't warn about duplicate node names.
        self.nodename = f"{args.queue}@{os.uname().nodename}"
        self.proc = None
        self.log = tempfile.TemporaryFile(mode="w+b")

    def start(self):
        env = dict(os.environ)
        env[ENV_BROKER] = self.args.broker
        env[ENV_BACKEND] = self.args.backend
        env[ENV_QUEUE] = self.args.queue
        env["PYTHONPATH"] = MODULE_DIR + os.pathsep + env.get("PYTHONPATH", "")
        # The worker imports this file as a module: keep it from leaving a __pycache__
        # in the source tree.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        cmd = [
            sys.executable, "-m", "celery", "-A", MODULE_NAME, "worker",
            "--pool", "prefork", "-c", str(self.args.workers), "-Q", self.args.queue,
            "-n", self.nodename,
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-l", "warning",
        ]
        log("starting worker: " + " ".join(cmd[1:]))
        # A session of its own, so the whole tree (main process and prefork children)
        # can be signalled as one process group. Output goes to a file, never a pipe
        # nobody reads (a full pipe would block the worker).
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=MODULE_DIR, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def wait_ready(self, timeout):
        """Ping the worker through the broadcast (pidbox) exchange until it answers. The
        consumer starts remote control after its task queue consumer, so an answer means
        tasks sent to the queue will be taken."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"worker exited with code {self.proc.returncode} while starting\n"
                    + self.output_tail())
            replies = self.app.control.ping(destination=[self.nodename], timeout=1.0)
            if any(self.nodename in r for r in replies):
                return
        raise BenchError(f"worker {self.nodename} not ready after {timeout:.0f} s\n"
                         + self.output_tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def memory_mib(self):
        return tree_memory_mib(self.proc.pid)

    def stop(self, grace=10.0):
        """SIGTERM the process group (Celery's warm shutdown), SIGKILL after `grace`."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the worker leads its own group
        if self.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"worker did not stop within {grace:.0f} s of SIGTERM; sending SIGKILL")
        # SIGKILL what is left of the group: the main process if it ignored SIGTERM, or
        # prefork children it left behind (after a crash, say).
        if self.proc.poll() is None or group_members(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"worker {self.proc.pid} still not reaped after SIGKILL")

    def output_tail(self, limit=4000):
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        return "--- worker output (tail) ---\n" + (text[-limit:] or "(empty)\n")


def delete_queue(client_app, name):
    """Drop this run's queue and the direct exchange Celery declared for it."""
    with client_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
        channel = conn.default_channel
        try:
            channel.queue_delete(name)  # drops any messages left in it too
        except Exception as e:  # the queue may never have been declared
            log(f"could not delete queue {name}: {e}")
            channel = conn.channel()  # a failed AMQP operation closes the channel
        try:
            channel.exchange_delete(name)
        except Exception as e:
            log(f"could not delete exchange {name}: {e}")


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------

def thread_backend(app, result_engine):
    """This thread's result backend, set up for client-side lookups.

    app.backend is per thread in Celery (each thread gets its own backend instance), so
    every thread that calls AsyncResult.get does this first.

    Celery's database backend gives a process that has not forked (as this client) a new
    SQLAlchemy engine with NullPool for every result lookup: a fresh PostgreSQL
    connection, ~18 ms and ~7 ms of client CPU under the GIL per AsyncResult.get poll
    (against ~1.4 ms and ~0.9 ms pooled). Left so, the client, not Celery's workers,
    bounds the measured rate. With "pooled", the session manager is marked as forked,
    so it keeps one pooled engine, exactly as Celery's worker processes do."""
    backend = app.backend
    if result_engine == "pooled":
        backend.session_manager.forked = True
    return backend


def warm_up(task, clients, count, timeout, result_engine):
    """Round trips before measuring, from as many threads as the measured run uses: they
    open the client's pooled broker connections (Celery's producer pool grows one
    connection per concurrent publisher, up to broker_pool_limit), let each prefork
    child open its database connection, and make the first process to touch the result
    backend create its tables."""
    per_thread = max(1, math.ceil(count / clients))
    errors = []

    def one_client():
        try:
            thread_backend(task.app, result_engine)
            results = [task.delay() for _ in range(per_thread)]
            for r in results:
                value = r.get(timeout=timeout, interval=0.05)
                if value != 1:
                    raise BenchError(f"warm-up task {r.id} returned {value!r}, expected 1")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=one_client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout + 10
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise BenchError(f"warm-up not done after {timeout:.0f} s")
    if errors:
        raise BenchError(f"warm-up failed: {type(errors[0]).__name__}: {errors[0]}")
    return per_thread * clients


class Record:
    """One measured task."""
    __slots__ = ("submit_start", "submit_end", "submit_end_wall", "result", "ready")

    def __init__(self, submit_start, submit_end, submit_end_wall, result):
        self.submit_start = submit_start        # perf_counter before delay()
        self.submit_end = submit_end            # perf_counter after delay()
        self.submit_end_wall = submit_end_wall  # time.time() after delay()
        self.result = result                    # AsyncResult
        self.ready = None                       # perf_counter when seen ready


class Producer(threading.Thread):
    """Submits its share of the tasks back to back and hands each to the collector
    (`submitted`; None in count mode, where nothing waits on individual results)."""

    def __init__(self, task, count, start_barrier, submitted):
        super().__init__(daemon=True)  # daemon: a stuck thread can't keep us alive
        self.task = task
        self.app = task.app
        self.count = count
        self.barrier = start_barrier
        self.submitted = submitted
        self.records = []
        self.error = None

    def run(self):
        try:
            # delay() creates this thread's result backend on first use (Celery keeps
            # one per thread), which connects to the database to check the tables: do
            # it before the clock starts, not inside the first measured delay().
            self.app.backend
            self.barrier.wait(timeout=30)
            for _ in range(self.count):
                t0 = time.perf_counter()
                r = self.task.delay()
                t1 = time.perf_counter()
                rec = Record(t0, t1, time.time(), r)
                self.records.append(rec)
                if self.submitted is not None:
                    self.submitted.put(rec)
        except BaseException as e:  # reported by the main thread
            self.error = e


class Collector(threading.Thread):
    """Waits for every result, in the order they were submitted (the queue is FIFO, so
    about the order they complete).

    One collector rather than one per producer: each AsyncResult.get poll is a database
    round trip plus about a millisecond of Python under the client's GIL, and sixteen
    threads polling every 50 ms would take CPU away from the workers on a 2-core
    machine. One thread makes about one lookup per task, plus one per --poll-interval
    while the result it waits for is still pending; at ~1.4 ms a lookup it keeps up
    with several hundred tasks a second (compare `seconds` with
    `seconds_to_last_date_done` to see that it did)."""

    def __init__(self, app, result_engine, total, submitted, deadline, poll_interval,
                 worker):
        super().__init__(daemon=True)
        self.app = app
        self.result_engine = result_engine
        self.total = total
        self.submitted = submitted
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.worker = worker
        self.collected = 0
        self.error = None

    def run(self):
        try:
            backend = thread_backend(self.app, self.result_engine)
            while self.collected < self.total:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    raise BenchError("timed out waiting for results")
                try:
                    rec = self.submitted.get(timeout=min(remaining, 1.0))
                except queue.Empty:
                    self._check_worker()
                    continue  # producers still submitting (or failed: main checks)
                # The AsyncResult from delay() is bound to its producer thread's
                # backend; look it up through this thread's (pooled) one instead.
                rec.result = AsyncResult(rec.result.id, app=self.app, backend=backend)
                value = rec.result.get(timeout=remaining, interval=self.poll_interval,
                                       on_interval=self._check_worker)
                rec.ready = time.perf_counter()
                if value != 1:
                    raise BenchError(f"task {rec.result.id} returned {value!r}, expected 1")
                self.collected += 1
        except BaseException as e:  # reported by the main thread
            self.error = e

    def _check_worker(self, *_):
        # Called between polls: fail fast if the worker died rather than wait for the
        # whole --timeout.
        if not self.worker.alive():
            raise BenchError("the worker exited during the run")


class ResultTable:
    """One dedicated connection to the result database, for count mode: the monitor's
    counts, and the two queries before and after the measured part. Used by one thread
    at a time (main before the monitor starts and after it ended, the monitor in
    between). Autocommit, so each count sees the rows committed so far and no
    transaction stays open on the database being measured."""

    def __init__(self, backend):
        # The URL Celery's backend uses, without its "db+" prefix.
        url = backend_url(backend)
        if url.startswith("db+"):
            url = url[len("db+"):]
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def max_id(self):
        """The highest row id so far (0 for an empty table). Taken after the warm-up,
        when all its rows are committed (each warm-up get() saw SUCCESS), and before the
        first measured delay(): the rows of measured tasks are inserted later, with
        later (greater) sequence values, so `id > max_id` is exactly the measured tasks,
        without the warm-up's rows, and at the cost of an index range scan."""
        return self.conn.execute(
            sa.text(f"SELECT coalesce(max(id), 0) FROM {RESULT_TABLE}")).scalar_one()

    def counts(self, after_id):
        """(SUCCESS, FAILURE) rows among those after after_id, in one query."""
        row = self.conn.execute(sa.text(
            f"SELECT count(*) FILTER (WHERE status = 'SUCCESS'),"
            f" count(*) FILTER (WHERE status = 'FAILURE')"
            f" FROM {RESULT_TABLE} WHERE id > :after"), {"after": after_id}).one()
        return row[0], row[1]

    def results(self, task_ids):
        """{task_id: (status, date_done)} for the given ids, in one query."""
        rows = self.conn.execute(sa.text(
            f"SELECT task_id, status, date_done FROM {RESULT_TABLE}"
            f" WHERE task_id = ANY(:ids)"), {"ids": list(task_ids)})
        return {r[0]: (r[1], r[2]) for r in rows}

    def close(self):
        try:
            self.conn.close()
        finally:
            self.engine.dispose()


class Monitor(threading.Thread):
    """Count mode's end detection: counts the measured SUCCESS rows every `interval`
    seconds until there are `total`, and records (perf_counter) when it saw that.

    The same cost as Actuate's own harness pays on its database: one cheap count
    query per interval, whatever the rate, instead of a lookup per task. A FAILURE row
    among the measured ones ends the run with an error at once, as does the worker
    dying or the deadline passing."""

    def __init__(self, table, after_id, total, deadline, interval, worker, stop):
        super().__init__(daemon=True)
        self.table = table
        self.after_id = after_id
        self.total = total
        self.deadline = deadline
        self.interval = interval
        self.worker = worker
        self.stop = stop  # set by main when it gives up (a producer failed)
        self.ready = None  # perf_counter when the count reached total
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                succeeded, failed = self.table.counts(self.after_id)
                if failed:
                    raise BenchError(f"{failed} measured task(s) ended in FAILURE "
                                     f"({succeeded} succeeded so far)")
                if succeeded >= self.total:
                    self.ready = time.perf_counter()
                    return
                if time.monotonic() > self.deadline:
                    raise BenchError(f"timed out waiting for results: "
                                     f"{succeeded} of {self.total} succeeded")
                if not self.worker.alive():
                    raise BenchError("the worker exited during the run")
                self.stop.wait(self.interval)
            raise BenchError("stopped before all results were in")
        except BaseException as e:  # reported by the main thread
            self.error = e


def join_or_fail(thread, what, deadline):
    thread.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
    if thread.is_alive():
        raise BenchError(f"{what} still running after the timeout")
    if thread.error is not None:
        raise BenchError(f"{what} failed: {type(thread.error).__name__}: {thread.error}")


def run_benchmark(args, client_app, worker):
    task = client_app.tasks[TASK_NAME]

    warmed = warm_up(task, args.clients, args.warmup, timeout=60,
                     result_engine=args.result_engine)
    log(f"warm-up done ({warmed} tasks); submitting {args.executions} tasks "
        f"from {args.clients} threads")
    # CPU is counted over the measured part only (first delay() to the end being seen),
    # client and worker tree apart: on a 2-core machine the client's own work competes
    # with the workers.
    shares = [args.executions // args.clients + (1 if i < args.executions % args.clients else 0)
              for i in range(args.clients)]
    barrier = threading.Barrier(len(shares))
    if args.completion == "count":
        table, monitor = ResultTable(args.backend), None
        try:
            # Before the clock starts (and its connection opened before too).
            after_id = table.max_id()
            client_cpu0, worker_cpu0 = time.process_time(), tree_cpu_seconds(worker.proc.pid)
            deadline = time.monotonic() + args.timeout
            producers = [Producer(task, n, barrier, None) for n in shares]
            stop = threading.Event()
            monitor = Monitor(table, after_id, args.executions, deadline,
                              args.count_interval, worker, stop)
            monitor.start()
            try:
                for p in producers:
                    p.start()
                for p in producers:
                    join_or_fail(p, "a producer thread", deadline)
                join_or_fail(monitor, "the completion monitor", deadline)
            finally:
                # If a producer failed, don't let the monitor count on (nor use the
                # connection while it is closed below).
                stop.set()
                monitor.join(timeout=10)
            client_cpu = time.process_time() - client_cpu0
            worker_cpu = tree_cpu_seconds(worker.proc.pid) - worker_cpu0
            if not worker.alive():
                raise BenchError("the worker died during the run\n" + worker.output_tail())
            records = [rec for p in producers for rec in p.records]
            assert len(records) == args.executions
            first_submit = min(r.submit_start for r in records)
            wall = monitor.ready - first_submit
            # After the clock: each measured task's date_done, in one query. The count
            # said N rows after after_id succeeded; check they are this run's N.
            stored = table.results(r.result.id for r in records)
        finally:
            if monitor is None or not monitor.is_alive():  # else stuck in a query
                table.close()
        missing = [r.result.id for r in records
                   if stored.get(r.result.id, (None,))[0] != "SUCCESS"]
        if missing:
            raise BenchError(f"{len(missing)} measured task(s) have no SUCCESS row although "
                             f"the count reached {args.executions} (rows of another run in "
                             f"{RESULT_TABLE}?), e.g. {missing[0]}")
        done_epochs = [to_epoch(stored[r.result.id][1]) for r in records]
        poll_interval = args.count_interval
    else:
        client_cpu0, worker_cpu0 = time.process_time(), tree_cpu_seconds(worker.proc.pid)
        deadline = time.monotonic() + args.timeout
        submitted = queue.Queue()
        producers = [Producer(task, n, barrier, submitted) for n in shares]
        collector = Collector(client_app, args.result_engine, args.executions, submitted,
                              deadline, args.poll_interval, worker)
        collector.start()
        for p in producers:
            p.start()
        for p in producers:
            join_or_fail(p, "a producer thread", deadline)
        join_or_fail(collector, "the result collector", deadline)
        client_cpu = time.process_time() - client_cpu0
        worker_cpu = tree_cpu_seconds(worker.proc.pid) - worker_cpu0
        if not worker.alive():
            raise BenchError("the worker died during the run\n" + worker.output_tail())

        records = [rec for p in producers for rec in p.records]
        assert len(records) == args.executions and all(r.ready for r in records)
        first_submit = min(r.submit_start for r in records)
        wall = max(r.ready for r in records) - first_submit

        # get() has cached each result's meta, date_done included: no further queries.
        done_epochs = [to_epoch(r.result.date_done) for r in records]
        poll_interval = args.poll_interval

    if all(d is not None for d in done_epochs):
        q2c = [d - r.submit_end_wall for d, r in zip(done_epochs, records)]
        q2c_ms = percentiles_ms(q2c)
        # The span of `seconds`, ending at the last date_done rather than when the
        # client saw it.
        first_submit_wall = min(r.submit_end_wall - (r.submit_end - r.submit_start)
                                for r in records)
        wall_to_last_done = round(max(done_epochs) - first_submit_wall, 4)
        negative = sum(1 for x in q2c if x < 0)
    else:
        q2c_ms, wall_to_last_done, negative = None, None, None

    rss, pss, nprocs = worker.memory_mib()
    return {
        "system": "celery",
        "celery_version": celery.__version__,
        "completion": args.completion,
        "executions": args.executions,
        "clients": args.clients,
        "workers": args.workers,
        "seconds": round(wall, 4),
        "per_second": round(args.executions / wall, 2),
        "submit_ms": percentiles_ms([r.submit_end - r.submit_start for r in records]),
        "queued_to_completed_ms": q2c_ms,
        "worker_rss_mib": rss,
        # Extras, beyond the fields the harness compares:
        "worker_pss_mib": pss,
        "worker_processes": nprocs,
        "submit_seconds": round(max(r.submit_end for r in records) - first_submit, 4),
        "worker_cpu_seconds": round(worker_cpu, 2),
        "client_cpu_seconds": round(client_cpu, 2),
        "seconds_to_last_date_done": wall_to_last_done,
        "queued_to_completed_negative": negative,
        "result_poll_interval_s": poll_interval,
        "result_engine": args.result_engine,
    }


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--executions", type=int, required=True, help="tasks to run (N)")
    p.add_argument("--clients", type=int, required=True, help="producer threads (C)")
    p.add_argument("--workers", type=int, required=True, help="prefork processes (W)")
    p.add_argument("--broker", required=True, help="amqp://user:pass@host:port/vhost")
    p.add_argument("--backend", required=True, help="db+postgresql://user@host:port/db")
    p.add_argument("--queue", required=True, help="queue name unique to this run")
    p.add_argument("--json", help="also write the result object to this file")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="bound on the measured run, seconds (default 600)")
    p.add_argument("--ready-timeout", type=float, default=60.0,
                   help="bound on the worker's start, seconds (default 60)")
    p.add_argument("--warmup", type=int, default=None,
                   help="warm-up tasks, at least one per client (default max(8, 4*workers))")
    p.add_argument("--completion", choices=("count", "poll"), default="count",
                   help="how the end is detected: count the measured SUCCESS rows every "
                        "--count-interval on one connection, as Actuate's harness does "
                        "(default), or AsyncResult.get per task")
    p.add_argument("--count-interval", type=float, default=0.2,
                   help="count mode: seconds between counts (default 0.2, as Actuate's "
                        "harness)")
    # Celery's own default for AsyncResult.get is 0.5 s, which would add up to half a
    # second of pure polling delay to the measured wall time.
    p.add_argument("--poll-interval", type=float, default=0.05,
                   help="poll mode: AsyncResult.get polling interval, seconds "
                        "(default 0.05)")
    p.add_argument("--result-engine", choices=("pooled", "celery-default"),
                   default="pooled",
                   help="how the client looks up results: one pooled engine (default), "
                        "or Celery's client default, a new connection per lookup")
    args = p.parse_args(argv)
    for name in ("executions", "clients", "workers"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.clients > args.executions:
        p.error("--clients must not exceed --executions")
    if args.warmup is None:
        args.warmup = max(8, 4 * args.workers)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # A harness that stops us with SIGTERM still gets the worker stopped and the queue
    # deleted: SystemExit unwinds through the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    client_app = build_app(args.broker, args.backend, args.queue)
    worker = Worker(args, client_app)
    status = 0
    try:
        # Connects to the database and creates the result tables: fail early if the
        # backend is unusable.
        thread_backend(client_app, args.result_engine)
        worker.start()
        worker.wait_ready(args.ready_timeout)
        log(f"worker {worker.nodename} ready")
        result = run_benchmark(args, client_app, worker)
        text = json.dumps(result)
        if args.json:
            with open(args.json, "w") as f:
                f.write(text + "\n")
        print(text, flush=True)
    except BenchError as e:
        log(f"FAILED: {e}")
        status = 1
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    except Exception as e:
        log(f"FAILED: {type(e).__name__}: {e}")
        status = 1
    finally:
        worker.stop()
        try:
            delete_queue(client_app, args.queue)
        except Exception as e:
            log(f"could not clean up queue {args.queue}: {e}")
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
