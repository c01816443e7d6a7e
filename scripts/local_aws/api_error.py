"""An AWS Backup error answer: its code (the `__type` and `x-amzn-ErrorType` the SDKs read), its
message and its HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
