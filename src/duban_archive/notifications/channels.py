"""Delivery channels: e-mail over SMTP and SMS through a gateway adapter.

The in-app inbox needs no channel: it is written in the same transaction as
the message.  Channels are called only after the claiming transaction
committed; each send carries the message id (SMTP ``Message-ID``, the
gateway's idempotency key, the log line) so a receiver can drop the rare
duplicate left by a crash between sending and recording success.

Settings:
``duban.smtp_host`` / ``duban.smtp_port`` / ``duban.smtp_sender`` (e-mail is
off without a host); ``duban.sms_gateway`` = ``log`` (default: one line per
SMS in ``var/log/sms.log``) or an ``http(s)://`` URL that receives
``{"id", "to", "text"}`` as JSON (``duban.sms_token`` sent as Bearer).
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any


class DeliveryError(Exception):
    """A channel could not deliver; the message is retried later."""


class EmailChannel:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send_many(self, messages: list[dict[str, Any]]) -> dict[str, str | None]:
        """Send over one SMTP connection; returns msg id -> error (None when sent)."""
        results: dict[str, str | None] = {}
        if not messages:
            return results
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except OSError as exc:
            return {m["id"]: f"无法连接邮件服务器 {self.host}:{self.port}：{exc}" for m in messages}
        try:
            for m in messages:
                mail = EmailMessage()
                mail["From"] = self.sender
                mail["To"] = m["address"]
                mail["Subject"] = m["subject"]
                mail["Date"] = formatdate(localtime=True)
                mail["Message-ID"] = f"<{m['id']}@duban-archive>"
                mail.set_content(m["body"])
                try:
                    smtp.send_message(mail)
                    results[m["id"]] = None
                except smtplib.SMTPException as exc:
                    results[m["id"]] = f"邮件发送失败：{exc}"
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
        return results


class LogSmsGateway:
    """Default SMS adapter: appends one JSON line per SMS (development, tests, benchmarks)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send_many(self, messages: list[dict[str, Any]]) -> dict[str, str | None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps({"id": m["id"], "to": m["address"], "text": m["body"]},
                                   ensure_ascii=False) + "\n" for m in messages)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
        return {m["id"]: None for m in messages}


class HttpSmsGateway:
    """POSTs ``{"id", "to", "text"}``; any 2xx is success (the id is the idempotency key)."""

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send_many(self, messages: list[dict[str, Any]]) -> dict[str, str | None]:
        results: dict[str, str | None] = {}
        for m in messages:
            body = json.dumps({"id": m["id"], "to": m["address"], "text": m["body"]}).encode()
            req = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Idempotency-Key": m["id"]})
            if self.token:
                req.add_header("Authorization", f"Bearer {self.token}")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as res:  # noqa: S310 - configured URL
                    results[m["id"]] = None if 200 <= res.status < 300 else f"短信网关返回 {res.status}"
            except OSError as exc:
                results[m["id"]] = f"短信网关不可用：{exc}"
        return results


class Channels:
    def __init__(self, settings: dict[str, Any]) -> None:
        host = settings.get("duban.smtp_host")
        self.email = None
        if host:
            self.email = EmailChannel(host, int(settings.get("duban.smtp_port") or 25),
                                      settings.get("duban.smtp_sender") or "duban@localhost")
        gateway = (settings.get("duban.sms_gateway") or "log").strip()
        self.sms: HttpSmsGateway | LogSmsGateway
        if gateway.startswith(("http://", "https://")):
            self.sms = HttpSmsGateway(gateway, settings.get("duban.sms_token", ""))
        else:
            var = Path(settings.get("duban.var_dir") or "var")
            self.sms = LogSmsGateway(Path(gateway) if gateway not in ("", "log") else var / "log" / "sms.log")

    def send(self, channel: str, messages: list[dict[str, Any]]) -> dict[str, str | None]:
        if channel == "email":
            if self.email is None:
                return {m["id"]: "未配置邮件服务器（duban.smtp_host）" for m in messages}
            return self.email.send_many(messages)
        if channel == "sms":
            return self.sms.send_many(messages)
        raise DeliveryError(f"未知渠道 {channel}")
