import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class ImportStorage(FileSystemStorage):
    """Where uploaded CSV files wait for their import: var/imports, shared by the web process and the worker.
    The folder is read from settings on each use (not once at start-up), so tests and deployments can move it."""

    @property
    def base_location(self) -> str:
        return str(settings.VAR_DIR / "imports")

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)
