# A real SMTP server on loopback for tests (aiosmtpd): every message it accepts is written to
# <dir>/<n>.json as {"mail_from", "rcpt_tos", "data"}. Prints "ready" once listening and runs
# until its stdin closes.
import json
import os
import sys

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
        }
        path = os.path.join(self.directory, "%06d.json" % self.count)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Ok: queued as test-%d" % self.count


directory, port = sys.argv[1], int(sys.argv[2])
controller = Controller(Recorder(directory), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
