"""Example taskq HTTP worker in plain Python 3.9+ (standard library only).

Pulls tasks over the api's /work protocol (claim -> heartbeat -> complete/fail) and
runs them with the functions in HANDLERS. Run it with:

    TASKQ_URL=http://localhost:8080 python3 examples/python-worker/worker.py

Env: TASKQ_URL, TASKQ_API_KEY, WORKER_ID, QUEUES, CONCURRENCY, HEARTBEAT_MS (see README.md).
SIGTERM/SIGINT: stop claiming, finish running tasks, exit 0.
"""
import json
import os
import signal
import socket
import threading
import time
import traceback
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import Any, Callable, Optional

URL = os.environ.get("TASKQ_URL", "http://localhost:8080").rstrip("/")
API_KEY = os.environ.get("TASKQ_API_KEY")
WORKER_ID = os.environ.get("WORKER_ID") or f"py-{socket.gethostname()}-{os.getpid()}"
QUEUES = [q.strip() for q in os.environ.get("QUEUES", "py").split(",") if q.strip()]
CONCURRENCY = int(os.environ.get("CONCURRENCY", "4"))
HEARTBEAT_MS = int(os.environ.get("HEARTBEAT_MS", "10000"))
stopping = threading.Event()
busy, busy_lock = [0], threading.Lock()  # tasks claimed and not yet reported


class PermanentError(Exception):
    """Raise from a handler to fail the task without retries."""


class LeaseLost(Exception):
    """409 from the api: the lease is gone (task recovered elsewhere, or cancelled)."""


def log(level: str, msg: str, task: Optional[dict] = None, **extra: Any) -> None:
    rec: dict = {"ts": datetime.now(timezone.utc).isoformat(), "level": level, "msg": msg}
    if task:
        rec.update(task_id=task["task_id"], task_type=task["task_type"], attempt=task["attempt"])
    print(json.dumps({**rec, **extra}), flush=True)


def post(path: str, body: dict, timeout: float = 10) -> dict:
    """POST JSON and return the JSON answer; 409 -> LeaseLost, other errors raise as usual."""
    headers = {"Content-Type": "application/json", **({"X-API-Key": API_KEY} if API_KEY else {})}
    req = urllib.request.Request(URL + path, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as e:
        if e.code != 409:
            raise
        try:
            cancelled = bool(json.loads(e.read() or b"{}").get("cancelled"))
        except (ValueError, AttributeError):
            cancelled = False
        raise LeaseLost("task cancelled" if cancelled else "lease lost") from None


# Handlers: (payload, cancel) -> JSON result. `cancel` is set when a heartbeat gets a 409.
def upper(payload: dict, cancel: threading.Event) -> Any:
    return {"upper": str(payload["text"]).upper()}


def always_fail(payload: dict, cancel: threading.Event) -> Any:
    raise RuntimeError("py.fail always fails")


def sleep_task(payload: dict, cancel: threading.Event) -> Any:
    ms = int(payload.get("ms", 0))
    deadline = time.monotonic() + ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        if cancel.wait(min(left, 0.05)):
            return None  # cancelled: the result is never reported
    return {"slept_ms": ms}


HANDLERS: dict[str, Callable[[dict, threading.Event], Any]] = {
    "py.upper": upper, "py.fail": always_fail, "py.sleep": sleep_task,
}


def heartbeat(task: dict, done: threading.Event, cancel: threading.Event) -> None:
    """Extend the lease every third of the time left (at most every HEARTBEAT_MS) until done."""
    expires = task.get("lease_expires_at")
    while True:
        try:
            left = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp() - time.time()
            interval = min(max(left / 3, 0.2), HEARTBEAT_MS / 1000)
        except (AttributeError, ValueError):
            interval = HEARTBEAT_MS / 1000
        if done.wait(interval):
            return
        try:
            res = post(f"/work/{task['task_id']}/heartbeat", {"lease_token": task["lease_token"]})
            expires = res.get("lease_expires_at")
        except LeaseLost as e:
            log("warn", str(e), task)
            cancel.set()
            return
        except Exception as e:  # network error / 503: keep trying while the lease lasts
            log("warn", "heartbeat error", task, error=str(e))
            expires = None


def report(task: dict, action: str, body: dict) -> Optional[dict]:
    """POST complete/fail, retrying network errors and 5xx; None when it did not go through."""
    for delay in (0.5, 1, 2, 4, None):
        try:
            return post(f"/work/{task['task_id']}/{action}", {**body, "lease_token": task["lease_token"]})
        except LeaseLost as e:  # recovered elsewhere or cancelled: log and move on
            log("warn", str(e), task)
            return None
        except Exception as e:
            if (isinstance(e, urllib.error.HTTPError) and e.code < 500) or delay is None:
                log("error", f"{action} failed; the queue will recover the task", task, error=str(e))
                return None
            log("warn", f"{action} error, retrying", task, error=str(e))
            time.sleep(delay)
    return None


def run_task(task: dict) -> None:
    log("info", "task started", task)
    done, cancel = threading.Event(), threading.Event()
    threading.Thread(target=heartbeat, args=(task, done, cancel), daemon=True).start()
    result, error, stack = None, None, ""
    try:
        handler = HANDLERS.get(task["task_type"])
        if handler is None:
            raise PermanentError(f"no handler for task type {task['task_type']}")
        result = handler(task.get("payload") or {}, cancel)
    except Exception as e:
        error, stack = e, traceback.format_exc()
    try:  # heartbeats go on until the outcome is reported
        if cancel.is_set():
            return  # the task is not ours any more: report nothing
        if error is None:
            if report(task, "complete", {"result": result}) is not None:
                log("info", "task succeeded", task)
        else:
            retryable = not isinstance(error, PermanentError)
            body = {"error": {"message": str(error), "stack": stack}, "retryable": retryable}
            if (res := report(task, "fail", body)) is not None:
                log("warn", "task failed", task, error=str(error), retryable=retryable, status=res.get("status"))
    finally:
        done.set()


def slot() -> None:
    """One concurrency slot: long-poll for one task at a time until asked to stop."""
    body = {"worker_id": WORKER_ID, "queues": QUEUES, "task_types": list(HANDLERS), "max": 1, "wait_ms": 10000}
    backoff = 0.5
    while not stopping.is_set():
        try:
            tasks = post("/work/claim", body, timeout=20)["tasks"]
            backoff = 0.5
        except Exception as e:  # network error, 5xx (503 = Redis down), unexpected answer
            log("warn", "claim failed, backing off", error=str(e), backoff_s=backoff)
            stopping.wait(backoff)
            backoff = min(backoff * 2, 5)
            continue
        with busy_lock:
            busy[0] += len(tasks)
        for task in tasks:
            try:
                run_task(task)  # claimed tasks are ours: run them even if stopping meanwhile
            finally:
                with busy_lock:
                    busy[0] -= 1


def main() -> None:
    def on_signal(signum: int, _frame: Any) -> None:
        log("info", "stopping", signal=signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log("info", "worker started", worker_id=WORKER_ID, queues=QUEUES, url=URL, concurrency=CONCURRENCY)
    threads = [threading.Thread(target=slot, daemon=True) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    # Once stopping, wait for the tasks being run, not for idle long-polls: exiting closes their connections,
    # and a task claimed for this worker just then comes back to its queue when its lease expires.
    while not (stopping.is_set() and busy[0] == 0):
        stopping.wait(0.2)  # short waits keep the main thread free to handle signals
    log("info", "worker stopped", worker_id=WORKER_ID)


if __name__ == "__main__":
    main()
