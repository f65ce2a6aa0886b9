#!/usr/bin/env python3
"""Cold start of each Lambda binary, measured locally: process start → first event handled,
with the binary's size and the size of the zip Lambda is given (`bootstrap`, deflated).

A minimal Lambda Runtime API on loopback hands each binary one event from events/ and times
the moment its response (or error) arrives. Usage (after building each function on its own: `cargo build --release -p export-…`):

    scripts/coldstart.py target/release events/local.env [runs] [function ...]

The environment comes from the env file (point AWS_ENDPOINT_URL at a running emulator).
"""
import io, json, os, statistics, subprocess, sys, threading, time, zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FUNCTIONS = {
    "export-api": "api-healthz.json",
    "export-gather": "gather-sqs.json",
    "export-render": "render-sqs.json",
    "export-seal": "seal-s3.json",
    "export-deliver": "deliver-sqs.json",
    "export-notify": "ws-message.json",
    "export-schedule": "schedule.json",
    "export-sweep": "sweep.json",
}

class Runtime(BaseHTTPRequestHandler):
    event = b"{}"
    done = None
    served = False

    def log_message(self, *a):
        pass

    def do_GET(self):
        if Runtime.served:  # only one event per process
            time.sleep(30)
            return
        Runtime.served = True
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:x")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(Runtime.event)

    def do_POST(self):
        Runtime.done = time.perf_counter()
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(202)
        self.end_headers()

def main():
    bindir, env_file = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    env = dict(os.environ)
    for line in open(env_file):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env.setdefault(k, v) if k == "AWS_ENDPOINT_URL" else env.__setitem__(k, v)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
    env.update(AWS_LAMBDA_FUNCTION_NAME="coldstart", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_STREAM_NAME="s", AWS_LAMBDA_LOG_GROUP_NAME="g")
    print(f"{'function':<16} {'size MiB':>9} {'zip MiB':>8} {'typst':>6} {'init→handled ms (median of %d)' % runs:>32}")
    only = sys.argv[4:]
    for name, event in FUNCTIONS.items():
        if only and name not in only:
            continue
        path = os.path.join(bindir, name)
        if not os.path.exists(path):
            print(f"{name:<16} {'not built':>9}")
            continue
        Runtime.event = open(os.path.join(os.path.dirname(env_file), event), "rb").read()
        samples = []
        for _ in range(runs):
            Runtime.served, Runtime.done = False, None
            t0 = time.perf_counter()
            p = subprocess.Popen([path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while Runtime.done is None and time.perf_counter() - t0 < 30:
                time.sleep(0.001)
            p.kill(); p.wait()
            if Runtime.done is None:
                sys.exit(f"{name}: no response within 30 s")
            samples.append((Runtime.done - t0) * 1000)
        size = os.path.getsize(path) / 2**20
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(path, "bootstrap")
        zipped = len(packed.getvalue()) / 2**20
        # Stripped binaries keep no symbols; typst's name survives in its panic messages.
        typst = "yes" if b"typst" in open(path, "rb").read() else "no"
        print(f"{name:<16} {size:>9.1f} {zipped:>8.1f} {typst:>6} {statistics.median(samples):>32.1f}")

if __name__ == "__main__":
    main()
