"""Uploads the static front end (`web/` at the repository root) into the site bucket.

One S3 object per file, with its content type. Caching: a file whose name carries a content hash
never changes, so it is cached for a year; every other file, `index.html` included, is revalidated
on each visit (`no-cache`: the ETag makes that a cheap 304). The front end is plain ES modules
without hashed names, and a page must never mix an old module with a new one after a deploy.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT
from infra.paths import REPO_ROOT

WEB_ROOT = REPO_ROOT / "web"
NO_CACHE = "no-cache"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
# app.3f9a2b1c.js, index-BdX8_k2Q.css: a hash segment of 8+ characters between dots or after a dash
CONTENT_HASH = re.compile(r"[.-](?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$")
EXTRA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".webmanifest": "application/manifest+json",
}


def content_type(path: Path) -> str:
    if path.suffix in EXTRA_TYPES:
        return EXTRA_TYPES[path.suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    kind = guessed or "application/octet-stream"
    return (
        f"{kind}; charset=utf-8"
        if kind.startswith("text/") or kind.endswith(("json", "xml"))
        else kind
    )


def cache_control(relative: str) -> str:
    if CONTENT_HASH.search(relative):
        return IMMUTABLE_CACHE
    return NO_CACHE


def site_files(root: Path) -> list[tuple[str, Path]]:
    """(object key, file) for every file under root, hidden ones excluded, in a stable order."""
    if not root.is_dir():
        return []
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files.append((relative.as_posix(), path))
    return files


@dataclass(frozen=True)
class WebAssetsArgs:
    bucket_name: pulumi.Input[str]
    root: Path = WEB_ROOT


class WebAssets(pulumi.ComponentResource):
    keys: list[str]

    def __init__(
        self, name: str, args: WebAssetsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:edge:WebAssets", name, None, opts)
        self.keys = []
        for key, path in site_files(args.root):
            aws.s3.BucketObjectv2(
                f"{name}-{key}",
                bucket=args.bucket_name,
                key=key,
                source=pulumi.FileAsset(str(path)),
                content_type=content_type(path),
                cache_control=cache_control(key),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.keys.append(key)
        if not self.keys:
            pulumi.log.warn(f"no static site: {args.root} is missing or empty", resource=self)
        self.register_outputs({"keys": self.keys})
