"""A mosquitto of the test's own on 127.0.0.1 (TLS listener on a free port, a CA and server
certificate made with openssl), for the e2e tests that point lwipsim at an external broker.

The broker is this process's child: stopped by its PID in stop() (called from a finally and
from SIGTERM/SIGINT handlers), and given PR_SET_PDEATHSIG so it dies with us even if we are
killed outright (ctest's timeout). Standard library only.
"""

import ctypes
import os
import pwd
import signal
import socket
import subprocess
import time

PR_SET_PDEATHSIG = 1


def die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def make_pki(folder, server_name):
    """EC P-256 CA and a server certificate for `server_name` (and IP 127.0.0.1)."""
    os.makedirs(folder, exist_ok=True)
    p = lambda name: os.path.join(folder, name)  # noqa: E731
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", p("ca.key"))
    _openssl("req", "-x509", "-new", "-key", p("ca.key"), "-sha256", "-days", "2",
             "-subj", "/CN=lwipsim e2e CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", p("ca.crt"))
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", p("server.key"))
    _openssl("req", "-new", "-key", p("server.key"), "-subj", f"/CN={server_name}",
             "-out", p("server.csr"))
    with open(p("server.ext"), "w", encoding="ascii") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{server_name},IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-CAserial", p("ca.srl"), "-days", "2", "-sha256",
             "-extfile", p("server.ext"), "-out", p("server.crt"))
    return p("ca.crt"), p("server.crt"), p("server.key")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, folder, server_name="localhost", users=None):
        """users: {name: password} -> a password file (mosquitto_passwd) and no anonymous
        clients; None -> anonymous clients allowed."""
        self.folder = os.path.abspath(folder)
        self.server_name = server_name
        self.ca, self.cert, self.key = make_pki(os.path.join(self.folder, "pki"), server_name)
        self.log = os.path.join(self.folder, "mosquitto.log")
        self.proc = None
        self.port = None
        self.auth = "allow_anonymous true\n"
        if users:
            passwd = os.path.join(self.folder, "passwd")
            if os.path.exists(passwd):
                os.remove(passwd)
            for name, password in users.items():
                create = ["-c"] if not os.path.exists(passwd) else []
                subprocess.run(["mosquitto_passwd", *create, "-b", passwd, name, password],
                               check=True, stdout=subprocess.DEVNULL, timeout=30)
            self.auth = f"allow_anonymous false\npassword_file {passwd}\n"

    def start(self, attempts=5):
        user = pwd.getpwuid(os.geteuid()).pw_name
        for _ in range(attempts):  # another process may take the free port first
            self.port = free_port()
            conf = os.path.join(self.folder, "mosquitto.conf")
            with open(conf, "w", encoding="ascii") as f:
                f.write(f"user {user}\npersistence false\n{self.auth}"
                        f"log_dest file {self.log}\nlog_type all\nconnection_messages true\n"
                        f"listener {self.port} 127.0.0.1\ncafile {self.ca}\n"
                        f"certfile {self.cert}\nkeyfile {self.key}\n")
            self.proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"mosquitto did not start; see {self.log}")

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is None or proc.pid <= 0:
            return
        if proc.poll() is None:
            proc.terminate()  # SIGTERM to this PID only
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def log_text(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, needle, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.05)
        return False

    def client_args(self):
        """Connection options for mosquitto_sub / mosquitto_pub."""
        return ["-h", "127.0.0.1", "-p", str(self.port), "--cafile", self.ca]


def stop_on_signals(broker):
    """SIGTERM/SIGINT stop the broker by PID, then exit with the usual 128+signal code."""
    def handler(signum, _frame):
        broker.stop()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
