"""The npsh Jupyter kernel against a real Jupyter client (jupyter_client) and the standard
kernel conformance tests (jupyter_kernel_test). Run by scripts/test-jupyter, which makes a
venv from the registry, installs the kernel with --sys-prefix and runs pytest here."""

import os
import signal
import time
import unittest

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel


class NpshKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "npsh"
    language_name = "npsh"
    file_extension = ".npx"

    # The last statement's output is the execute_result; earlier ones are stdout.
    code_hello_world = '"hello, world"\n0'
    # Notes go to stderr: a note-producing statement.
    code_stderr = "bench trainer synthetic ledger=\"/tmp/npsh-kernel-test-ledger.sqlite\"\nsample 2"
    completion_samples = [
        {"text": "sam", "matches": {"sample"}},
        {"text": "search pre", "matches": {"predictor"}},
    ]
    complete_code_samples = ["sample 3", "for x in [1, 2] { x }"]
    incomplete_code_samples = ["for x in [1, 2] {", "let l = [1,"]
    invalid_code_samples = ["}"]
    code_display_data = [{"code": "plot valtest (sample 20)", "mime": "image/svg+xml"}]
    code_inspect_sample = "sample"
    code_execute_result = [{"code": "1 + 2", "result": "3"}, {"code": "let a = 4\na + 4", "result": "8"}]
    code_history_pattern = "1?*"
    supported_history_operations = ("tail", "search")
    code_generate_error = "sample -1"

    def test_npsh_error_reply_carries_the_caret(self):
        self.flush_channels()
        reply, output = self.execute_helper(code="sample 0")
        self.assertEqual(reply["content"]["status"], "error")
        errors = [m for m in output if m["msg_type"] == "error"]
        self.assertEqual(len(errors), 1)
        self.assertIn("must be at least 1", errors[0]["content"]["evalue"])
        self.assertTrue(any(line.strip().startswith("^") for line in errors[0]["content"]["traceback"]))


class LifecycleTests(unittest.TestCase):
    """Interrupt, restart and a dead npsh, through a real client."""

    def setUp(self):
        self.km, self.kc = start_new_kernel(kernel_name="npsh")

    def tearDown(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def run_cell(self, code, timeout=120):
        msg_id = self.kc.execute(code)
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        outputs = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            outputs.append(msg)
        return reply, outputs

    def text(self, outputs):
        out = []
        for m in outputs:
            c = m["content"]
            if m["msg_type"] == "stream":
                out.append(c["text"])
            elif m["msg_type"] == "execute_result":
                out.append(c["data"]["text/plain"] + "\n")
        return "".join(out)

    def test_interrupt_stops_the_statement_and_keeps_the_session(self):
        reply, _ = self.run_cell("let kept = 41")
        self.assertEqual(reply["content"]["status"], "ok")
        msg_id = self.kc.execute("search predictor runs=50 n=100 k=50 epochs=300")
        time.sleep(3)
        started = time.monotonic()
        self.km.interrupt_kernel()
        reply = self.kc.get_shell_msg(timeout=60)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("interrupted", reply["content"]["evalue"])
        self.assertLess(time.monotonic() - started, 30)
        reply, outputs = self.run_cell("kept + 1")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(self.text(outputs), "42\n")

    def test_restart_gives_a_clean_session(self):
        self.run_cell("let gone = 1")
        self.km.restart_kernel(now=True)
        self.kc.wait_for_ready(timeout=60)
        reply, _ = self.run_cell("gone")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("unknown name 'gone'", reply["content"]["evalue"])

    def test_a_dead_npsh_is_reported_and_replaced(self):
        self.run_cell("let x = 1")
        # Kill the npsh process behind the wrapper (the wrapper's only child).
        pid = self.km.provisioner.process.pid
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
        self.assertEqual(len(children), 1)
        os.kill(int(children[0]), signal.SIGKILL)
        reply, outputs = self.run_cell("x")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("npsh stopped", self.text(outputs))
        reply, outputs = self.run_cell("1 + 1")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(self.text(outputs), "2\n")


if __name__ == "__main__":
    unittest.main()
