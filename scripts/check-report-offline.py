#!/usr/bin/env python3
"""Opens an HTML file from disk in headless Chromium with the network cut off and fails on anything that did not
render: a console error, an uncaught exception, a failed or blocked request, any request that is not file:, data:
or about:, or an image that did not load (naturalWidth == 0).

Speaks the DevTools protocol over --remote-debugging-pipe (fd 3: commands to the browser, fd 4: its replies and
events, each message NUL-terminated JSON), so it needs nothing beyond the Python standard library.

Usage: check-report-offline.py [--chromium PATH] [--timeout SECONDS] FILE.html
Prints one JSON object (what was checked and every problem found). Exit 0: clean; 1: problems; 2: could not run.
"""
import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

LOCAL_SCHEMES = ("file:", "data:", "about:")
LAST_STDERR = ""

IMAGE_CHECK = """(() => {
  const images = Array.from(document.images);
  return JSON.stringify({
    images: images.length,
    broken: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 120)),
    svgs: document.querySelectorAll('svg').length,
    tables: document.querySelectorAll('table').length,
    title: document.title,
  });
})()"""


class Browser:
    def __init__(self, chromium, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def wire_pipes():  # in the child: fd 3 reads our commands, fd 4 carries the replies
            # Copy both ends out of the way first (either may already be fd 3 or 4, and dup2 onto itself would
            # keep its close-on-exec flag), then place them; dup2 gives inheritable descriptors.
            commands, replies = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--user-data-dir=" + profile, "--remote-debugging-pipe",
             # No network at all: every host resolves to nothing and any proxy use fails.
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
             "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            close_fds=False, preexec_fn=wire_pipes)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.next_id

    def read(self, deadline):
        """The next message, or None at the deadline."""
        while b"\0" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.from_browser], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None, deadline=None):
        wanted = self.send(method, params, session)
        while True:
            message = self.read(deadline)
            if message is None:
                raise TimeoutError(method + " got no reply in time")
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(method + ": " + json.dumps(message["error"]))
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method, deadline):
        for k, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(k)
        while True:
            message = self.read(deadline)
            if message is None:
                return None
            if message.get("method") == method:
                return message
            self.events.append(message)

    def drain(self, until):
        while True:
            message = self.read(until)
            if message is None:
                return
            self.events.append(message)

    def close(self):
        global LAST_STDERR
        try:
            self.send("Browser.close")
        except OSError:
            pass
        try:
            _, err = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        LAST_STDERR = err.decode(errors="replace")
        os.close(self.to_browser)
        os.close(self.from_browser)


def check(path, chromium, timeout):
    url = "file://" + os.path.abspath(path)
    profile = tempfile.mkdtemp(prefix="report-check-")
    browser = Browser(chromium, profile)
    problems = []
    try:
        deadline = time.monotonic() + timeout
        target = browser.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                               deadline=deadline)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(domain + ".enable", session=session, deadline=deadline)
        navigation = browser.call("Page.navigate", {"url": url}, session=session, deadline=deadline)
        if navigation.get("errorText"):
            problems.append("navigation failed: " + navigation["errorText"])
        if browser.wait_for("Page.loadEventFired", deadline) is None:
            problems.append("the page did not finish loading within %s s" % timeout)
        # Late events (a lazily failing request) arrive within a moment of the load event.
        browser.drain(min(deadline, time.monotonic() + 1.0))
        result = browser.call("Runtime.evaluate", {"expression": IMAGE_CHECK, "returnByValue": True},
                              session=session, deadline=deadline)
        page = json.loads(result["result"]["value"])
        for src in page["broken"]:
            problems.append("image did not load: " + src)
        requests = 0
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                problems.append("uncaught exception: " + details.get("text", "") + " " +
                                json.dumps(details.get("exception", {}).get("description", "")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                problems.append("console %s: %s" % (params.get("type"), json.dumps(
                    [a.get("value", a.get("description")) for a in params.get("args", [])])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                problems.append("log error (%s): %s %s" % (entry.get("source"), entry.get("text"),
                                                           entry.get("url", "")))
            elif method == "Network.requestWillBeSent":
                requests += 1
                request_url = params.get("request", {}).get("url", "")
                if not request_url.startswith(LOCAL_SCHEMES):
                    problems.append("network request: " + request_url[:200])
            elif method == "Network.loadingFailed":
                problems.append("request failed: %s%s" % (params.get("errorText"),
                                                         " (blocked: %s)" % params["blockedReason"]
                                                         if params.get("blockedReason") else ""))
        page["requests"] = requests
        page["problems"] = problems
        return page
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    if not os.path.isfile(args.file):
        print(json.dumps({"error": "no such file: " + args.file}))
        return 2
    if not os.access(args.chromium, os.X_OK):
        print(json.dumps({"error": "chromium not found at %s: install Debian's chromium package" % args.chromium}))
        return 2
    try:
        page = check(args.file, args.chromium, args.timeout)
    except (RuntimeError, TimeoutError, OSError) as error:
        print(json.dumps({"error": str(error), "chromium_stderr": LAST_STDERR[-2000:]}))
        return 2
    print(json.dumps(page, indent=1))
    return 1 if page["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
