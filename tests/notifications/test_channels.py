"""The SMS gateway adapter over real HTTP (a local server) and the default log gateway."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from duban_archive.notifications.channels import Channels


def test_http_sms_gateway_posts_json_with_idempotency_key(tmp_path):
    received = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((body, self.headers["Idempotency-Key"], self.headers.get("Authorization")))
            self.send_response(503 if body["to"] == "broken" else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        channels = Channels({"duban.sms_gateway": f"http://127.0.0.1:{server.server_port}/send",
                             "duban.sms_token": "s3cret", "duban.var_dir": str(tmp_path)})
        result = channels.send("sms", [
            {"id": "m1", "address": "13800000001", "subject": "提醒", "body": "请按时反馈"},
            {"id": "m2", "address": "broken", "subject": "提醒", "body": "x"}])
    finally:
        server.shutdown()
    assert result["m1"] is None and "短信网关" in result["m2"]
    assert received[0] == ({"id": "m1", "to": "13800000001", "text": "请按时反馈"}, "m1", "Bearer s3cret")


def test_default_sms_gateway_writes_the_log(tmp_path):
    channels = Channels({"duban.var_dir": str(tmp_path)})
    assert channels.send("sms", [{"id": "m1", "address": "138", "subject": "s", "body": "正文"}]) == {"m1": None}
    line = json.loads((tmp_path / "log" / "sms.log").read_text(encoding="utf-8"))
    assert line == {"id": "m1", "to": "138", "text": "正文"}
    assert channels.send("email", [{"id": "m2", "address": "a@b", "subject": "s", "body": "b"}])["m2"].startswith(
        "未配置邮件服务器")
