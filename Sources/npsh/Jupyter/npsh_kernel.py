"""The npsh Jupyter kernel: ipykernel speaks the Jupyter protocol, `npsh kernel --stdio` runs
the code. One JSON object per line each way (see Sources/Interpreter/REPL/Kernel.swift):
this wrapper only translates. `npsh jupyter install` writes it beside kernel.json.

Outputs: each statement's output is a stdout stream, except the cell's last, which is the
execute_result (text/plain); every plot is display_data (image/svg+xml with a text/plain
fallback); notes and progress are the stderr stream; an error is an error reply whose
traceback is npsh's caret rendering. Interrupt (SIGINT to this process) is passed on to
npsh, which stops the running statement and keeps the session. If npsh dies, the cell says
so and a fresh npsh starts.
"""

import json
import os
import signal
import subprocess
import sys
import threading

from ipykernel.kernelapp import IPKernelApp
from ipykernel.kernelbase import Kernel

NPSH = os.environ.get("NPSH_BIN", "npsh")


class NpshKernel(Kernel):
    implementation = "npsh"
    implementation_version = "1.0"
    language = "npsh"
    language_version = "1"
    language_info = {
        "name": "npsh",
        "mimetype": "text/x-npsh",
        "file_extension": ".npx",
        "pygments_lexer": "text",
        "codemirror_mode": "shell",
    }
    banner = "npsh: a scripting shell for neural architecture search with a Neural Predictor"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._next_id = 0
        # (code, output text) of every stored cell, for history requests.
        self._history = []
        self._start()

    # The npsh process -------------------------------------------------------------------

    def _start(self):
        self._proc = subprocess.Popen(
            [NPSH, "kernel", "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            # npsh gets Ctrl-C only from us (forwarded), never from the terminal's group.
            start_new_session=True,
        )
        self._stdout = self._proc.stdout
        self._last_stderr = []
        threading.Thread(target=self._drain_stderr, args=(self._proc,), daemon=True).start()

    def _drain_stderr(self, proc):
        # npsh's own standard error (a crash's message): kept to explain a death.
        for raw in proc.stderr:
            self._last_stderr = (self._last_stderr + [raw.decode("utf-8", "replace")])[-20:]

    def _request(self, request, on_event):
        """Sends one request; calls on_event for each event until its "done", which it
        returns. Ctrl-C is forwarded to npsh, which answers with an error and a done. None
        when npsh died."""
        self._next_id += 1
        request = dict(request, id=self._next_id)
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        while True:
            try:
                line = self._stdout.readline()
            except KeyboardInterrupt:
                self._proc.send_signal(signal.SIGINT)
                continue
            if not line:
                return None
            event = json.loads(line)
            if event.get("event") == "done":
                return event
            on_event(event)

    def _died(self):
        code = self._proc.wait()
        why = "".join(self._last_stderr).strip()
        message = f"npsh stopped (exit status {code}); a fresh npsh session was started, so earlier bindings are gone"
        if why:
            message += f"\n{why}"
        self._start()
        return message

    # Jupyter requests -------------------------------------------------------------------

    def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False, *, cell_meta=None, cell_id=None):
        pending = []  # the latest statement output: the execute_result if nothing follows
        errors = []
        shown = []  # what the cell printed, for history with output

        def flush_pending():
            if pending and not silent:
                self.send_response(self.iopub_socket, "stream", {"name": "stdout", "text": pending.pop() + "\n"})

        def on_event(event):
            kind = event.get("event")
            if kind == "result":
                flush_pending()
                pending.append(event["text"])
                shown.append(event["text"])
            elif kind == "stream" and not silent:
                self.send_response(self.iopub_socket, "stream", {"name": event["name"], "text": event["text"]})
            elif kind == "display" and not silent:
                flush_pending()
                self.send_response(self.iopub_socket, "display_data", {
                    "data": {"image/svg+xml": event["svg"], "text/plain": event["text"]}, "metadata": {}})
            elif kind == "error":
                errors.append(event)

        done = self._request({"type": "execute", "code": code, "silent": silent}, on_event)
        if store_history and not silent:
            self._history.append((code, "\n".join(shown)))
        if done is None:
            message = self._died()
            if not silent:
                self.send_response(self.iopub_socket, "stream", {"name": "stderr", "text": message + "\n"})
            return {"status": "error", "execution_count": self.execution_count, "ename": "NpshDied", "evalue": message, "traceback": [message]}
        if pending and not silent:
            self.send_response(self.iopub_socket, "execute_result", {
                "execution_count": self.execution_count, "data": {"text/plain": pending.pop()}, "metadata": {}})
        if errors:
            e = errors[-1]
            content = {"ename": e["ename"], "evalue": e["evalue"], "traceback": e["traceback"]}
            if not silent:
                self.send_response(self.iopub_socket, "error", content)
            return dict(content, status="error", execution_count=self.execution_count)
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}

    def do_complete(self, code, cursor_pos):
        done = self._request({"type": "complete", "code": code, "cursor": cursor_pos}, lambda e: None) or {}
        return {"status": "ok", "matches": done.get("matches", []), "cursor_start": done.get("cursor_start", cursor_pos),
                "cursor_end": done.get("cursor_end", cursor_pos), "metadata": {}}

    def do_inspect(self, code, cursor_pos, detail_level=0, omit_sections=()):
        done = self._request({"type": "inspect", "code": code, "cursor": cursor_pos}, lambda e: None) or {}
        found = bool(done.get("found"))
        return {"status": "ok", "found": found, "data": {"text/plain": done["text"]} if found else {}, "metadata": {}}

    def do_is_complete(self, code):
        done = self._request({"type": "is_complete", "code": code}, lambda e: None) or {}
        reply = {"status": done.get("status", "unknown")}
        if reply["status"] == "incomplete":
            reply["indent"] = done.get("indent", "")
        return reply

    def do_history(self, hist_access_type, output, raw, session=None, start=None, stop=None, n=None, pattern=None, unique=False):
        history = [(0, i + 1, (c, o) if output else c) for i, (c, o) in enumerate(self._history)]
        if hist_access_type == "tail" and n:
            history = history[-n:]
        elif hist_access_type == "search" and pattern:
            import fnmatch
            history = [h for h in history if fnmatch.fnmatch(h[2][0] if output else h[2], pattern)]
            if unique:
                seen, kept = set(), []
                for h in history:
                    key = h[2][0] if output else h[2]
                    if key not in seen:
                        seen.add(key)
                        kept.append(h)
                history = kept
            if n:
                history = history[-n:]
        return {"status": "ok", "history": history}

    def do_shutdown(self, restart):
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=5)
        except Exception:
            self._proc.kill()
        return {"status": "ok", "restart": restart}


if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=NpshKernel)
