"""Email over SMTP (the standard library's client, in a worker thread so the loop never waits)."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from approvals.notifications import Email


@dataclass(frozen=True, slots=True)
class SmtpMailer:
    """Sends through ``host:port``; STARTTLS and a login when configured."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: int = 10

    async def send(self, email: Email) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        if email.reference:
            # The same notification keeps its Message-ID however often it is sent.
            message["Message-ID"] = f"<{email.reference}@{self.sender.rpartition('@')[2] or 'tide'}>"
        message.set_content(email.body)
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(message)
