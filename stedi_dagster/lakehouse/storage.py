"""A root folder on local disk or on any S3-compatible endpoint, through fsspec.

Local roots are plain paths; `s3://bucket/prefix` roots go through s3fs, with region and
credentials from the standard AWS environment variables or profile and an optional endpoint URL
(MinIO, Ceph, LocalStack, moto). Errors users meet (missing bucket, wrong credentials, endpoint
unreachable) become `LakehouseError`s that name the location and what to check.
"""

import hashlib
import os
import shutil
import stat
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING

import fsspec
from fsspec.implementations.local import LocalFileSystem

from stedi_dagster.errors import LakehouseError

if TYPE_CHECKING:
    import botocore.session


def file_name(url: str) -> str:
    """The last part of a URL or local path: its file's name (what `PurePosixPath(url).name`
    gives, without a path object per file: a landing folder lists thousands)."""
    return url.rsplit("/", 1)[-1]


def is_remote(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


class Storage:
    """One root folder (local path or `s3://bucket/prefix`)."""

    def __init__(self, root: str, endpoint_url: str | None = None):
        self.endpoint_url = endpoint_url
        if is_remote(root):
            protocol, _, path = root.partition("://")
            if protocol not in ("s3", "s3a"):
                raise LakehouseError(f"unsupported storage location {root}: use a folder or s3://")
            self.fs = fsspec.filesystem(
                "s3",
                skip_instance_cache=True,
                endpoint_url=endpoint_url,
                config_kwargs={
                    "connect_timeout": 5,
                    "read_timeout": 60,
                    "retries": {"max_attempts": 3},
                },
            )
            self.protocol = "s3://"
            self.root = "s3://" + path.strip("/")
            self.cache = Path(tempfile.mkdtemp(prefix="stedi-s3-cache-"))
            weakref.finalize(self, shutil.rmtree, self.cache, True)
        else:
            self.fs = LocalFileSystem()
            self.protocol = ""
            self.root = str(Path(root.removeprefix("file://")).resolve())

    @property
    def remote(self) -> bool:
        return bool(self.protocol)

    @cached_property
    def aws_session(self) -> "botocore.session.Session":
        """The AWS session (credentials, region) of an S3 root, for what reaches it other than
        through `fs` (delta-rs): one per root, since creating one costs about 30 ms and a step
        opens the Delta tables it reads many times; it keeps the credentials it found,
        refreshing those that expire."""
        import botocore.session

        return botocore.session.Session()

    def url(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def _url(self, path: str) -> str:
        return self.protocol + path if self.remote and not path.startswith(self.protocol) else path

    # --- reading ---------------------------------------------------------------------------

    def glob(self, pattern: str) -> list[str]:
        return sorted(self.versions(pattern))

    def versions(self, pattern: str) -> dict[str, str]:
        """The files matching `pattern`, each with a token that changes when its content does
        (the ETag on S3; size and modification time on disk)."""
        if not self.remote and pattern.endswith("/**"):
            return _local_versions(pattern.removesuffix("/**"))
        with self.errors(pattern):
            found = self.fs.glob(pattern, detail=True)
            # a listing describes a symbolic link itself ("other"): describe what it points to
            found = {p: self.fs.info(p) if i.get("islink") else i for p, i in found.items()}
        return {
            self._url(path): str(info.get("ETag") or f"{info['size']}:{info.get('mtime')}")
            for path, info in sorted(found.items())
            if info.get("type") == "file"
        }

    def exists(self, url: str) -> bool:
        with self.errors(url):
            return self.fs.exists(url)

    @contextmanager
    def open(self, url: str, mode: str = "rb") -> Iterator[IO]:
        with self.errors(url), self.fs.open(url, mode) as f:
            yield f

    def local_copy(self, url: str) -> str:
        """A local path holding the object at `url` as it is now (downloaded once per version),
        so DuckDB reads it from disk in one GET instead of many ranged reads over the network."""
        if not self.remote:
            return url
        with self.errors(url):
            info = self.fs.info(url)
            version = f"{url}|{info.get('ETag')}|{info.get('size')}".encode()
            path = self.cache / f"{hashlib.sha256(version).hexdigest()[:20]}-{Path(url).name}"
            if not path.exists():
                partial = path.with_suffix(".part")
                self.fs.get_file(url, str(partial))
                partial.replace(path)
        return str(path)

    def check(self) -> None:
        """Fail early and clearly if the root's bucket is missing, forbidden or unreachable."""
        if not self.remote:
            return
        bucket = self.root.removeprefix(self.protocol).split("/", 1)[0]
        with self.errors(self.root):
            try:
                self.fs.info(bucket)
            except FileNotFoundError as e:
                raise LakehouseError(
                    f"bucket {bucket} does not exist at {self._endpoint()} (for {self.root})"
                ) from e

    # --- writing ---------------------------------------------------------------------------

    def put(self, local_path: Path, url: str) -> None:
        """Make `local_path` the object/file at `url` in one step: a local rename, or a single S3
        upload, which readers see whole or not at all."""
        with self.errors(url):
            if self.remote:
                self.fs.put_file(str(local_path), url)
            else:
                Path(url).parent.mkdir(parents=True, exist_ok=True)
                os.replace(local_path, url)

    def write(self, url: str, data: bytes) -> None:
        """Replace the file/object at `url` with `data` in one step."""
        with self.errors(url):
            if self.remote:
                self.fs.pipe_file(url, data)
                return
            target = Path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            partial.write_bytes(data)
            os.replace(partial, target)

    def remove_folder(self, url: str) -> None:
        """Remove a folder (a prefix on S3) and everything in it."""
        with self.errors(url):
            self.fs.rm(url, recursive=True)

    # --- errors ----------------------------------------------------------------------------

    def _endpoint(self) -> str:
        return self.endpoint_url or "the default AWS endpoint"

    @contextmanager
    def errors(self, url: str) -> Iterator[None]:
        """Turn the exceptions of s3fs/botocore into messages that say what to check."""
        if not self.remote:
            yield
            return
        from botocore.exceptions import (
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        try:
            yield
        except LakehouseError:
            raise
        except PermissionError as e:
            raise LakehouseError(
                f"access to {url} was denied at {self._endpoint()}: {e}. Check the AWS "
                "credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)."
            ) from e
        except NoCredentialsError as e:
            raise LakehouseError(
                f"no AWS credentials to read {url}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            ) from e
        except (EndpointConnectionError, ConnectTimeoutError) as e:
            raise LakehouseError(
                f"cannot reach the S3 endpoint {self._endpoint()} for {url}: {e}. Check "
                "STEDI_S3_ENDPOINT_URL (or AWS_ENDPOINT_URL) and the network."
            ) from e
        except FileNotFoundError as e:
            if "bucket" in str(e).lower():
                bucket = url.removeprefix(self.protocol).split("/", 1)[0]
                raise LakehouseError(
                    f"bucket {bucket} does not exist at {self._endpoint()} (for {url})"
                ) from e
            raise


def _local_versions(folder: str) -> dict[str, str]:
    """Every file under a local folder, subfolders included, with its size and modification time
    (as fsspec's glob `<folder>/**` gives them, a symbolic link described by what it points to,
    a linked folder not entered), by one `os.scandir` per folder: a folder of thousands of
    landing files is listed in a few milliseconds."""
    found: dict[str, str] = {}
    pending = [folder]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
                continue
            info = entry.stat()  # follows a link
            if stat.S_ISREG(info.st_mode):
                found[entry.path] = f"{info.st_size}:{info.st_mtime}"
    return dict(sorted(found.items()))
